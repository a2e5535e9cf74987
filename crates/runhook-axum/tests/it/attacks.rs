//! The attacks `runhook listen` holds against (`runhook_receiver::testing::attacks`), against
//! an axum app served by `runhook_axum::serve`: a webhook route and a route on the `Webhook`
//! extractor. The app runs in a process of its own (this test binary, started again with
//! [`TARGET_ENV`] set, runs only [`attack_target`]), so that its resident memory is its alone.

use std::process::Command;
use std::time::Duration;

use axum::http::StatusCode;
use axum::routing::post;
use runhook_axum::{HandlerOutcome, Handlers, Receiver, ServerLimits, Webhook, webhook_route};
use runhook_receiver::testing::attacks::{self, ServerProcess};

/// Set in the environment of the child process that serves the app.
const TARGET_ENV: &str = "RUNHOOK_AXUM_ATTACK_TARGET";
/// The header timeout the app runs with in `header_timeout` (ms), and otherwise the default.
const HEADER_ENV: &str = "RUNHOOK_AXUM_ATTACK_HEADER_MS";
/// The app's grace period.
const GRACE: Duration = Duration::from_secs(2);

/// The app under attack, when this binary is started as its process; otherwise nothing.
#[test]
fn attack_target() {
    if std::env::var_os(TARGET_ENV).is_none() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(serve_app()).unwrap();
}

/// A webhook route at `/webhooks/tinyfish` and an extractor route at `/webhooks/extract` on
/// `runhook_axum::serve`, until SIGTERM; prints `listening on URL` once bound.
async fn serve_app() -> std::io::Result<()> {
    let receiver = Receiver::new(Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok }));
    async fn extracted(Webhook(_event): Webhook) -> StatusCode {
        StatusCode::OK
    }
    let app = axum::Router::new()
        .route("/webhooks/tinyfish", webhook_route(receiver))
        .route("/webhooks/extract", post(extracted));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut limits = ServerLimits::default().with_grace(GRACE);
    if let Some(ms) = std::env::var(HEADER_ENV)
        .ok()
        .and_then(|ms| ms.parse().ok())
    {
        limits = limits.with_header_timeout(Duration::from_millis(ms));
    }
    let path = std::env::var(TARGET_ENV).unwrap_or_default();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    println!("listening on http://{}{path}", listener.local_addr()?);
    runhook_axum::serve(listener, app)
        .limits(limits)
        .with_graceful_shutdown(async move {
            terminate.recv().await;
        })
        .await
}

/// This test binary, serving the app with its URL's path `path`.
fn start_app(path: &str, header_ms: Option<u64>) -> ServerProcess {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args([
            // Its path inside the crate's one test binary (`tests/it/main.rs`).
            "attacks::attack_target",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(TARGET_ENV, path)
        .env_remove("RUST_LOG");
    if let Some(ms) = header_ms {
        command.env(HEADER_ENV, ms.to_string());
    }
    ServerProcess::start(command)
}

#[tokio::test]
async fn a_silent_connection_and_partial_heads_are_closed_after_the_header_timeout() {
    let app = start_app("/webhooks/tinyfish", Some(1000));
    attacks::header_timeout(&app, Duration::from_millis(1000)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_1020_connections_starve_neither_deliveries_nor_memory() {
    attacks::slowloris(&mut start_app("/webhooks/tinyfish", None), GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_1_mib_bodies_on_1500_connections_starve_neither_deliveries_nor_memory() {
    attacks::stalled_bodies(&mut start_app("/webhooks/tinyfish", None), GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies_on_the_webhook_extractor_starve_neither_deliveries_nor_memory() {
    attacks::stalled_bodies(&mut start_app("/webhooks/extract", None), GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_5_connections_of_200_stalled_streams_starve_neither_deliveries_nor_memory() {
    attacks::h2c_streams(&mut start_app("/webhooks/tinyfish", None), GRACE).await;
}

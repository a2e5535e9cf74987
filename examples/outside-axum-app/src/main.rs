//! An axum app receiving TinyFish-style run webhooks. Where it had
//! `axum::serve(listener, app).with_graceful_shutdown(signal)`, it has
//! `runhook_axum::serve(listener, app).with_graceful_shutdown(signal)`: the same code, with
//! header and idle timeouts, a connection limit, bounded HTTP/2 and a bounded shutdown.
//!
//! Listens on `$APP_ADDR` (default `127.0.0.1:8080`) and prints `listening on URL`; stops on
//! Ctrl-C or SIGTERM.

use axum::routing::get;
use runhook_axum::{HandlerOutcome, Handlers, Receiver, webhook_route};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let receiver = Receiver::new(Handlers::new().on_completed(|run| async move {
        println!("{} finished", run.run_id);
        HandlerOutcome::Ok
    }));
    let app = axum::Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/webhooks/tinyfish", webhook_route(receiver));
    let addr = std::env::var("APP_ADDR").unwrap_or_else(|_| "127.0.0.1:8080".to_owned());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "listening on http://{}/webhooks/tinyfish",
        listener.local_addr()?
    );
    runhook_axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

/// Ctrl-C or SIGTERM, as in axum's graceful-shutdown example.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

//! runhook's attack suite against this app, in a process of its own: during each attack a
//! valid delivery gets 200 within 1 s and the app's resident memory stays under 300 MB; on
//! SIGTERM it exits within its grace period (the default 10 s) plus a margin.

use std::process::Command;
use std::time::Duration;

use runhook_receiver::testing::attacks::{self, ServerProcess};

/// The app's grace period: `ServerLimits::default().grace`.
const GRACE: Duration = Duration::from_secs(10);

fn start_app() -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_outside-axum-app"));
    command
        .env("APP_ADDR", "127.0.0.1:0")
        .env_remove("RUST_LOG");
    ServerProcess::start(command)
}

#[tokio::test]
async fn a_silent_connection_and_partial_heads_are_closed_after_the_header_timeout() {
    // The default header timeout: 10 s.
    attacks::header_timeout(&start_app(), Duration::from_secs(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris() {
    attacks::slowloris(&mut start_app(), GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_bodies() {
    attacks::stalled_bodies(&mut start_app(), GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_streams() {
    attacks::h2c_streams(&mut start_app(), GRACE).await;
}

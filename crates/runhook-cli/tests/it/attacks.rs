//! Hostile clients (`runhook_receiver::testing::attacks`) against the real `runhook listen`
//! binary on 127.0.0.1: silent connections and partial heads, slowloris, stalled 1 MiB bodies,
//! h2c connections with stalled streams. While each attack holds its connections, valid
//! deliveries must get 200 within 1 s and the listener's resident memory must stay under
//! 300 MB; SIGTERM must end it within the grace period plus a margin. The same attacks run
//! against an axum app on `runhook_axum::serve` (crates/runhook-axum/tests/attacks.rs).
//!
//! `scripts/attack.sh` runs these with their figures printed.

use std::process::Command;
use std::time::Duration;

use runhook_receiver::testing::attacks::{self, ServerProcess};

/// The `--grace-ms` the attacked listener runs with.
const GRACE: Duration = Duration::from_millis(2000);

/// `runhook listen` on 127.0.0.1:0 with the memory store and `extra` options.
fn listen(extra: &[&str]) -> ServerProcess {
    let mut command = Command::new(env!("CARGO_BIN_EXE_runhook"));
    command
        .args(["listen", "--addr", "127.0.0.1:0", "--store", "memory"])
        .args(extra)
        .env_remove("RUST_LOG");
    ServerProcess::start(command)
}

fn start_listen() -> ServerProcess {
    listen(&["--grace-ms", &GRACE.as_millis().to_string()])
}

#[tokio::test]
async fn a_silent_connection_and_partial_heads_are_closed_after_the_header_timeout() {
    let listen = listen(&["--header-timeout-ms", "1000"]);
    attacks::header_timeout(&listen, Duration::from_millis(1000)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_1020_connections_starve_neither_deliveries_nor_memory() {
    attacks::slowloris(&mut start_listen(), GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_1_mib_bodies_on_1500_connections_starve_neither_deliveries_nor_memory() {
    attacks::stalled_bodies(&mut start_listen(), GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h2c_5_connections_of_200_stalled_streams_starve_neither_deliveries_nor_memory() {
    attacks::h2c_streams(&mut start_listen(), GRACE).await;
}

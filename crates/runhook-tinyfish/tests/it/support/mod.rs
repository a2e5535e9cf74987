//! The emulator on 127.0.0.1 and a client of it.

#![allow(dead_code)] // each test file uses what it needs

use std::time::Duration;

use runhook::{Run, RunId};
use runhook_emulator::{Emulator, EmulatorConfig};
use runhook_tinyfish::Client;

/// The key the emulator accepts.
pub(crate) const KEY: &str = "sk-test-client";

/// An emulator whose runs go 100 times faster than scripted (a default run: 30 ms).
pub(crate) async fn emulator() -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = EmulatorConfig::new([KEY])
        .allow_http_loopback(true)
        .speed(100.0);
    Emulator::start(config, listener).await.unwrap()
}

/// A client of `emulator` with `key`.
pub(crate) fn client_with_key(emulator: &Emulator, key: &str) -> Client {
    Client::builder()
        .base_url(emulator.base_url())
        .api_key(key)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// A client of `emulator`.
pub(crate) fn client(emulator: &Emulator) -> Client {
    client_with_key(emulator, KEY)
}

/// The run once it has reached a terminal status (polled every 10 ms, for up to 10 s).
pub(crate) async fn finished(client: &Client, run_id: &RunId) -> Run {
    for _ in 0..1000 {
        let run = client.get_run(run_id).await.unwrap();
        if run
            .status
            .as_ref()
            .is_some_and(|status| status.is_terminal())
        {
            return run;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("run {run_id} did not finish within 10 s");
}

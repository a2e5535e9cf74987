//! The emulator runs on tokio's clock: with the clock paused, a run scripted to take minutes and
//! a webhook retried after its policy's wait finish without waiting in real time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::support;

use runhook_emulator::EmulatorConfig;
use serde_json::json;

#[tokio::test(start_paused = true)]
async fn runs_and_retries_follow_the_paused_clock() {
    let started = std::time::Instant::now();
    let receiver = support::Receiver::start(&[200]).await;
    // Speed 1: as scripted.
    let emulator =
        support::start_with(EmulatorConfig::new([support::KEY]).allow_http_loopback(true)).await;
    let id = support::queue(
        &emulator,
        "slow [duration:10m] [webhook:drop=2]",
        json!({"webhook_url": receiver.url}),
    )
    .await;
    // Ten minutes of run, then 1 s and 2 s of retry waits, on the paused clock.
    for _ in 0..1000 {
        if !receiver.bodies().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "the webhook arrived on its third attempt");
    assert_eq!(bodies[0]["run_id"], id.as_str());
    assert_eq!(emulator.deliveries().len(), 3);
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the run took ten scripted minutes in real time"
    );
    emulator.shutdown().await;
}

//! `StoreConfig::Sqlite`: runs survive a restart; runs in progress come back FAILED.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use runhook_emulator::StoreConfig;
use serde_json::json;
use support::{config, finished, get, queue, start_with};

#[tokio::test(flavor = "multi_thread")]
async fn runs_are_kept_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        StoreConfig::parse(&format!("sqlite:{}", dir.path().join("runs.db").display())).unwrap();

    let emulator = start_with(config().store(store.clone())).await;
    let done = queue(&emulator, "Extract the page title", json!({})).await;
    finished(&emulator, &done).await;
    let going = queue(&emulator, "Slow [duration:10m]", json!({})).await;
    let (_, before) = get(&emulator, &format!("/v1/runs/{done}")).await;
    emulator.shutdown().await;

    let emulator = start_with(config().store(store.clone())).await;
    let (status, after) = get(&emulator, &format!("/v1/runs/{done}")).await;
    assert_eq!(status, 200);
    assert_eq!(after, before, "a finished run comes back as it was");
    let interrupted = finished(&emulator, &going).await;
    assert_eq!(interrupted["status"], "FAILED");
    assert_eq!(interrupted["error"]["category"], "SYSTEM_FAILURE");
    assert_eq!(interrupted["error"]["message"], "the emulator restarted");
    assert!(interrupted["finished_at"].is_string());
    // New runs go after the old ones.
    let third = queue(&emulator, "Extract the page title", json!({})).await;
    let (_, page) = get(&emulator, "/v1/runs?sort_direction=asc").await;
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [done.as_str(), going.as_str(), third.as_str()]);
    finished(&emulator, &third).await;
    emulator.shutdown().await;

    let emulator = start_with(config().store(store)).await;
    let (_, page) = get(&emulator, "/v1/runs").await;
    assert_eq!(page["pagination"]["total"], 3);
    emulator.shutdown().await;
}

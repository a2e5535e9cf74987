//! Cancelling: idempotent answers and messages, sync runs, batch cancel.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use serde_json::{Value, json};
use support::{finished, get, post, queue, start, wait_run};

#[tokio::test(flavor = "multi_thread")]
async fn cancel_is_idempotent_and_says_what_happened() {
    let emulator = start().await;
    let id = queue(&emulator, "A long one [duration:10m]", json!({})).await;
    let (status, first) = post(&emulator, &format!("/v1/runs/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200, "{first}");
    let mut keys: Vec<&String> = first.as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["cancelled_at", "message", "run_id", "status"]);
    assert_eq!(first["status"], "CANCELLED");
    assert_eq!(first["message"], Value::Null);
    assert!(first["cancelled_at"].is_string());

    let (status, again) = post(&emulator, &format!("/v1/runs/{id}/cancel"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(again["status"], "CANCELLED");
    assert_eq!(again["message"], "Run already cancelled");
    assert_eq!(again["cancelled_at"], first["cancelled_at"]);

    let run = finished(&emulator, &id).await;
    assert_eq!(run["status"], "CANCELLED");
    assert_eq!(run["result"], Value::Null);
    assert!(run["num_of_steps"].is_u64());

    let done = queue(&emulator, "Extract the page title", json!({})).await;
    finished(&emulator, &done).await;
    let (status, answer) = post(&emulator, &format!("/v1/runs/{done}/cancel"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(answer["status"], "COMPLETED");
    assert_eq!(answer["message"], "Run already finished");
    assert_eq!(answer["cancelled_at"], Value::Null);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn runs_of_the_blocking_endpoint_cannot_be_cancelled() {
    let emulator = start().await;
    let base = emulator.base_url();
    let blocking = tokio::spawn(async move {
        support::client()
            .post(format!("{base}/v1/automation/run"))
            .header("x-api-key", support::KEY)
            .json(
                &json!({"url": "https://example.com", "goal": "Sync work [duration:2m] [steps:2]"}),
            )
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    // Find the sync run while it is going.
    let mut polls = 0;
    let id = loop {
        let (_, page) = get(&emulator, "/v1/runs?goal=sync%20work").await;
        if let Some(id) = page["data"][0]["run_id"].as_str() {
            break id.to_owned();
        }
        polls += 1;
        assert!(polls < 2000, "the sync run never showed up: {page}");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    };
    let (status, answer) = post(&emulator, &format!("/v1/runs/{id}/cancel"), json!({})).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["error"]["code"], "INVALID_INPUT");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be cancelled")
    );
    let (status, batch) = post(&emulator, "/v1/runs/batch/cancel", json!({"run_ids": [id]})).await;
    assert_eq!(status, 400, "{batch}");
    assert_eq!(batch["error"]["details"][0]["path"], json!(["run_ids", 0]));
    assert!(
        batch["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot be cancelled")
    );
    let result = blocking.await.unwrap();
    assert_eq!(result["status"], "COMPLETED");
    let (_, after) = post(&emulator, &format!("/v1/runs/{id}/cancel"), json!({})).await;
    assert_eq!(after["message"], "Run already finished");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_cancel_reports_each_run_and_the_missing_ones() {
    let emulator = start().await;
    let running = queue(&emulator, "Long [duration:10m]", json!({})).await;
    let done = queue(&emulator, "Short", json!({})).await;
    finished(&emulator, &done).await;
    let cancelled = queue(&emulator, "Long too [duration:10m]", json!({})).await;
    post(
        &emulator,
        &format!("/v1/runs/{cancelled}/cancel"),
        json!({}),
    )
    .await;
    let (status, answer) = post(
        &emulator,
        "/v1/runs/batch/cancel",
        json!({"run_ids": [running, done, cancelled, "ghost"]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let results = answer["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(
        (results[0]["status"].as_str(), &results[0]["message"]),
        (Some("CANCELLED"), &Value::Null)
    );
    assert_eq!(results[1]["message"], "Run already finished");
    assert_eq!(results[2]["message"], "Run already cancelled");
    assert_eq!(answer["not_found"], json!(["ghost"]));
    wait_run(&emulator, &running, |run| run["status"] == "CANCELLED").await;
    let (status, _) = post(&emulator, "/v1/runs/batch/cancel", json!({"run_ids": []})).await;
    assert_eq!(status, 400);
    emulator.shutdown().await;
}

//! Webhooks: one POST per finished run, the retry policy, the fault plan and the delivery log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use runhook_emulator::Activity;
use serde_json::{Value, json};
use support::{
    Receiver, config, finished, get, post, queue, start, start_observed, wait_deliveries,
};

fn hook(receiver: &Receiver) -> Value {
    json!({"webhook_url": receiver.url})
}

#[tokio::test(flavor = "multi_thread")]
async fn each_terminal_run_gets_one_envelope_built_from_the_run_object() {
    let emulator = start().await;
    let receiver = Receiver::start(&[200]).await;
    let completed = queue(&emulator, "Extract the page title", hook(&receiver)).await;
    let failed = queue(&emulator, "Log in [fail]", hook(&receiver)).await;
    let cancelled = queue(&emulator, "Slow [duration:10m]", hook(&receiver)).await;
    finished(&emulator, &completed).await;
    finished(&emulator, &failed).await;
    post(
        &emulator,
        &format!("/v1/runs/{cancelled}/cancel"),
        json!({}),
    )
    .await;
    let bodies = receiver.wait_for(3).await;
    let find = |id: &str| bodies.iter().find(|b| b["run_id"] == id).unwrap().clone();

    let body = find(&completed);
    assert_eq!(body["event"], "run.completed");
    assert_eq!(body["status"], "COMPLETED");
    let (_, run) = get(&emulator, &format!("/v1/runs/{completed}")).await;
    assert_eq!(body["data"], run, "data is the run object");
    assert!(
        body["data"]["steps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["screenshot"].is_null())
    );

    let body = find(&failed);
    assert_eq!(
        (body["event"].as_str(), body["status"].as_str()),
        (Some("run.failed"), Some("FAILED"))
    );
    assert_eq!(body["data"]["error"]["category"], "AGENT_FAILURE");
    let body = find(&cancelled);
    assert_eq!(body["event"], "run.cancelled");
    assert_eq!(body["data"]["status"], "CANCELLED");

    let deliveries = wait_deliveries(&emulator, |list| list.len() >= 3).await;
    assert!(
        deliveries
            .iter()
            .all(|d| d["status"] == 200 && d["outcome"] == "delivered")
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d["attempt"] == 1 && d["max_attempts"] == 4)
    );
    // Runs without a webhook_url send nothing.
    finished(&emulator, &queue(&emulator, "No hook", json!({})).await).await;
    assert_eq!(receiver.bodies().len(), 3);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dropped_attempts_never_arrive_and_the_third_does() {
    let (emulator, seen) = start_observed(config()).await;
    let receiver = Receiver::start(&[200]).await;
    let id = queue(&emulator, "x [webhook:drop=2]", hook(&receiver)).await;
    let bodies = receiver.wait_for(1).await;
    assert_eq!(bodies[0]["run_id"], id.as_str());
    let deliveries = wait_deliveries(&emulator, |list| list.len() >= 3).await;
    let attempts: Vec<(u64, Option<&str>)> = deliveries
        .iter()
        .map(|d| (d["attempt"].as_u64().unwrap(), d["fault"].as_str()))
        .collect();
    assert_eq!(attempts, [(1, Some("drop")), (2, Some("drop")), (3, None)]);
    assert!(
        deliveries[0]["error"]
            .as_str()
            .unwrap()
            .contains("simulated")
    );
    assert_eq!(deliveries[0]["retry_in_ms"], 10, "1 s at speed 100");
    assert_eq!(deliveries[1]["retry_in_ms"], 20, "2 s at speed 100");
    assert_eq!(deliveries[2]["status"], 200);
    assert_eq!(deliveries[2]["outcome"], "delivered");
    assert!(
        deliveries
            .iter()
            .all(|d| d["event"] == "run.completed" && d["at"].is_string())
    );
    assert_eq!(
        receiver.bodies().len(),
        1,
        "dropped attempts never reached the receiver"
    );
    let observed = seen
        .lock()
        .unwrap()
        .iter()
        .filter(|a| matches!(a, Activity::Delivery(_)))
        .count();
    assert_eq!(observed, 3);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn timeouts_duplicates_and_retries_on_5xx() {
    let emulator = start().await;
    let receiver = Receiver::start(&[200]).await;
    let id = queue(
        &emulator,
        "x [webhook:timeout=1,duplicate]",
        hook(&receiver),
    )
    .await;
    let bodies = receiver.wait_for(2).await;
    assert_eq!(bodies[0], bodies[1], "the same POST twice");
    assert_eq!(bodies[0]["run_id"], id.as_str());
    let deliveries = wait_deliveries(&emulator, |list| list.len() >= 3).await;
    assert_eq!(deliveries[0]["fault"], "timeout");
    assert_eq!(deliveries[0]["result"], "timed out (simulated)");
    assert!(
        deliveries[0]["elapsed_ms"].as_u64().unwrap() >= 90,
        "10 s at speed 100"
    );
    assert_eq!(
        (
            deliveries[1]["attempt"].as_u64(),
            deliveries[1]["status"].as_u64()
        ),
        (Some(2), Some(200))
    );
    assert_eq!(deliveries[2]["fault"], "duplicate");
    emulator.shutdown().await;

    // A receiver answering 503 then 200: retried; one answering 400: given up at once.
    let emulator = start().await;
    let flaky = Receiver::start(&[503, 200]).await;
    queue(&emulator, "x", hook(&flaky)).await;
    flaky.wait_for(2).await;
    let rejecting = Receiver::start(&[400]).await;
    let rejected = queue(&emulator, "y", hook(&rejecting)).await;
    let deliveries = wait_deliveries(&emulator, |list| {
        list.iter()
            .any(|d| d["run_id"] == rejected.as_str() && d["outcome"].is_string())
    })
    .await;
    let last = deliveries
        .iter()
        .rev()
        .find(|d| d["run_id"] == rejected.as_str())
        .unwrap();
    assert_eq!(
        (last["status"].as_u64(), last["outcome"].as_str()),
        (Some(400), Some("failed"))
    );
    assert_eq!(rejecting.bodies().len(), 1);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_attempt_failing_gives_up_after_four() {
    let emulator = start().await;
    let receiver = Receiver::start(&[200]).await;
    let id = queue(&emulator, "x [webhook:drop=4]", hook(&receiver)).await;
    let deliveries = wait_deliveries(&emulator, |list| list.len() >= 4).await;
    assert_eq!(deliveries[3]["outcome"], "failed");
    assert_eq!(deliveries[3]["retry_in_ms"], Value::Null);
    // The run itself is unaffected.
    assert_eq!(finished(&emulator, &id).await["status"], "COMPLETED");
    assert!(receiver.bodies().is_empty());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn loopback_http_needs_the_opt_in() {
    let emulator = support::start_with(runhook_emulator::EmulatorConfig::new([support::KEY])).await;
    let (status, body) = post(
        &emulator,
        "/v1/automation/run-async",
        json!({"url": "https://example.com", "goal": "g", "webhook_url": "http://127.0.0.1:9/hook"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["details"][0]["path"], json!(["webhook_url"]));
    assert!(
        body["error"]["message"].as_str().unwrap().contains("HTTPS"),
        "{body}"
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_emulator_state_is_readable_with_the_key() {
    let emulator = start().await;
    let id = queue(
        &emulator,
        "x [webhook:drop=1]",
        json!({"webhook_url": "http://127.0.0.1:9/hook"}),
    )
    .await;
    finished(&emulator, &id).await;
    let runs: Vec<Value> = support::client()
        .get(format!("{}/_emulator/runs", emulator.base_url()))
        .header("x-api-key", support::KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(runs[0]["run_id"], id.as_str());
    assert_eq!(runs[0]["origin"], "async");
    assert_eq!(runs[0]["webhook_faults"]["drop"], 1);
    // Port 9 refuses: attempts after the dropped one fail with a network error.
    let deliveries = wait_deliveries(&emulator, |list| list.len() >= 2).await;
    assert!(
        deliveries[1]["error"]
            .as_str()
            .unwrap()
            .contains("network error"),
        "{deliveries:?}"
    );
    emulator.shutdown().await;
}

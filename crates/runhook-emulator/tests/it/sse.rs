//! `POST /v1/automation/run-sse`: the frames and their order.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use futures::StreamExt;
use serde_json::{Value, json};
use support::{KEY, client, get, start};

/// Reads the stream to its end: the JSON of every `data:` frame.
async fn frames(response: reqwest::Response) -> Vec<Value> {
    let mut text = String::new();
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(text.ends_with("\n\n"), "{text:?}");
    text.split("\n\n")
        .filter(|frame| !frame.is_empty())
        .map(|frame| {
            let data = frame
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("{frame:?}"));
            serde_json::from_str(data).unwrap()
        })
        .collect()
}

async fn stream(emulator: &runhook_emulator::Emulator, goal: &str) -> Vec<Value> {
    let response = client()
        .post(format!("{}/v1/automation/run-sse", emulator.base_url()))
        .header("x-api-key", KEY)
        .json(&json!({"url": "https://example.com", "goal": goal}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    frames(response).await
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_come_in_order_with_heartbeats_between_steps() {
    let emulator = start().await;
    let frames = stream(&emulator, "Extract the page title [steps:4]").await;
    let types: Vec<&str> = frames.iter().map(|f| f["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "STARTED",
            "STREAMING_URL",
            "PROGRESS",
            "HEARTBEAT",
            "PROGRESS",
            "HEARTBEAT",
            "PROGRESS",
            "HEARTBEAT",
            "PROGRESS",
            "COMPLETE"
        ]
    );
    let run_id = frames[0]["run_id"].as_str().unwrap();
    assert!(frames.iter().all(|f| f["timestamp"].is_string()));
    assert!(
        frames
            .iter()
            .filter(|f| f["type"] != "HEARTBEAT")
            .all(|f| f["run_id"] == run_id)
    );
    assert!(
        frames[1]["streaming_url"]
            .as_str()
            .unwrap()
            .ends_with(run_id)
    );
    assert_eq!(frames[2]["purpose"], "Navigate to https://example.com");
    let complete = frames.last().unwrap();
    assert_eq!(complete["status"], "COMPLETED");
    assert_eq!(complete["result"], json!({"title": "Example Domain"}));
    assert_eq!(complete["error"], Value::Null);
    let (_, run) = get(&emulator, &format!("/v1/runs/{run_id}")).await;
    assert_eq!(run["status"], "COMPLETED");
    assert_eq!(run["num_of_steps"], 4);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_run_completes_the_stream_with_its_error() {
    let emulator = start().await;
    let frames = stream(
        &emulator,
        "Log in [fail:AGENT_FAILURE] [error:Login form not found] [steps:1]",
    )
    .await;
    let complete = frames.last().unwrap();
    assert_eq!(complete["type"], "COMPLETE");
    assert_eq!(complete["status"], "FAILED");
    assert_eq!(complete["result"], Value::Null);
    assert_eq!(complete["error"]["category"], "AGENT_FAILURE");
    assert_eq!(complete["error"]["message"], "Login form not found");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_sse_run_ends_its_stream() {
    let emulator = start().await;
    let response = client()
        .post(format!("{}/v1/automation/run-sse", emulator.base_url()))
        .header("x-api-key", KEY)
        .json(&json!({"url": "https://example.com", "goal": "Slow one [duration:10m]"}))
        .send()
        .await
        .unwrap();
    let mut stream = response.bytes_stream();
    let first = String::from_utf8(stream.next().await.unwrap().unwrap().to_vec()).unwrap();
    let started: Value = serde_json::from_str(
        first
            .split("\n\n")
            .next()
            .unwrap()
            .strip_prefix("data: ")
            .unwrap(),
    )
    .unwrap();
    let run_id = started["run_id"].as_str().unwrap();
    let (status, answer) =
        support::post(&emulator, &format!("/v1/runs/{run_id}/cancel"), json!({})).await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("CANCELLED"))
    );
    let mut rest = first;
    while let Some(chunk) = stream.next().await {
        rest.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
    }
    assert!(rest.contains("\"type\":\"COMPLETE\""), "{rest}");
    assert!(rest.contains("\"status\":\"CANCELLED\""), "{rest}");
    emulator.shutdown().await;
}

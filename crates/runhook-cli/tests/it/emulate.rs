//! `runhook emulate` through the real binary: the first line, usage errors, and webhooks
//! received by `runhook listen` (completed, failed, cancelled, and a retried delivery).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use serde_json::{Value, json};
use support::emulate::Emulate;
use support::listen::{Listen, client};
use support::{runhook, stderr};

#[test]
fn the_first_line_shows_the_real_address_and_sigterm_stops_cleanly() {
    let emulate = Emulate::start(&[]);
    let port = emulate.base.strip_prefix("http://127.0.0.1:").unwrap();
    assert_ne!(port.parse::<u16>().unwrap(), 0, "the real port is shown");
    assert_eq!(
        emulate.first,
        format!("emulating the TinyFish API on {}", emulate.base)
    );
    let status = emulate.stop("-TERM");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn usage_errors_exit_2() {
    let no_key = runhook(&["emulate", "--addr", "127.0.0.1:0"], None);
    assert_eq!(no_key.status.code(), Some(2));
    assert!(stderr(&no_key).contains("--api-key"), "{}", stderr(&no_key));
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"[{"outcome": "exploded"}]"#).unwrap();
    for args in [
        vec!["--scenario", bad.to_str().unwrap()],
        vec!["--scenario", "/nonexistent/scenario.toml"],
        vec!["--store", "postgres://nope"],
        vec!["--speed", "0"],
        vec!["--speed", "fast"],
        vec!["--max-runs", "0"],
        vec!["--max-runs", "many"],
        vec!["--colour"],
    ] {
        let mut full = vec!["emulate", "--addr", "127.0.0.1:0", "--api-key", "k"];
        full.extend(args.iter().copied());
        let output = runhook(&full, None);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_key_may_come_from_the_environment_and_calls_are_logged() {
    let emulate = Emulate::spawn(
        &["--addr", "127.0.0.1:0"],
        &[("TINYFISH_API_KEY", "from-env")],
    );
    let response = client()
        .get(format!("{}/v1/runs?limit=5&token=s3cret", emulate.base))
        .header("x-api-key", "from-env")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let lines = emulate.lines_until("GET /v1/runs");
    let line = lines.last().unwrap();
    assert!(
        line.starts_with("GET /v1/runs?limit=5&token=*** 200 "),
        "{line}"
    );
    assert!(!line.contains("s3cret"));
    let (status, _) = emulate
        .post("/v1/runs/batch", &json!({"run_ids": ["x"]}))
        .await;
    assert_eq!(
        status, 401,
        "the --api-key of the test is not configured here"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn max_runs_bounds_the_runs_kept() {
    let emulate = Emulate::start(&["--max-runs", "1"]);
    let body = json!({"url": "https://example.com", "goal": "slow [duration:10m]"});
    let (status, answer) = emulate.post("/v1/automation/run-async", &body).await;
    assert_eq!(status, 200, "{answer}");
    // The one run kept is in progress: no room.
    let (status, answer) = emulate.post("/v1/automation/run-async", &body).await;
    assert_eq!(status, 429, "{answer}");
    assert_eq!(answer["error"]["code"], "RATE_LIMIT_EXCEEDED");
}

/// Starts a run on the emulator with `webhook_url` pointing at `listen`: its id.
async fn queue(emulate: &Emulate, listen: &Listen, goal: &str) -> String {
    let (status, answer) = emulate
        .post(
            "/v1/automation/run-async",
            &json!({"url": "https://example.com", "goal": goal, "webhook_url": listen.url}),
        )
        .await;
    assert_eq!(status, 200, "{answer}");
    answer["run_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn runhook_listen_receives_completed_failed_and_cancelled_runs() {
    let listen = Listen::start(&["--json"]);
    let emulate = Emulate::start(&["--allow-http-loopback", "--speed", "100"]);
    let completed = queue(&emulate, &listen, "Extract the page title").await;
    let line = listen.next_json();
    assert_eq!(line["kind"], "accepted", "{line}");
    assert_eq!(line["run_id"], completed.as_str());
    assert_eq!(line["event"], "run.completed");

    let failed = queue(&emulate, &listen, "Log in [fail:AGENT_FAILURE]").await;
    let line = listen.next_json();
    assert_eq!(
        (line["kind"].as_str(), line["event"].as_str()),
        (Some("accepted"), Some("run.failed"))
    );
    assert_eq!(line["run_id"], failed.as_str());

    let cancelled = queue(&emulate, &listen, "Slow [duration:10m]").await;
    let (status, answer) = emulate
        .post(&format!("/v1/runs/{cancelled}/cancel"), &Value::Null)
        .await;
    assert_eq!(
        (status, answer["status"].as_str()),
        (200, Some("CANCELLED"))
    );
    let line = listen.next_json();
    assert_eq!(
        (line["kind"].as_str(), line["event"].as_str()),
        (Some("accepted"), Some("run.cancelled"))
    );
    assert_eq!(line["run_id"], cancelled.as_str());

    let lines = emulate.lines_until(&format!(
        "webhook run.cancelled {cancelled} attempt 1/4: 200"
    ));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("POST /v1/automation/run-async 200 ")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains(&format!(
        "webhook run.completed {completed} attempt 1/4: 200"
    ))));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_delivery_is_retried_and_arrives_once() {
    let listen = Listen::start(&["--json"]);
    let emulate = Emulate::start(&["--allow-http-loopback", "--speed", "100"]);
    let id = queue(
        &emulate,
        &listen,
        "Extract the product name and price [webhook:drop=1]",
    )
    .await;
    let lines = emulate.lines_until(&format!("webhook run.completed {id} attempt 2/4: 200"));
    let dropped = lines
        .iter()
        .find(|l| l.contains(&format!("{id} attempt 1/4")))
        .unwrap();
    assert!(
        dropped.contains("dropped (simulated network error)"),
        "{dropped}"
    );
    assert!(dropped.contains("retry in 10ms"), "{dropped}");
    let line = listen.next_json();
    assert_eq!(
        (line["kind"].as_str(), line["run_id"].as_str()),
        (Some("accepted"), Some(id.as_str()))
    );
    assert!(
        listen
            .line_within(std::time::Duration::from_millis(300))
            .is_none(),
        "delivered once"
    );
}

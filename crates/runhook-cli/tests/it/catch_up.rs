//! The relay after the app's outage, through the real binary: the app (a small HTTP server on
//! 127.0.0.1 in this test, counting requests per run_id) is down (its port closed: connection
//! refused) for 60 s while 50 runs arrive at the relay, then comes back. Rows back off for real
//! (the default `--retry-base-ms`, 1 s: after a minute, waits of tens of seconds); the first 2xx
//! after the outage makes them all due at once. What must hold: every run reaches the app
//! exactly once, the last within 5 s of the app's return, and the outage takes fewer than 10
//! lines of the relay's output (stdout and stderr), not one per attempt.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use serde_json::Value;
use support::listen::{Listen, client};
use support::relay::{completed, free_port, pending};

/// Arrivals per run_id: how many, and when the last came.
type Arrivals = Arc<Mutex<HashMap<String, (u32, Instant)>>>;

/// The app, on `port` from now on: answers 200 to every POST and counts it by its run_id.
async fn start_app(port: u16, arrivals: Arrivals) {
    async fn receive(
        State(arrivals): State<Arrivals>,
        body: axum::body::Bytes,
    ) -> axum::http::StatusCode {
        let event: Value = serde_json::from_slice(&body).unwrap_or_default();
        let run_id = event["run_id"].as_str().unwrap_or("?").to_owned();
        let mut arrivals = arrivals.lock().unwrap();
        let entry = arrivals.entry(run_id).or_insert((0, Instant::now()));
        entry.0 += 1;
        entry.1 = Instant::now();
        axum::http::StatusCode::OK
    }
    let router = axum::Router::new()
        .route("/webhooks/tinyfish", axum::routing::post(receive))
        .with_state(arrivals);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
}

/// Whether a line of the relay's output is about the outage: every line but the startup lines,
/// the deliveries' `accepted`, the `forwarded` and the stop line.
fn about_the_outage(line: &str) -> bool {
    let kind = serde_json::from_str::<Value>(line)
        .ok()
        .and_then(|line| line["kind"].as_str().map(str::to_owned));
    match kind {
        Some(kind) => !matches!(kind.as_str(), "accepted" | "forwarded"),
        None => ![
            "runhook: inbox ",
            "runhook: forwarding to ",
            "runhook: stopped",
        ]
        .iter()
        .any(|start| line.starts_with(start)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_60_s_outage_the_relay_catches_up_within_5_s_and_quietly_slow() {
    support::slow_test(
        "after_a_60_s_outage_the_relay_catches_up_within_5_s_and_quietly_slow",
        "65 s",
    );
    let _heavy = support::heavy().await;
    const RUNS: usize = 50;
    const OUTAGE: Duration = Duration::from_secs(60);
    let port = free_port();
    let app_url = format!("http://127.0.0.1:{port}/webhooks/tinyfish");
    let dir = tempfile::tempdir().unwrap();
    let store = format!("sqlite:{}", dir.path().join("inbox.db").display());
    let log = tempfile::NamedTempFile::new().unwrap();
    let relay = Listen::start_with(
        &["--json", "--store", &store, "--forward-to", &app_url],
        &[],
        Stdio::from(log.reopen().unwrap()),
    );
    let down = Instant::now();

    // 50 runs over the first 25 s of the outage: rows at every stage of their backoff.
    let client = client();
    for i in 0..RUNS {
        let response = client
            .post(&relay.url)
            .header("content-type", "application/json")
            .body(completed(&format!("outage-{i}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "run {i}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    tokio::time::sleep(OUTAGE.saturating_sub(down.elapsed())).await;
    let waiting = pending(&store);
    let latest = waiting
        .iter()
        .filter_map(|row| row["next_at"].as_str())
        .max()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(waiting.len(), RUNS, "every run waits for the app");

    let arrivals = Arrivals::default();
    start_app(port, Arc::clone(&arrivals)).await;
    let back = Instant::now();
    let deadline = back + Duration::from_secs(30);
    while arrivals.lock().unwrap().len() < RUNS && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A moment more, for a duplicate to show.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (status, stdout) = relay.stop("-TERM");
    assert!(status.success(), "{status}");

    let arrivals = arrivals.lock().unwrap().clone();
    let missing: Vec<usize> = (0..RUNS)
        .filter(|i| !arrivals.contains_key(&format!("outage-{i}")))
        .collect();
    assert!(missing.is_empty(), "runs never forwarded: {missing:?}");
    let twice: Vec<(&String, &u32)> = arrivals
        .iter()
        .filter(|(_, (count, _))| *count != 1)
        .map(|(run_id, (count, _))| (run_id, count))
        .collect();
    assert!(twice.is_empty(), "runs forwarded more than once: {twice:?}");
    let last = arrivals.values().map(|(_, at)| *at).max().unwrap();
    let catch_up = last.saturating_duration_since(back);

    let stderr = std::fs::read_to_string(log.path()).unwrap();
    let outage_lines: Vec<&str> = stdout
        .iter()
        .map(String::as_str)
        .chain(stderr.lines())
        .filter(|line| about_the_outage(line))
        .collect();
    eprintln!(
        "catch-up: last run {:.2} s after the app's return; {} line(s) about the outage; rows \
         waited until {latest} at the latest",
        catch_up.as_secs_f64(),
        outage_lines.len()
    );
    for line in &outage_lines {
        eprintln!("  {line}");
    }
    assert!(
        catch_up < Duration::from_secs(5),
        "the last run came {catch_up:?} after the app's return"
    );
    assert!(
        outage_lines.len() < 10,
        "{} lines about the outage: {outage_lines:#?}",
        outage_lines.len()
    );
    let kinds = |kind: &str| {
        stdout
            .iter()
            .filter(|line| line.contains(&format!("\"kind\":\"{kind}\"")))
            .count()
    };
    assert_eq!(kinds("target_down"), 1, "{outage_lines:#?}");
    assert_eq!(kinds("target_up"), 1, "{outage_lines:#?}");
    let up: Value = stdout
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["kind"] == "target_up")
        .unwrap();
    assert_eq!(up["target"], app_url, "{up}");
    assert!(up["down_for_ms"].as_u64().unwrap() >= 50_000, "{up}");
    assert!(up["waiting"].as_u64().unwrap() > 0, "{up}");
    assert!(pending(&store).is_empty());
}

//! `runhook listen` misbehaving on purpose (--respond, --fail-first, --fail-rate, --delay), its
//! lines for other paths, its JSON first line, and a closed stdout.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::listen::{Listen, PATIENCE, client, listening_url, post};
use support::{fixtures, runhook, stderr, stdout};

fn documented() -> Vec<u8> {
    std::fs::read(fixtures().join("valid/01-docs-run-completed.json")).unwrap()
}

/// A small valid delivery for run `run_id`.
fn cancelled(run_id: &str) -> String {
    format!(r#"{{"event":"run.cancelled","run_id":"{run_id}","status":"CANCELLED","data":{{}}}}"#)
}

#[tokio::test(flavor = "current_thread")]
async fn with_json_every_line_is_json_from_the_first_and_other_paths_get_not_found() {
    let listen = Listen::start(&["--json"]);
    let base = listen.url.strip_suffix("/webhooks/tinyfish").unwrap();
    let wrong = format!("{base}/wrong?token=secret-in-query");
    assert_eq!(post(&wrong, "application/json", documented()).await, 404);
    let line = listen.next_json();
    assert_eq!(
        line,
        json!({"kind": "not_found", "status": 404, "method": "POST", "path": "/wrong",
               "expected": "/webhooks/tinyfish"})
    );
    let get = client().get(format!("{base}/")).send().await.unwrap();
    assert_eq!(get.status(), 404);
    assert_eq!(listen.next_json()["path"], "/");
    let (status, rest) = listen.stop("-TERM");
    assert!(status.success());
    assert!(rest.is_empty(), "{rest:?}");

    // The first line, read raw: JSON too.
    let mut child = Command::new(env!("CARGO_BIN_EXE_runhook"))
        .args([
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--json",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let first: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["kind"], "listening", "{first}");
    assert_eq!(first.as_object().unwrap().len(), 2, "{first}");
    assert!(
        first["url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:")
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_request_to_another_path_gets_a_human_line_naming_the_expected_path() {
    let listen = Listen::start(&[]);
    let wrong = listen.url.replace("/webhooks/tinyfish", "/wrong");
    assert_eq!(post(&wrong, "application/json", documented()).await, 404);
    assert_eq!(
        listen.next_line(),
        "rejected  404 POST /wrong: not the webhook path; deliveries go to /webhooks/tinyfish"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn fail_first_answers_503_unprocessed_then_lets_deliveries_through() {
    let listen = Listen::start(&["--fail-first", "2"]);
    for n in 1..=2 {
        assert_eq!(
            post(&listen.url, "application/json", cancelled("r1")).await,
            503
        );
        assert_eq!(
            listen.next_line(),
            format!(
                "injected  503 run.cancelled run r1: --fail-first 2: delivery {n} answered 503 \
                 on purpose"
            )
        );
    }
    // Not recorded as processed: the third delivery is the first accepted.
    assert_eq!(
        post(&listen.url, "application/json", cancelled("r1")).await,
        200
    );
    assert_eq!(
        listen.next_line(),
        "accepted  200 run.cancelled run r1: cancelled"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_senders_retry_is_seen_against_fail_first() {
    let listen = Listen::start(&["--fail-first", "1", "--json"]);
    let output = runhook(
        &[
            "trigger",
            "run.failed",
            "--to",
            &listen.url,
            "--insecure-localhost",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(
        text.contains("attempt 1/4: 503 Service Unavailable"),
        "{text}"
    );
    assert!(text.contains("attempt 2/4: 200 OK"), "{text}");
    let injected = listen.next_json();
    assert_eq!(injected["kind"], "injected", "{injected}");
    assert_eq!(injected["status"], 503);
    assert_eq!(injected["event"], "run.failed");
    let accepted = listen.next_json();
    assert_eq!(accepted["kind"], "accepted", "{accepted}");
    assert_eq!(accepted["run_id"], injected["run_id"]);
}

#[tokio::test(flavor = "current_thread")]
async fn respond_answers_every_delivery_with_the_status_and_a_sender_sees_it() {
    let listen = Listen::start(&["--respond", "410"]);
    assert_eq!(
        post(&listen.url, "application/json", cancelled("r2")).await,
        410
    );
    let line = listen.next_line();
    assert!(
        line.starts_with("injected  410 run.cancelled run r2: --respond 410"),
        "{line}"
    );
    let output = runhook(
        &[
            "trigger",
            "run.completed",
            "--to",
            &listen.url,
            "--insecure-localhost",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(
        stdout(&output).contains("410 is final"),
        "{}",
        stdout(&output)
    );
    assert!(
        listen
            .next_line()
            .starts_with("injected  410 run.completed")
    );
}

/// The statuses of `count` deliveries to a `listen --fail-rate 0.5 --seed SEED`.
async fn fail_rate_statuses(seed: &str, count: usize) -> Vec<u16> {
    let listen = Listen::start(&["--fail-rate", "0.5", "--seed", seed, "--json"]);
    let mut statuses = Vec::new();
    for n in 0..count {
        let status = post(&listen.url, "application/json", cancelled(&format!("r{n}"))).await;
        let line = listen.next_json();
        assert_eq!(
            line["status"], status,
            "the line shows the status sent: {line}"
        );
        let kind = if status == 503 {
            "injected"
        } else {
            "accepted"
        };
        assert_eq!(line["kind"], kind, "{line}");
        statuses.push(status);
    }
    statuses
}

#[tokio::test(flavor = "current_thread")]
async fn fail_rate_is_replayable_with_a_seed() {
    let first = fail_rate_statuses("42", 16).await;
    assert_eq!(first, fail_rate_statuses("42", 16).await);
    assert!(first.contains(&503) && first.contains(&200), "{first:?}");
    let bad = runhook(
        &["listen", "--addr", "127.0.0.1:0", "--fail-rate", "1.5"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("0.0 to 1.0"), "{}", stderr(&bad));
    let conflict = runhook(
        &[
            "listen",
            "--addr",
            "127.0.0.1:0",
            "--respond",
            "500",
            "--fail-first",
            "1",
        ],
        None,
    );
    assert_eq!(conflict.status.code(), Some(2));
}

#[tokio::test(flavor = "current_thread")]
async fn delay_holds_the_answer_and_the_deadline_still_applies() {
    let listen = Listen::start(&["--delay", "300"]);
    let start = Instant::now();
    assert_eq!(
        post(&listen.url, "application/json", cancelled("r3")).await,
        200
    );
    assert!(
        start.elapsed() >= Duration::from_millis(300),
        "{:?}",
        start.elapsed()
    );
    assert!(listen.next_line().starts_with("accepted  200"));

    let listen = Listen::start(&["--json", "--delay", "30000", "--deadline-ms", "200"]);
    let start = Instant::now();
    assert_eq!(
        post(&listen.url, "application/json", cancelled("r4")).await,
        503
    );
    // Answered at the deadline, not held until the handler's 30 s delay ends: the bound is that
    // delay's third, so a loaded machine does not trip it.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    let line = listen.next_json();
    assert_eq!(line["status"], 503, "{line}");
    assert_eq!(line["run_id"], "r4", "{line}");
}

#[tokio::test(flavor = "current_thread")]
async fn a_closed_stdout_ends_listen_quietly_with_0() {
    for json in [false, true] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_runhook"));
        command.args(["listen", "--addr", "127.0.0.1:0", "--store", "memory"]);
        if json {
            command.arg("--json");
        }
        let mut child = command
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // `| head -1`: read the first line, then close the pipe.
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let url = listening_url(first.trim_end());
        drop(reader);
        // The next line cannot be written: listen stops.
        let _ = client()
            .post(&url)
            .header("content-type", "application/json")
            .body(cancelled("r5"))
            .send()
            .await;
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "listen still runs with stdout closed"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let output = child.wait_with_output().unwrap();
        assert_eq!(status.code(), Some(0), "json {json}");
        // Quietly: nothing on stderr but the store line printed at start.
        let stderr = String::from_utf8_lossy(&output.stderr);
        let noise: Vec<&str> = stderr
            .lines()
            .filter(|line| !line.starts_with("runhook: idempotency store "))
            .collect();
        assert!(noise.is_empty(), "json {json}: {stderr}");
    }
}

/// SIGTERM with a handler still running: new deliveries are refused, the handler gets the grace
/// period, then it is stopped, its run released and reported, and the process exits.
#[tokio::test(flavor = "current_thread")]
async fn sigterm_stops_a_running_handler_after_the_grace_period_and_reports_it() {
    let log = tempfile::NamedTempFile::new().unwrap();
    let listen = Listen::start_with(
        &[
            "--json",
            "--delay",
            "30000",
            "--deadline-ms",
            "200",
            "--grace-ms",
            "500",
        ],
        &[],
        Stdio::from(log.reopen().unwrap()),
    );
    assert_eq!(
        post(&listen.url, "application/json", cancelled("r-shutdown")).await,
        503
    );
    let first = listen.next_json();
    assert_eq!(first["outcome"], "deadline_passed", "{first}");
    let start = Instant::now();
    let (status, rest) = listen.stop("-TERM");
    assert!(status.success());
    // The grace period (500 ms) ended the handler, not its 30 s delay: the bound is half that
    // delay, so a loaded machine does not trip it.
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "exit took {:?}",
        start.elapsed()
    );
    let stopped: Vec<Value> = rest
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert!(
        stopped.iter().any(|line| line["outcome"] == "shutting_down"
            && line["run_id"] == "r-shutdown"
            && line["late"] == true),
        "{rest:?}"
    );
    let stderr = std::fs::read_to_string(log.path()).unwrap();
    assert!(
        stderr.contains("1 handler(s) still running were stopped"),
        "{stderr}"
    );
}

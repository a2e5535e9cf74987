//! `runhook listen` on 127.0.0.1:0, fed by reqwest and by `runhook trigger`, stopped by a signal.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::process::{Command, Stdio};

use serde_json::Value;
use support::listen::{Listen, client, post};
use support::{fixtures, runhook, stderr};

fn documented() -> Vec<u8> {
    std::fs::read(fixtures().join("valid/01-docs-run-completed.json")).unwrap()
}

#[tokio::test(flavor = "current_thread")]
async fn json_lines_for_accepted_duplicate_rejected_and_a_clean_exit_on_sigterm() {
    let listen = Listen::start(&["--json"]);
    let port_and_path = listen.url.strip_prefix("http://127.0.0.1:").unwrap();
    let (port, path) = port_and_path.split_once('/').unwrap();
    assert_ne!(port.parse::<u16>().unwrap(), 0, "the real port is shown");
    assert_eq!(path, "webhooks/tinyfish");

    assert_eq!(
        post(&listen.url, "application/json", documented()).await,
        200
    );
    let line = listen.next_json();
    assert_eq!(line["kind"], "accepted", "{line}");
    assert_eq!(line["status"], 200);
    assert_eq!(line["run_id"], "4562765d-156e-4c47-b217-55b3ec4a9720");
    assert_eq!(line["event"], "run.completed");
    assert!(line["reason"].is_string());
    assert!(
        line["summary"].as_str().unwrap().contains("Example Domain"),
        "{line}"
    );

    assert_eq!(
        post(&listen.url, "application/json", documented()).await,
        200
    );
    let line = listen.next_json();
    assert_eq!(line["kind"], "duplicate", "{line}");
    assert_eq!(line["status"], 200);
    assert_eq!(line["run_id"], "4562765d-156e-4c47-b217-55b3ec4a9720");

    assert_eq!(post(&listen.url, "text/plain", documented()).await, 415);
    let line = listen.next_json();
    assert_eq!(line["kind"], "rejected", "{line}");
    assert_eq!(line["status"], 415);
    assert!(
        line["reason"].as_str().unwrap().contains("Content-Type"),
        "{line}"
    );

    assert_eq!(
        post(&listen.url, "application/json", "{\"event\":").await,
        400
    );
    let line = listen.next_json();
    assert_eq!(line["kind"], "rejected", "{line}");
    assert_eq!(line["status"], 400);
    assert_eq!(line["run_id"], Value::Null);

    let output = runhook(
        &[
            "trigger",
            "run.completed",
            "--to",
            &listen.url,
            "--insecure-localhost",
            "--json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let line = listen.next_json();
    assert_eq!(line["kind"], "accepted", "{line}");
    assert_eq!(line["event"], "run.completed");
    assert_eq!(line["run_id"].as_str().unwrap().len(), 36, "a UUID: {line}");
    assert!(
        line["summary"]
            .as_str()
            .unwrap()
            .contains("Example Product"),
        "{line}"
    );

    let (status, rest) = listen.stop("-TERM");
    assert!(status.success(), "{status:?}");
    assert_eq!(rest, Vec::<String>::new());
}

#[tokio::test(flavor = "current_thread")]
async fn human_lines_the_path_and_body_limit_options_and_ctrl_c() {
    let listen = Listen::start(&["--path", "hooks/local", "--max-body", "100"]);
    assert!(listen.url.ends_with("/hooks/local"), "{}", listen.url);
    assert!(
        !listen.url["http://".len()..].contains("//"),
        "{}",
        listen.url
    );

    assert_eq!(
        post(&listen.url, "application/json", documented()).await,
        413
    );
    let line = listen.next_line();
    assert!(line.starts_with("rejected  413: "), "{line}");

    let small = r#"{"event":"run.cancelled","run_id":"r1","status":"CANCELLED","data":{}}"#;
    assert_eq!(post(&listen.url, "application/json", small).await, 200);
    assert_eq!(
        listen.next_line(),
        "accepted  200 run.cancelled run r1: cancelled"
    );

    let wrong_method = client().get(&listen.url).send().await.unwrap();
    assert_eq!(wrong_method.status(), 405);
    assert!(listen.next_line().starts_with("rejected  405: "));

    let (status, _) = listen.stop("-INT");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_pattern_path_is_a_usage_error() {
    let output = runhook(
        &["listen", "--addr", "127.0.0.1:0", "--path", "/runs/{id}"],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--path"), "{}", stderr(&output));
}

/// A client that writes its whole body before reading the answer (Python's `http.client`)
/// must see the 413, not a connection reset that it would retry.
#[test]
fn a_413_reaches_a_client_that_writes_its_whole_body_first() {
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "python3 is needed for this test in CI"
        );
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let listen = Listen::start(&["--max-body", "1024"]);
    let url = listen.url.strip_prefix("http://").unwrap().to_owned();
    let (host_port, path) = url.split_at(url.find('/').unwrap());
    let (host, port) = host_port.rsplit_once(':').unwrap();
    let script = format!(
        r#"
import http.client
c = http.client.HTTPConnection("{host}", {port}, timeout=10)
c.request("POST", "{path}", body=b" " * 8000000, headers={{"Content-Type": "application/json"}})
r = c.getresponse()
print(r.status)
print(r.read().decode())
"#
    );
    let output = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut lines = stdout.lines();
    assert_eq!(lines.next(), Some("413"), "{stdout}");
    let body: Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(body["kind"], "payload_too_large");
    let reported = listen.next_line();
    assert!(reported.starts_with("rejected  413"), "{reported}");
    let (status, _) = listen.stop("-TERM");
    assert!(status.success());
}

#[test]
fn token_env_unset_or_empty_is_a_usage_error() {
    for env in [None, Some("")] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_runhook"));
        command
            .args([
                "listen",
                "--addr",
                "127.0.0.1:0",
                "--token-env",
                "RUNHOOK_TEST_TOKEN",
            ])
            .env_remove("RUNHOOK_TEST_TOKEN")
            .stdin(Stdio::null());
        if let Some(value) = env {
            command.env("RUNHOOK_TEST_TOKEN", value);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{env:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("RUNHOOK_TEST_TOKEN is unset or empty"),
            "{stderr}"
        );
        assert!(output.stdout.is_empty(), "no listening line");
    }
}

#[tokio::test(flavor = "current_thread")]
async fn token_env_requires_the_token_in_the_url_and_never_prints_it() {
    const SECRET: &str = "s3cret-0f-the-webhook-url-7d1c";
    let log = tempfile::NamedTempFile::new().unwrap();
    let listen = Listen::start_with(
        &["--json", "--token-env", "RUNHOOK_TEST_TOKEN"],
        &[("RUNHOOK_TEST_TOKEN", SECRET), ("RUST_LOG", "debug")],
        Stdio::from(log.reopen().unwrap()),
    );
    assert!(!listen.url.contains(SECRET));
    let forged = post(&listen.url, "application/json", documented()).await;
    assert_eq!(forged, 401);
    let line = listen.next_json();
    assert_eq!(line["status"], 401, "{line}");
    let wrong = format!("{}?token=guess", listen.url);
    assert_eq!(post(&wrong, "application/json", documented()).await, 401);
    let wrong_line = listen.next_json();
    let genuine = format!("{}?token={SECRET}", listen.url);
    assert_eq!(post(&genuine, "application/json", documented()).await, 200);
    let accepted = listen.next_json();
    assert_eq!(accepted["kind"], "accepted", "{accepted}");
    let (status, rest) = listen.stop("-TERM");
    assert!(status.success());
    let stderr = std::fs::read_to_string(log.path()).unwrap();
    for printed in [
        line.to_string(),
        wrong_line.to_string(),
        accepted.to_string(),
        rest.join("\n"),
        stderr,
    ] {
        assert!(
            !printed.contains(SECRET),
            "the token was printed: {printed}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn drift_is_accepted_and_listed_in_json_lines() {
    let listen = Listen::start(&["--json"]);
    let body = br#"{"event":"run.completed","run_id":"run-drift","status":"COMPLETED",
        "data":{"num_of_steps":3.0,"created_at":null,"result":["not","an","object"]}}"#;
    assert_eq!(post(&listen.url, "application/json", &body[..]).await, 200);
    let line = listen.next_json();
    assert_eq!(line["kind"], "accepted", "{line}");
    let pointers: Vec<&str> = line["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| problem["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        ["/data/created_at", "/data/num_of_steps", "/data/result"],
        "{line}"
    );
    assert!(line["drift"][0]["message"].is_string());
    let (status, _) = listen.stop("-TERM");
    assert!(status.success());
}

/// Lines are written by a thread of their own, off the requests' path, and none is lost at the
/// exit: a burst of deliveries, then SIGTERM at once, and every delivery answered 200 has its
/// `accepted` line on stdout, in full, by the time the process has exited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answered_delivery_has_its_line_even_with_sigterm_right_after() {
    const DELIVERIES: usize = 400;
    let listen = Listen::start(&["--json"]);
    let documented: Value = serde_json::from_slice(&documented()).unwrap();
    let client = client();
    let mut posts = tokio::task::JoinSet::new();
    let mut sent = std::collections::BTreeSet::new();
    for i in 0..DELIVERIES {
        let run_id = format!("burst-{i:04}");
        let mut body = documented.clone();
        body["run_id"] = Value::from(run_id.as_str());
        body["data"]["run_id"] = Value::from(run_id.as_str());
        sent.insert(run_id);
        let (client, url) = (client.clone(), listen.url.clone());
        posts.spawn(async move {
            let response = client
                .post(url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            response.status().as_u16()
        });
    }
    let statuses = posts.join_all().await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let (status, rest) = listen.stop("-TERM");
    assert!(status.success(), "{status:?}");
    // The lines read before the signal are still queued in the reader: `stop` reads them all.
    let accepted: std::collections::BTreeSet<String> = rest
        .iter()
        .map(|line| serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{line:?}: {e}")))
        .inspect(|line| assert_eq!(line["kind"], "accepted", "{line}"))
        .map(|line| line["run_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(rest.len(), DELIVERIES, "one line per delivery");
    assert_eq!(accepted, sent);
}

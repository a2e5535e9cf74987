//! `runhook send` against a receiver on 127.0.0.1.

use crate::support;

use std::time::Duration;

use serde_json::{Value, json};
use support::{Receiver, Reply, TestCa, fixtures, json_lines, runhook, status, stderr, stdout};

#[test]
fn a_fixture_is_delivered_after_a_retry_with_json_lines() {
    let receiver = Receiver::start(vec![status(503), status(200)]);
    let file = fixtures().join("valid/02-blog-run-completed.json");
    let output = runhook(
        &[
            "send",
            file.to_str().unwrap(),
            "--to",
            &receiver.url(),
            "--insecure-localhost",
            "--json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let keys = |value: &Value| {
        value
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<Vec<_>>()
    };
    for line in &lines[..2] {
        assert_eq!(
            keys(line),
            ["attempt", "elapsed_ms", "error", "retry_in_ms", "status"]
        );
        assert!(line["elapsed_ms"].is_u64());
    }
    assert_eq!(lines[0]["attempt"], 1);
    assert_eq!(lines[0]["status"], 503);
    assert_eq!(lines[0]["error"], Value::Null);
    assert_eq!(lines[0]["retry_in_ms"], 1000);
    assert_eq!(lines[1]["attempt"], 2);
    assert_eq!(lines[1]["status"], 200);
    assert_eq!(lines[1]["retry_in_ms"], Value::Null);
    assert_eq!(lines[2], json!({"outcome": "delivered", "attempts": 2}));
    // The bytes of the file, as they are.
    assert_eq!(receiver.bodies()[1], std::fs::read(&file).unwrap());
}

#[test]
fn the_payload_can_come_from_stdin_with_human_output() {
    let receiver = Receiver::start(vec![status(204)]);
    let body = std::fs::read(fixtures().join("valid/03-docs-run-failed.json")).unwrap();
    let output = runhook(
        &["send", "-", "--to", &receiver.url(), "--insecure-localhost"],
        Some(&body),
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].starts_with("attempt 1/4: 204 No Content in "),
        "{text}"
    );
    assert_eq!(
        lines[1],
        format!("delivered to {} (204) after 1 attempt", receiver.url())
    );
    assert_eq!(receiver.bodies(), vec![body]);
}

#[test]
fn a_4xx_is_final_and_exits_1() {
    let receiver = Receiver::start(vec![status(410)]);
    let file = fixtures().join("valid/05-run-cancelled.json");
    let output = runhook(
        &[
            "send",
            file.to_str().unwrap(),
            "--to",
            &receiver.url(),
            "--insecure-localhost",
            "--json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["status"], 410);
    assert_eq!(lines[1], json!({"outcome": "failed", "attempts": 1}));
    assert_eq!(receiver.bodies().len(), 1);
}

#[test]
fn the_timeout_flag_bounds_each_attempt() {
    let receiver = Receiver::start(vec![
        Reply {
            status: 200,
            delay: Duration::from_secs(3),
        },
        status(200),
    ]);
    let file = fixtures().join("valid/01-docs-run-completed.json");
    let output = runhook(
        &[
            "send",
            file.to_str().unwrap(),
            "--to",
            &receiver.url(),
            "--insecure-localhost",
            "--timeout-ms",
            "300",
            "--json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let lines = json_lines(&output);
    assert_eq!(lines[0]["status"], Value::Null);
    assert!(
        lines[0]["error"].as_str().unwrap().contains("timed out"),
        "{lines:?}"
    );
    let elapsed = lines[0]["elapsed_ms"].as_u64().unwrap();
    // Cut at the 300 ms timeout, before the slow reply (3 s) came.
    assert!((300..3000).contains(&elapsed), "{elapsed}");
    assert_eq!(lines[2], json!({"outcome": "delivered", "attempts": 2}));
}

#[test]
fn https_with_a_custom_ca_certificate() {
    let ca = TestCa::new();
    let receiver = Receiver::start_tls(vec![status(200)], &ca);
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ca.pem");
    std::fs::write(&pem, &ca.ca_pem).unwrap();
    let file = fixtures().join("valid/08-failed-agent-failure.json");
    assert!(receiver.url().starts_with("https://"));
    let output = runhook(
        &[
            "send",
            file.to_str().unwrap(),
            "--to",
            &receiver.url(),
            "--insecure-localhost",
            "--ca-cert",
            pem.to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        json_lines(&output).last().unwrap(),
        &json!({"outcome": "delivered", "attempts": 1})
    );
    assert_eq!(receiver.bodies(), vec![std::fs::read(&file).unwrap()]);
}

#[test]
fn an_invalid_payload_is_refused_with_each_pointer_and_exits_2() {
    let receiver = Receiver::start(vec![status(200)]);
    let wrapper: Value = serde_json::from_slice(
        &std::fs::read(fixtures().join("invalid/03-data-status-mismatch.json")).unwrap(),
    )
    .unwrap();
    let body = serde_json::to_vec(&wrapper["payload"]).unwrap();
    let output = runhook(
        &["send", "--to", &receiver.url(), "--insecure-localhost"],
        Some(&body),
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("refusing to send <stdin>"), "{message}");
    assert!(message.contains("<stdin>#/data/status:"), "{message}");
    assert!(
        message.contains("(schema)") && message.contains("(consistency)"),
        "{message}"
    );
    assert!(stdout(&output).is_empty());
    assert!(receiver.bodies().is_empty(), "nothing is sent");
}

#[test]
fn plain_http_needs_the_localhost_opt_in() {
    let receiver = Receiver::start(vec![status(200)]);
    let file = fixtures().join("valid/01-docs-run-completed.json");
    let output = runhook(
        &["send", file.to_str().unwrap(), "--to", &receiver.url()],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("plain http"), "{message}");
    assert!(message.contains("--insecure-localhost"), "{message}");
    assert!(receiver.bodies().is_empty());
}

#[test]
fn private_and_loopback_addresses_need_their_opt_ins() {
    // Refused before any connection: the URL check sees the IP literal. Guard: the rules do
    // refuse these, so nothing here can send traffic off this machine.
    let local = runhook::AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    };
    assert!(runhook::WebhookUrl::parse_with("https://10.0.0.1/hook", &local).is_err());
    assert!(
        runhook::WebhookUrl::parse_with(
            "https://169.254.169.254/",
            &runhook::AddressPolicy::local_development()
        )
        .is_err()
    );

    let file = fixtures().join("valid/01-docs-run-completed.json");
    let file = file.to_str().unwrap();
    for (args, expected) in [
        (
            vec!["--to", "https://10.0.0.1/hook", "--insecure-localhost"],
            "--allow-private-networks",
        ),
        (
            vec!["--to", "https://127.0.0.1:9/hook"],
            "--insecure-localhost",
        ),
        (
            vec!["--to", "https://localhost:9/hook"],
            "--insecure-localhost",
        ),
        (
            vec![
                "--to",
                "https://169.254.169.254/",
                "--insecure-localhost",
                "--allow-private-networks",
            ],
            "never delivered there",
        ),
        (
            vec!["--to", "http://192.0.2.1/hook", "--insecure-localhost"],
            "use https",
        ),
    ] {
        let mut all = vec!["send", file];
        all.extend(&args);
        let output = runhook(&all, None);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let message = stderr(&output);
        assert!(message.contains(expected), "{args:?}: {message}");
        assert!(stdout(&output).is_empty());
    }
}

#[test]
fn unreadable_input_and_bad_flags_exit_2() {
    let missing = runhook(
        &[
            "send",
            "/nonexistent/payload.json",
            "--to",
            "https://hooks.example.com/",
        ],
        None,
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("cannot read the payload"));

    let file = fixtures().join("valid/01-docs-run-completed.json");
    let file = file.to_str().unwrap();
    for args in [
        vec!["send", file],
        vec![
            "send",
            file,
            "--to",
            "https://hooks.example.com/",
            "--policy",
            "eager",
        ],
        vec![
            "send",
            file,
            "--to",
            "https://hooks.example.com/",
            "--timeout-ms",
            "0",
        ],
        vec![
            "send",
            file,
            "--to",
            "https://hooks.example.com/",
            "--ca-cert",
            "/nonexistent.pem",
        ],
        vec!["send", file, "--to", "not a url"],
        vec!["frobnicate"],
    ] {
        let output = runhook(&args, None);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

//! `runhook trigger` against a receiver on 127.0.0.1.

use crate::support;

use std::time::Duration;

use runhook::Event;
use runhook_schema::SchemaValidator;
use serde_json::json;
use support::listen::Listen;
use support::{Receiver, Reply, json_lines, runhook, status, stderr, stdout};

#[test]
fn each_event_is_built_valid_with_a_fresh_run_id() {
    let receiver = Receiver::start(vec![status(200)]);
    let validator = SchemaValidator::embedded().unwrap();
    let mut run_ids = Vec::new();
    for event in [
        "run.completed",
        "run.failed",
        "run.cancelled",
        "run.completed",
    ] {
        let output = runhook(
            &[
                "trigger",
                event,
                "--to",
                &receiver.url(),
                "--insecure-localhost",
                "--json",
            ],
            None,
        );
        assert_eq!(
            output.status.code(),
            Some(0),
            "{event}: {}",
            stderr(&output)
        );
        assert_eq!(
            json_lines(&output).last().unwrap(),
            &json!({"outcome": "delivered", "attempts": 1})
        );
        let body = receiver.bodies().pop().unwrap();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(validator.validate_webhook(&value), vec![], "{event}");
        let parsed = Event::from_slice(&body).unwrap();
        assert_eq!(parsed.name(), event);
        let run_id = parsed.run_id().unwrap().to_owned();
        assert_eq!(run_id.len(), 36, "a UUID: {run_id}");
        run_ids.push(run_id);
    }
    let mut unique = run_ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), run_ids.len(), "{run_ids:?}");
}

#[test]
fn the_failed_event_is_the_documented_agent_failure() {
    let receiver = Receiver::start(vec![status(200)]);
    let output = runhook(
        &[
            "trigger",
            "run.failed",
            "--to",
            &receiver.url(),
            "--insecure-localhost",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("sending run.failed for run "), "{text}");
    let body: serde_json::Value = serde_json::from_slice(&receiver.bodies()[0]).unwrap();
    assert_eq!(
        body["data"]["error"],
        json!({"message": "Site blocked access", "category": "AGENT_FAILURE"})
    );
    assert_eq!(body["data"]["result"], serde_json::Value::Null);
    assert_eq!(body["data"]["run_id"], body["run_id"]);
}

#[test]
fn an_unknown_event_is_a_usage_error() {
    let output = runhook(
        &[
            "trigger",
            "run.started",
            "--to",
            "https://hooks.example.com/",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("run.completed"));
}

#[test]
fn run_id_and_set_change_the_built_event() {
    let receiver = Receiver::start(vec![status(200)]);
    let output = runhook(
        &[
            "trigger",
            "run.completed",
            "--to",
            &receiver.url(),
            "--insecure-localhost",
            "--run-id",
            "my-run-1",
            "--set",
            r#"/data/result={"product_name":"Widget","price":1.5}"#,
            "--set",
            r#"/data/goal="Buy a widget""#,
            "--set",
            "/data/steps/0/duration=null",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("sending run.completed for run my-run-1\n"),
        "{}",
        stdout(&output)
    );
    let body: serde_json::Value = serde_json::from_slice(&receiver.bodies()[0]).unwrap();
    assert_eq!(body["run_id"], "my-run-1");
    assert_eq!(body["data"]["run_id"], "my-run-1");
    assert_eq!(
        body["data"]["result"],
        json!({"product_name": "Widget", "price": 1.5})
    );
    assert_eq!(body["data"]["goal"], "Buy a widget");
    assert_eq!(
        body["data"]["steps"][0]["duration"],
        serde_json::Value::Null
    );
}

#[test]
fn a_bad_set_path_or_value_is_a_usage_error_that_says_why() {
    let receiver = Receiver::start(vec![status(200)]);
    for (set, expected) in [
        ("data.result=1", "not a JSON pointer"),
        ("/data/goal=Buy", "not JSON"),
        ("/data/result", "PATH=JSON"),
        ("/nope/x=1", "nothing at \"/nope\""),
        ("/data/steps/9=\"X\"", "not one of its indexes"),
        (
            "/status=\"DONE\"",
            "refusing to send the run.completed event",
        ),
    ] {
        let output = runhook(
            &[
                "trigger",
                "run.completed",
                "--to",
                &receiver.url(),
                "--insecure-localhost",
                "--set",
                set,
            ],
            None,
        );
        assert_eq!(output.status.code(), Some(2), "{set}");
        let message = stderr(&output);
        assert!(message.contains(expected), "{set}: {message}");
    }
    assert!(receiver.bodies().is_empty(), "nothing is sent");
    // On purpose: --no-validate sends it, with a warning.
    let output = runhook(
        &[
            "trigger",
            "run.completed",
            "--to",
            &receiver.url(),
            "--insecure-localhost",
            "--set",
            "/status=\"DONE\"",
            "--no-validate",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stderr(&output).contains("warning: --no-validate"));
    let body: serde_json::Value = serde_json::from_slice(&receiver.bodies()[0]).unwrap();
    assert_eq!(body["status"], "DONE");
}

#[test]
fn repeat_sends_the_same_body_up_to_concurrency_at_once() {
    for (repeat, concurrency) in [("6", "2"), ("4", "4")] {
        let receiver = Receiver::start(vec![Reply {
            status: 200,
            delay: Duration::from_millis(250),
        }]);
        let output = runhook(
            &[
                "trigger",
                "run.cancelled",
                "--to",
                &receiver.url(),
                "--insecure-localhost",
                "--repeat",
                repeat,
                "--concurrency",
                concurrency,
                "--json",
            ],
            None,
        );
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let n: usize = repeat.parse().unwrap();
        let lines = json_lines(&output);
        assert_eq!(lines.len(), n + 1, "{lines:?}");
        let mut seen: Vec<u64> = lines[..n]
            .iter()
            .map(|line| {
                assert_eq!(line["outcome"], "delivered", "{line}");
                assert_eq!(line["status"], 200, "{line}");
                line["delivery"].as_u64().unwrap()
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=n as u64).collect::<Vec<_>>());
        assert_eq!(
            lines[n],
            json!({"deliveries": n, "delivered": n, "failed": 0})
        );
        let bodies = receiver.bodies();
        assert_eq!(bodies.len(), n);
        assert!(bodies.iter().all(|body| body == &bodies[0]), "one body");
        assert_eq!(
            receiver.most_at_once(),
            concurrency.parse::<usize>().unwrap(),
            "--repeat {repeat} --concurrency {concurrency}"
        );
    }
}

#[test]
fn repeat_exits_1_unless_every_delivery_was_delivered() {
    let receiver = Receiver::start(vec![status(200), status(410)]);
    let output = runhook(
        &[
            "trigger",
            "run.failed",
            "--to",
            &receiver.url(),
            "--insecure-localhost",
            "--repeat",
            "3",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let text = stdout(&output);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("sending run.failed for run ")
            && lines[0].ends_with(" 3 times, up to 1 at once"),
        "{text}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.starts_with("delivery "))
            .count(),
        3,
        "{text}"
    );
    assert_eq!(
        lines.last().unwrap(),
        &format!(
            "3 deliveries to {}: 1 delivered, 2 not delivered",
            receiver.url()
        )
    );
}

#[tokio::test(flavor = "current_thread")]
async fn concurrent_duplicates_are_processed_once_by_listen() {
    let listen = Listen::start(&["--json"]);
    let output = runhook(
        &[
            "trigger",
            "run.completed",
            "--to",
            &listen.url,
            "--insecure-localhost",
            "--repeat",
            "4",
            "--concurrency",
            "4",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let mut kinds = Vec::new();
    while kinds.iter().filter(|kind| *kind != "in_flight").count() < 4 {
        assert!(kinds.len() < 100, "{kinds:?}");
        let line = listen.next_json();
        kinds.push(line["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        kinds.iter().filter(|kind| *kind == "accepted").count(),
        1,
        "{kinds:?}"
    );
    assert!(
        kinds
            .iter()
            .all(|kind| ["accepted", "duplicate", "in_flight"].contains(&kind.as_str())),
        "{kinds:?}"
    );
}

#[test]
fn without_to_it_goes_to_listens_default_url_with_loopback_implied() {
    let Some(receiver) = Receiver::start_at("127.0.0.1:8080", vec![status(200)]) else {
        eprintln!("SKIPPED: 127.0.0.1:8080 is taken on this machine");
        return;
    };
    let output = runhook(&["trigger", "run.completed"], None);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .contains("delivered to http://127.0.0.1:8080/webhooks/tinyfish (200) after 1 attempt"),
        "{}",
        stdout(&output)
    );
    assert_eq!(receiver.bodies().len(), 1);
}

#[test]
fn an_explicit_loopback_url_still_needs_insecure_localhost() {
    let receiver = Receiver::start(vec![status(200)]);
    let output = runhook(&["trigger", "run.completed", "--to", &receiver.url()], None);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--insecure-localhost"),
        "{}",
        stderr(&output)
    );
    assert!(receiver.bodies().is_empty());
}

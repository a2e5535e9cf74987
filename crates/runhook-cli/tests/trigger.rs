//! `runhook trigger` against a receiver on 127.0.0.1.

mod support;

use runhook::Event;
use runhook_schema::SchemaValidator;
use serde_json::json;
use support::{Receiver, json_lines, runhook, status, stderr, stdout};

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

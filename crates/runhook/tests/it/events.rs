//! Behaviour of the typed event model on documented and hostile payloads.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use runhook::{
    Check, ErrorCategory, Event, EventBuildError, EventError, Nullable, Run, RunId, RunStatus,
    Step, Timestamp,
};
use serde_json::{Value, json};

const DOCS_COMPLETED: &str = include_str!("../../../../fixtures/valid/01-docs-run-completed.json");

fn parse_err(body: &str) -> EventError {
    Event::from_json_str(body).expect_err("must be rejected")
}

#[test]
fn documented_completed_event_is_fully_typed() {
    let Event::Completed(run) = Event::from_json_str(DOCS_COMPLETED).unwrap() else {
        panic!("not run.completed");
    };
    assert_eq!(run.run_id, "4562765d-156e-4c47-b217-55b3ec4a9720");
    assert_eq!(run.status, RunStatus::Completed);
    let data = &run.data;
    assert_eq!(data.goal.as_deref(), Some("Extract the page title"));
    assert_eq!(
        data.created_at.as_ref().unwrap().unix_timestamp(),
        1_774_434_600
    );
    assert_eq!(data.num_of_steps, Nullable::Value(3));
    assert_eq!(data.error, Nullable::Null);
    assert_eq!(data.result.value().unwrap()["title"], "Example Domain");
    let config = data.browser_config.value().unwrap();
    assert_eq!(config.proxy_enabled, Nullable::Value(false));
    assert_eq!(config.proxy_country_code, Nullable::Null);
    let steps = data.steps.as_ref().unwrap();
    assert_eq!(steps[0].duration.value().map(String::as_str), Some("1.2s"));
    assert_eq!(
        data.streaming_url(),
        Some("https://tf-abc123.fra0-tinyfish.unikraft.app/stream/0")
    );
}

#[test]
fn partial_failure_data_round_trips_without_inventing_fields() {
    let body = r#"{"event":"run.failed","run_id":"run-2","status":"FAILED",
        "data":{"error":{"message":"Site blocked access","category":"AGENT_FAILURE"},"result":null}}"#;
    let event = Event::from_json_str(body).unwrap();
    let Event::Failed(run) = &event else {
        panic!("not run.failed")
    };
    let error = run.data.error.value().unwrap();
    assert_eq!(error.category, Nullable::Value(ErrorCategory::AgentFailure));
    assert_eq!(run.data.run_id, None);
    let original: Value = serde_json::from_str(body).unwrap();
    assert_eq!(serde_json::to_value(&event).unwrap(), original);
}

#[test]
fn unknown_fields_and_values_are_kept() {
    let body = json!({"event":"run.completed","run_id":"r1","status":"COMPLETED","trace":"abc",
        "data":{"status":"COMPLETED","cost":{"credits":3},"streamingUrl":"https://old.example/s",
                "error":{"message":"m","category":"NETWORK_FAILURE","retry_after":1.5},
                "steps":[{"id":"s","timestamp":"2026-03-25T10:30:05.5+02:00","status":"PAUSED","x":1}]}});
    let event = Event::from_value(body.clone()).unwrap();
    let run = event.run_event().unwrap();
    assert_eq!(run.extra["trace"], "abc");
    assert_eq!(run.data.extra["cost"], json!({"credits": 3}));
    assert_eq!(run.data.streaming_url(), Some("https://old.example/s"));
    let error = run.data.error.value().unwrap();
    assert_eq!(
        error.category,
        Nullable::Value(ErrorCategory::Unrecognized("NETWORK_FAILURE".into()))
    );
    assert_eq!(
        error.retry_after(),
        Some(std::time::Duration::from_millis(1500))
    );
    let step = &run.data.steps.as_ref().unwrap()[0];
    assert_eq!(step.status, RunStatus::Unrecognized("PAUSED".into()));
    assert_eq!(step.extra["x"], 1);
    assert_eq!(serde_json::to_value(&event).unwrap(), body);
}

#[test]
fn unknown_event_types_keep_raw_json_whatever_they_hold() {
    let body = json!({"event":"run.started","run_id":"../weird","data":[1,2,3]});
    let event = Event::from_value(body.clone()).unwrap();
    assert_eq!(event.name(), "run.started");
    assert_eq!(event.run_id(), Some("../weird"));
    let Event::Unknown(unknown) = &event else {
        panic!("not unknown")
    };
    assert_eq!(unknown.raw, body);
    assert_eq!(
        Event::from_slice(&serde_json::to_vec(&body).unwrap()).unwrap(),
        event
    );
    assert_eq!(serde_json::to_value(&event).unwrap(), body);
}

#[test]
fn errors_name_the_check_and_the_place() {
    let cases: &[(&str, Check, &str, &str)] = &[
        (
            r#"{"event":"run.completed","run_id":"r1","status":"FAILED","data":{}}"#,
            Check::Consistency,
            "/status",
            "requires status \"COMPLETED\"",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED","data":{"run_id":"r2"}}"#,
            Check::Consistency,
            "/data/run_id",
            "differs from run_id",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED","data":{"status":"COMPLETED"}}"#,
            Check::Consistency,
            "/data/status",
            "differs from status",
        ),
        (
            r#"{"event":"run.failed","status":"FAILED","data":{}}"#,
            Check::Parse,
            "/run_id",
            "`run_id` is missing",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED"}"#,
            Check::Parse,
            "/data",
            "`data` is missing",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED","data":null}"#,
            Check::Parse,
            "/data",
            "expected a run object",
        ),
        (
            r#"{"event":"run.failed","run_id":"a b","status":"FAILED","data":{}}"#,
            Check::Parse,
            "/run_id",
            "' '",
        ),
        (
            r#"{"event":7,"run_id":"r1","status":"FAILED","data":{}}"#,
            Check::Parse,
            "/event",
            "expected an event type",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED","data":{"error":{"category":"X"}}}"#,
            Check::Parse,
            "/data/error/message",
            "`message` is missing",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED","data":{"created_at":"yesterday"}}"#,
            Check::Parse,
            "/data/created_at",
            "not an RFC 3339 timestamp",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED","data":{"num_of_steps":-1}}"#,
            Check::Parse,
            "/data/num_of_steps",
            "invalid value",
        ),
        (
            r#"{"event":"run.failed","run_id":"r1","status":"FAILED","data":{"error":{"message":"m","retry_after":-2}}}"#,
            Check::Parse,
            "/data/error/retry_after",
            "non-negative",
        ),
        (
            r#"[1,2]"#,
            Check::Parse,
            "",
            "must be a JSON object, found an array",
        ),
        (
            r#"{"event":"run.failed""#,
            Check::Parse,
            "",
            "not valid JSON",
        ),
    ];
    for (body, check, pointer, words) in cases {
        let err = parse_err(body);
        assert_eq!(
            (err.check(), err.pointer()),
            (*check, *pointer),
            "{body} -> {err}"
        );
        assert!(err.to_string().contains(words), "{body} -> {err}");
    }
}

#[test]
fn duplicate_keys_are_rejected_not_silently_resolved() {
    let err = parse_err(
        r#"{"event":"run.failed","run_id":"r1","run_id":"r2","status":"FAILED","data":{}}"#,
    );
    assert_eq!(err.check(), Check::Parse);
    assert!(
        err.to_string().contains("duplicate field `run_id`"),
        "{err}"
    );
}

#[test]
fn hostile_bodies_fail_cleanly() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(parse_err(&deep), EventError::Syntax { .. }));
    let deep_in_data = format!(
        r#"{{"event":"run.completed","run_id":"r","status":"COMPLETED","data":{{"result":{{"a":{}1{}}}}}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    assert!(matches!(
        parse_err(&deep_in_data),
        EventError::Syntax { .. }
    ));
    assert!(Event::from_slice(b"\xff\xfe{}").is_err());
    assert!(Event::from_slice(b"{\"event\":\"run.\xff\"}").is_err());
    let huge =
        r#"{"event":"run.failed","run_id":"r","status":"FAILED","data":{"num_of_steps":1e999}}"#;
    assert!(Event::from_json_str(huge).is_err());
    let big_int = r#"{"event":"run.failed","run_id":"r","status":"FAILED","data":{"num_of_steps":123456789012345678901234567890}}"#;
    assert_eq!(parse_err(big_int).pointer(), "/data/num_of_steps");
    assert!(Event::from_slice(b"").is_err());
}

#[test]
fn serde_deserialize_applies_the_same_checks() {
    let ok: Event = serde_json::from_str(DOCS_COMPLETED).unwrap();
    assert_eq!(ok.name(), "run.completed");
    let err = serde_json::from_str::<Event>(
        r#"{"event":"run.completed","run_id":"r1","status":"FAILED","data":{}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("requires status"), "{err}");
}

#[test]
fn senders_build_events_from_runs_without_screenshots() {
    let mut run = Run::new(RunId::new("run-7").unwrap(), RunStatus::Completed);
    let mut step = Step::new(
        "s1",
        Timestamp::parse("2026-03-25T10:30:05Z").unwrap(),
        RunStatus::Running,
    );
    step.screenshot = Nullable::Value("data:image/jpeg;base64,/9j/4AAQ".into());
    run.steps = Some(vec![step]);
    let event = Event::from_run(run).unwrap();
    assert!(matches!(event, Event::Completed(_)));
    let json: Value = serde_json::from_slice(&event.to_vec().unwrap()).unwrap();
    assert_eq!(json["event"], "run.completed");
    assert_eq!(json["data"]["steps"][0]["screenshot"], Value::Null);
    assert!(
        !String::from_utf8(event.to_vec().unwrap())
            .unwrap()
            .contains("base64")
    );
    event.check_consistency().unwrap();
    assert_eq!(Event::from_slice(&event.to_vec().unwrap()).unwrap(), event);

    let running = Run::new(RunId::new("r").unwrap(), RunStatus::Running);
    assert_eq!(
        Event::from_run(running),
        Err(EventBuildError::NotTerminal {
            status: RunStatus::Running
        })
    );
    assert_eq!(
        Event::from_run(Run::default()),
        Err(EventBuildError::MissingRunId)
    );
}

#[test]
fn a_run_object_is_read_leniently_with_pointers_relative_to_the_run() {
    let value = serde_json::json!({
        "run_id": "r1",
        "status": "COMPLETED",
        "goal": "Extract the title",
        "created_at": "2026-03-25T10:30:00Z",
        "num_of_steps": "three",
        "steps": [{"id": "s1", "timestamp": "yesterday", "status": "COMPLETED"}]
    });
    let (run, problems) = runhook::Run::from_value_lenient(&value);
    assert_eq!(run.run_id.as_ref().map(|id| id.as_str()), Some("r1"));
    assert_eq!(run.goal.as_deref(), Some("Extract the title"));
    assert!(run.num_of_steps.is_absent());
    let pointers: Vec<_> = problems.iter().map(|p| p.pointer.as_str()).collect();
    assert!(pointers.contains(&"/num_of_steps"), "{pointers:?}");
    assert!(
        pointers.iter().any(|p| p.starts_with("/steps/0")),
        "{pointers:?}"
    );

    let (clean, none) = runhook::Run::from_value_lenient(&serde_json::json!({"run_id": "r2"}));
    assert!(none.is_empty());
    assert_eq!(clean.run_id.map(|id| id.to_string()).as_deref(), Some("r2"));

    let (empty, problems) = runhook::Run::from_value_lenient(&serde_json::json!([1]));
    assert_eq!(empty, runhook::Run::default());
    assert_eq!(problems[0].pointer, "");
}

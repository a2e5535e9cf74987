//! `receive` in lenient (default) and strict mode: drift, repeated keys, the BOM, content
//! encodings, and refusals that name their run.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use support::{json_headers, post_with};

use http::header::CONTENT_ENCODING;
use http::{HeaderValue, Method, Uri};
use runhook::receive::{Rejection, RejectionKind, RequestChecks, Verdict, receive};
use runhook::{Event, Nullable};
use serde_json::Value;

fn lenient(body: &[u8]) -> Verdict {
    post_with(body, &RequestChecks::default())
}

fn strict(body: &[u8]) -> Verdict {
    post_with(body, &RequestChecks::default().with_strict(true))
}

fn refused(verdict: Verdict) -> Rejection {
    match verdict {
        Verdict::Reject(rejection) => rejection,
        Verdict::Accept(event) => panic!("accepted {event:?}"),
    }
}

fn completed(data: &str) -> String {
    format!(r#"{{"event":"run.completed","run_id":"run-7","status":"COMPLETED","data":{data}}}"#)
}

#[test]
fn each_drift_example_is_accepted_with_its_problem_and_refused_in_strict_mode() {
    for (data, pointer) in [
        (r#"{"result":[1,2]}"#, "/data/result"),
        (r#"{"result":"done"}"#, "/data/result"),
        (r#"{"created_at":null}"#, "/data/created_at"),
        (
            r#"{"created_at":"2026-03-25 10:30:00"}"#,
            "/data/created_at",
        ),
        (r#"{"num_of_steps":3.0}"#, "/data/num_of_steps"),
        (
            r#"{"steps":[{"id":"s0","timestamp":"2026-03-25T10:30:05Z","status":"COMPLETED"},{"id":"s1","status":"COMPLETED"}]}"#,
            "/data/steps/1",
        ),
        (r#"{"error":{"category":"AGENT_FAILURE"}}"#, "/data/error"),
        (
            r#"{"browser_config":{"proxy_enabled":"no"}}"#,
            "/data/browser_config/proxy_enabled",
        ),
        (r#"{"run_id":"../x"}"#, "/data/run_id"),
        (r#"{"run_id":7}"#, "/data/run_id"),
        (r#"{"status":7}"#, "/data/status"),
    ] {
        let body = completed(data);
        let Verdict::Accept(event) = lenient(body.as_bytes()) else {
            panic!("{data}: refused in lenient mode")
        };
        let problems = event.drift_problems();
        assert!(
            problems.iter().any(|p| p.pointer == pointer),
            "{data}: {problems:?}"
        );
        assert!(problems.iter().all(|p| !p.message.is_empty()));
        // Lossless: the event serializes to the received body.
        let received: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(serde_json::to_value(&event).unwrap(), received, "{data}");
        assert_eq!(
            event.run_event().unwrap().raw_data().as_ref(),
            &received["data"]
        );
        // Strict mode: the 400 of before, naming the run.
        let rejection = refused(strict(body.as_bytes()));
        assert_eq!(rejection.status, 400, "{data}");
        assert_eq!(rejection.run_id.as_deref(), Some("run-7"), "{data}");
    }
}

#[test]
fn a_drifted_value_reads_as_absent_and_the_rest_is_typed() {
    let body = completed(
        r#"{"goal":"g","num_of_steps":"3","result":{"a":1},"steps":[
            {"id":"s0","timestamp":"yesterday","status":"COMPLETED"},
            {"id":"s1","timestamp":"2026-03-25T10:30:05Z","status":"COMPLETED"},
            {"id":2,"timestamp":"2026-03-25T10:30:06Z","status":"COMPLETED"},
            {"id":"s3","timestamp":"2026-03-25T10:30:07Z","status":"PAUSED"}]}"#,
    );
    let Verdict::Accept(Event::Completed(run)) = lenient(body.as_bytes()) else {
        panic!("refused")
    };
    assert_eq!(run.data.goal.as_deref(), Some("g"));
    assert_eq!(run.data.num_of_steps, Nullable::Absent);
    assert_eq!(run.data.result.value().unwrap()["a"], 1);
    let ids: Vec<&str> = run
        .data
        .steps
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(
        ids,
        ["s1", "s3"],
        "steps 0 and 2 are left out, the rest kept"
    );
    let pointers: Vec<&str> = run
        .drift_problems()
        .iter()
        .map(|p| p.pointer.as_str())
        .collect();
    // Pointers use the received indices, even after earlier steps were left out.
    assert_eq!(
        pointers,
        [
            "/data/num_of_steps",
            "/data/steps/0/timestamp",
            "/data/steps/0",
            "/data/steps/2/id",
            "/data/steps/2",
        ]
        .iter()
        .copied()
        .filter(|p| pointers.contains(p))
        .collect::<Vec<_>>()
    );
    for expected in ["/data/num_of_steps", "/data/steps/0", "/data/steps/2"] {
        assert!(pointers.contains(&expected), "{pointers:?}");
    }
    assert!(
        !pointers
            .iter()
            .any(|p| p.starts_with("/data/steps/1") || p.starts_with("/data/steps/3"))
    );
    let problem = &run.drift_problems()[0];
    assert_eq!(
        problem.to_string(),
        format!("{}: {}", problem.pointer, problem.message)
    );
}

#[test]
fn the_envelope_is_still_refused_in_lenient_mode() {
    for (body, kind, pointer) in [
        (completed(r#"{"run_id":"run-8"}"#), RejectionKind::InconsistentEvent, "/data/run_id"),
        (completed(r#"{"status":"PAUSED"}"#), RejectionKind::InconsistentEvent, "/data/status"),
        (completed(r#""x""#), RejectionKind::InvalidEvent, "/data"),
        (
            r#"{"event":"run.completed","run_id":"run-7","status":"FAILED","data":{"num_of_steps":"x"}}"#.to_owned(),
            RejectionKind::InconsistentEvent,
            "/status",
        ),
        (
            r#"{"event":"run.completed","run_id":"a b","status":"COMPLETED","data":{}}"#.to_owned(),
            RejectionKind::InvalidEvent,
            "/run_id",
        ),
    ] {
        let rejection = refused(lenient(body.as_bytes()));
        assert_eq!((rejection.kind, rejection.pointer.as_deref()), (kind, Some(pointer)), "{body}");
        let expected_run = (pointer != "/run_id").then_some("run-7");
        assert_eq!(rejection.run_id.as_deref(), expected_run, "{body}");
    }
    // No run id to name before the body is read.
    let rejection = refused(receive(
        &Method::GET,
        &Uri::from_static("/"),
        &json_headers(),
        completed("{}").as_bytes(),
        &RequestChecks::default(),
    ));
    assert_eq!(rejection.run_id, None);
}

#[test]
fn a_repeated_key_inside_data_is_drift_and_outside_it_a_400() {
    let body = completed(r#"{"goal":"a","goal":"b","result":{"p":1,"p":2}}"#);
    let Verdict::Accept(Event::Completed(run)) = lenient(body.as_bytes()) else {
        panic!("refused")
    };
    assert_eq!(run.data.goal, None, "no copy is picked");
    assert_eq!(
        run.data.result.value().map(|r| r.contains_key("p")),
        Some(false)
    );
    let pointers: Vec<&str> = run
        .drift_problems()
        .iter()
        .map(|p| p.pointer.as_str())
        .collect();
    assert_eq!(pointers, ["/data/goal", "/data/result/p"]);
    // Strict: a repeated known field fails the typed parse, as before.
    let rejection = refused(strict(body.as_bytes()));
    assert_eq!(rejection.status, 400);
    assert_eq!(rejection.run_id.as_deref(), Some("run-7"));
    let result_only = completed(r#"{"result":{"p":1,"p":2}}"#);
    let rejection = refused(strict(result_only.as_bytes()));
    assert_eq!(rejection.kind, RejectionKind::MalformedJson);
    assert_eq!(rejection.pointer.as_deref(), Some("/data/result"));

    let top =
        r#"{"event":"run.completed","run_id":"run-7","status":"COMPLETED","data":{},"x":1,"x":2}"#;
    let rejection = refused(lenient(top.as_bytes()));
    assert_eq!(
        (rejection.status, rejection.kind),
        (400, RejectionKind::MalformedJson)
    );
    assert!(
        rejection.reason.contains("top-level object"),
        "{}",
        rejection.reason
    );
}

#[test]
fn a_leading_byte_order_mark_is_skipped_in_both_modes() {
    let mut body = b"\xEF\xBB\xBF".to_vec();
    body.extend_from_slice(completed("{}").as_bytes());
    assert_eq!(lenient(&body).status(), 200);
    assert_eq!(strict(&body).status(), 200);
    // Only one, and only at the start.
    let mut twice = b"\xEF\xBB\xBF".to_vec();
    twice.extend_from_slice(&body);
    assert_eq!(lenient(&twice).status(), 400);
}

#[test]
fn a_compressed_body_is_415_naming_the_encoding() {
    let body = completed("{}");
    for (encoding, status) in [
        ("gzip", 415),
        ("GZip", 415),
        ("br", 415),
        ("identity", 200),
        ("IDENTITY", 200),
    ] {
        let mut headers = json_headers();
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
        let verdict = receive(
            &Method::POST,
            &Uri::from_static("/"),
            &headers,
            body.as_bytes(),
            &RequestChecks::default(),
        );
        assert_eq!(verdict.status(), status, "{encoding}");
        if let Verdict::Reject(rejection) = verdict {
            assert_eq!(rejection.kind, RejectionKind::UnsupportedContentEncoding);
            assert_eq!(rejection.kind.as_str(), "unsupported_content_encoding");
            assert!(rejection.reason.contains(encoding), "{}", rejection.reason);
        }
    }
}

#[test]
fn an_unknown_event_with_a_repeated_key_is_still_refused() {
    let body = br#"{"event":"run.started","run_id":"run-7","x":1,"x":2}"#;
    let rejection = refused(lenient(body));
    assert_eq!(rejection.kind, RejectionKind::MalformedJson);
    assert_eq!(rejection.run_id.as_deref(), Some("run-7"));
    let single = br#"{"event":"run.started","run_id":"run-7","data":[1]}"#;
    assert_eq!(lenient(single).status(), 200);
}

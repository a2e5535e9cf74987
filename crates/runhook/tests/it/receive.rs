//! `receive`: every fixture, every status code of docs/protocol.md §4.3 that it decides, hostile input.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use support::{json_headers, post, rejection, uri};

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Uri};
use proptest::prelude::*;
use runhook::receive::{
    AuthError, Authenticator, Limits, RejectionKind, RequestChecks, Verdict, receive,
};
use runhook::store::IdempotencyKey;
use runhook::{Event, KeyStrategy};

const MINIMAL: &[u8] = br#"{"event":"run.cancelled","run_id":"r1","status":"CANCELLED","data":{}}"#;

#[test]
fn methods_other_than_post_get_405_with_allow() {
    for method in [
        Method::GET,
        Method::PUT,
        Method::HEAD,
        Method::DELETE,
        Method::OPTIONS,
    ] {
        let rejection = rejection(receive(
            &method,
            &uri(),
            &json_headers(),
            MINIMAL,
            &RequestChecks::default(),
        ));
        assert_eq!(rejection.status, 405);
        assert_eq!(rejection.kind, RejectionKind::MethodNotAllowed);
        assert!(rejection.reason.contains(method.as_str()));
        let headers = rejection.headers();
        assert_eq!(headers.len(), 1);
        assert_eq!(headers[0].0, http::header::ALLOW);
        assert_eq!(headers[0].1, "POST");
    }
}

#[test]
fn content_types() {
    let cases: [(Option<&str>, u16); 8] = [
        (Some("application/json"), 200),
        (Some("application/json; charset=utf-8"), 200),
        (Some("APPLICATION/JSON;CHARSET=UTF-8"), 200),
        (Some("application/vnd.tinyfish+json"), 200),
        (Some("text/plain"), 415),
        (Some("application/x-www-form-urlencoded"), 415),
        (Some("application/json; charset=latin1"), 415),
        (None, 415),
    ];
    for (content_type, status) in cases {
        let mut headers = HeaderMap::new();
        if let Some(value) = content_type {
            headers.insert(CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        let verdict = receive(
            &Method::POST,
            &uri(),
            &headers,
            MINIMAL,
            &RequestChecks::default(),
        );
        assert_eq!(verdict.status(), status, "{content_type:?}");
    }
    let mut strict = RequestChecks::default();
    strict.accept_json_suffix = false;
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/ld+json"),
    );
    assert_eq!(
        receive(&Method::POST, &uri(), &headers, MINIMAL, &strict).status(),
        415
    );
}

#[test]
fn body_limit_is_exact() {
    let limit = Limits::DEFAULT_MAX_BODY_BYTES;
    let padded = |len: usize| {
        let head =
            br#"{"event":"run.cancelled","run_id":"r1","status":"CANCELLED","data":{},"pad":""#;
        let mut body = head.to_vec();
        body.resize(len - 2, b'x');
        body.extend_from_slice(b"\"}");
        body
    };
    assert_eq!(post(&padded(limit)).status(), 200);
    let over = rejection(post(&padded(limit + 1)));
    assert_eq!(
        (over.status, over.kind),
        (413, RejectionKind::PayloadTooLarge)
    );
    assert!(over.reason.contains("8388609 bytes"), "{}", over.reason);
    assert!(over.reason.contains("8388608"), "{}", over.reason);

    let small = RequestChecks::default().with_max_body_bytes(MINIMAL.len());
    assert_eq!(
        receive(&Method::POST, &uri(), &json_headers(), MINIMAL, &small).status(),
        200
    );
    let smaller = RequestChecks::default().with_max_body_bytes(MINIMAL.len() - 1);
    assert_eq!(
        receive(&Method::POST, &uri(), &json_headers(), MINIMAL, &smaller).status(),
        413
    );
}

#[test]
fn the_order_of_checks_is_method_size_auth_type_body() {
    #[derive(Debug)]
    struct Refuse;
    impl Authenticator for Refuse {
        fn verify(&self, _: &Uri, _: &HeaderMap, _: &[u8]) -> Result<(), AuthError> {
            Err(AuthError::Invalid {
                reason: "no".into(),
            })
        }
    }
    let config = RequestChecks::default()
        .with_max_body_bytes(10)
        .with_authenticator(Refuse);
    let none = HeaderMap::new();
    let big = [b'x'; 11];
    assert_eq!(
        receive(&Method::GET, &uri(), &none, &big, &config).status(),
        405
    );
    assert_eq!(
        receive(&Method::POST, &uri(), &none, &big, &config).status(),
        413
    );
    assert_eq!(
        receive(&Method::POST, &uri(), &none, b"x", &config).status(),
        401
    );
    let open = RequestChecks::default().with_max_body_bytes(10);
    assert_eq!(
        receive(&Method::POST, &uri(), &none, b"x", &open).status(),
        415
    );
    assert_eq!(
        receive(&Method::POST, &uri(), &json_headers(), b"x", &open).status(),
        400
    );
}

#[test]
fn authentication_failure_is_401_with_the_reason() {
    #[derive(Debug)]
    struct Token;
    impl Authenticator for Token {
        fn verify(&self, _: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError> {
            assert!(!body.is_empty(), "the raw body is passed in");
            match headers.get("x-token") {
                None => Err(AuthError::MissingHeader {
                    header: "x-token".into(),
                }),
                Some(v) if v == "secret" => Ok(()),
                Some(_) => Err(AuthError::Invalid {
                    reason: "wrong token".into(),
                }),
            }
        }
    }
    let config = RequestChecks::default().with_authenticator(Token);
    let mut headers = json_headers();
    let missing = rejection(receive(&Method::POST, &uri(), &headers, MINIMAL, &config));
    assert_eq!(
        (missing.status, missing.kind),
        (401, RejectionKind::Unauthenticated)
    );
    assert!(missing.reason.contains("x-token"), "{}", missing.reason);
    headers.insert("x-token", HeaderValue::from_static("guess"));
    assert!(
        rejection(receive(&Method::POST, &uri(), &headers, MINIMAL, &config))
            .reason
            .contains("wrong token")
    );
    headers.insert("x-token", HeaderValue::from_static("secret"));
    assert_eq!(
        receive(&Method::POST, &uri(), &headers, MINIMAL, &config).status(),
        200
    );
}

#[test]
fn malformed_bodies_are_400_with_a_reason() {
    let deep = format!(
        r#"{{"event":"run.completed","run_id":"r","status":"COMPLETED","data":{{"result":{{"k":{}{}}}}}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let huge = br#"{"event":"run.completed","run_id":"r","status":"COMPLETED","data":{"result":{"n":1e400}}}"#;
    let cases: Vec<(&str, Vec<u8>, RejectionKind, &str)> = vec![
        ("empty", b"".to_vec(), RejectionKind::MalformedJson, "EOF"),
        ("not json", b"hello".to_vec(), RejectionKind::MalformedJson, "not valid JSON"),
        ("truncated", MINIMAL[..20].to_vec(), RejectionKind::MalformedJson, "EOF"),
        ("trailing", [MINIMAL, b"{}"].concat(), RejectionKind::MalformedJson, "trailing"),
        // A leading byte order mark is skipped (tests/receive_drift.rs); a second one is not.
        ("two boms", [&b"\xEF\xBB\xBF\xEF\xBB\xBF"[..], MINIMAL].concat(), RejectionKind::MalformedJson, "JSON"),
        (
            "invalid utf-8",
            b"{\"event\":\"run.cancelled\",\"run_id\":\"r1\",\"status\":\"CANCELLED\",\"data\":{},\"x\":\"\xff\"}".to_vec(),
            RejectionKind::MalformedJson,
            "",
        ),
        ("deep nesting", deep.into_bytes(), RejectionKind::MalformedJson, "recursion limit"),
        ("huge number", huge.to_vec(), RejectionKind::MalformedJson, "number out of range"),
        ("array", b"[]".to_vec(), RejectionKind::InvalidEvent, "JSON object"),
        ("null", b"null".to_vec(), RejectionKind::InvalidEvent, "JSON object"),
        (
            "run_id traversal",
            br#"{"event":"run.completed","run_id":"../../etc/passwd","status":"COMPLETED","data":{}}"#.to_vec(),
            RejectionKind::InvalidEvent,
            "'.'",
        ),
        (
            "duplicate known field",
            br#"{"event":"run.completed","run_id":"a","run_id":"b","status":"COMPLETED","data":{}}"#.to_vec(),
            RejectionKind::MalformedJson,
            "the key \"run_id\" appears twice in the top-level object",
        ),
        (
            "duplicate unknown field",
            br#"{"event":"run.completed","run_id":"a","status":"COMPLETED","data":{},"x":1,"x":2}"#.to_vec(),
            RejectionKind::MalformedJson,
            "the key \"x\" appears twice in the top-level object",
        ),
        (
            "envelope mismatch",
            br#"{"event":"run.completed","run_id":"a","status":"FAILED","data":{}}"#.to_vec(),
            RejectionKind::InconsistentEvent,
            "requires status",
        ),
    ];
    for (name, body, kind, needle) in cases {
        let rejection = rejection(post(&body));
        assert_eq!(
            (rejection.status, rejection.kind),
            (400, kind),
            "{name}: {rejection:?}"
        );
        assert!(
            rejection.reason.contains(needle),
            "{name}: {}",
            rejection.reason
        );
        assert!(rejection.pointer.is_some(), "{name}");
    }
    // The UTF-8 check names the offset of the bad byte.
    let mut body = MINIMAL.to_vec();
    body[45] = 0xff;
    assert!(rejection(post(&body)).reason.contains("offset 45"));
}

#[test]
fn repeated_keys_can_be_allowed() {
    let mut config = RequestChecks::default();
    config.reject_duplicate_keys = false;
    let body = br#"{"event":"run.completed","run_id":"a","status":"COMPLETED","data":{"result":{"p":1,"p":2}}}"#;
    let Verdict::Accept(Event::Completed(run)) =
        receive(&Method::POST, &uri(), &json_headers(), body, &config)
    else {
        panic!("rejected")
    };
    assert_eq!(run.data.result.value().unwrap()["p"], 2);
}

#[test]
fn unknown_events_are_accepted_and_keyed_apart_from_terminal_ones() {
    let started = br#"{"event":"run.started","run_id":"r1","anything":[1,2]}"#;
    let Verdict::Accept(event) = post(started) else {
        panic!("rejected")
    };
    assert!(matches!(event, Event::Unknown(_)));
    assert_eq!(
        KeyStrategy::RunId.key(&event),
        Some(IdempotencyKey::new("r1:run.started"))
    );
    let Verdict::Accept(no_id) = post(br#"{"event":"run.paused","data":[]}"#) else {
        panic!("rejected")
    };
    assert_eq!(KeyStrategy::RunId.key(&no_id), None);
    let Verdict::Accept(bad_id) = post(br#"{"event":"run.paused","run_id":"../x"}"#) else {
        panic!("rejected")
    };
    assert_eq!(KeyStrategy::RunId.key(&bad_id), None);

    let Verdict::Accept(cancelled) = post(MINIMAL) else {
        panic!("rejected")
    };
    assert_eq!(KeyStrategy::RunId.key(&cancelled), Some("r1".into()));
    assert_eq!(
        KeyStrategy::RunIdAndEvent.key(&cancelled),
        Some("r1:run.cancelled".into())
    );
    let custom =
        KeyStrategy::custom(|event| event.run_id().map(|id| format!("t1/{id}").as_str().into()));
    assert_eq!(custom.key(&cancelled), Some("t1/r1".into()));
}

#[test]
fn a_content_length_header_is_not_trusted() {
    let mut headers = json_headers();
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("999999999"));
    assert_eq!(
        receive(
            &Method::POST,
            &uri(),
            &headers,
            MINIMAL,
            &RequestChecks::default()
        )
        .status(),
        200
    );
}

proptest! {
    #[test]
    fn never_panics_on_any_bytes(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let verdict = post(&body);
        prop_assert!([200, 400].contains(&verdict.status()));
    }

    #[test]
    fn never_panics_on_any_content_type(value in prop::collection::vec(32u8..127, 0..64)) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_bytes(&value) {
            headers.insert(CONTENT_TYPE, value);
        }
        let verdict = receive(&Method::POST, &uri(), &headers, MINIMAL, &RequestChecks::default());
        prop_assert!([200, 415].contains(&verdict.status()));
    }

    #[test]
    fn mutated_valid_bodies_never_panic(index in 0usize..MINIMAL.len(), byte in any::<u8>()) {
        let mut body = MINIMAL.to_vec();
        body[index] = byte;
        let verdict = post(&body);
        prop_assert!([200, 400].contains(&verdict.status()));
        if let Verdict::Reject(rejection) = verdict {
            prop_assert!(!rejection.reason.is_empty());
        }
    }
}

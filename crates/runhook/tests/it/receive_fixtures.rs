//! `receive` on every fixture, in lenient (default) and strict mode.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use support::{json_headers, post, rejection, uri};

use std::fs;
use std::path::PathBuf;

use http::Method;
use runhook::Event;
use runhook::receive::{RejectionKind, RequestChecks, receive};
use serde_json::Value;

fn fixtures(folder: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(folder);
    let mut files: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    files
        .into_iter()
        .map(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, fs::read(path).unwrap())
        })
        .collect()
}

#[test]
fn every_valid_fixture_is_accepted_as_is() {
    for (name, body) in fixtures("valid") {
        let verdict = post(&body);
        assert_eq!(verdict.status(), 200, "{name}: {verdict:?}");
        assert_eq!(
            verdict.into_result().unwrap(),
            Event::from_slice(&body).unwrap()
        );
    }
}

#[test]
fn every_invalid_fixture_gets_the_status_and_pointer_of_the_runtime_check() {
    let strict = RequestChecks::default().with_strict(true);
    for (name, file) in fixtures("invalid") {
        let fixture: Value = serde_json::from_slice(&file).unwrap();
        let body = serde_json::to_vec(&fixture["payload"]).unwrap();
        let checks: Vec<&str> = fixture["rejected_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let lenient = post(&body);
        let expected_kind = if checks.contains(&"consistency") {
            RejectionKind::InconsistentEvent
        } else {
            RejectionKind::InvalidEvent
        };
        match fixture["at_run_time"]["lenient"].as_str().unwrap() {
            "accept" => {
                let event = lenient.into_result().unwrap();
                // Drift is reported where the fixture says (or at the object missing a field).
                if let Some(pointer) = fixture["pointer"].as_str() {
                    let expected = if fixture["payload"].pointer(pointer).is_some() {
                        pointer
                    } else {
                        &pointer[..pointer.rfind('/').unwrap()]
                    };
                    assert!(
                        event.drift_problems().iter().any(|p| p.pointer == expected),
                        "{name}: {:?}",
                        event.drift_problems()
                    );
                    // Nothing is lost: the event serializes to the received document.
                    assert_eq!(
                        serde_json::to_value(&event).unwrap(),
                        fixture["payload"],
                        "{name}"
                    );
                } else {
                    assert!(event.drift_problems().is_empty(), "{name}");
                }
            }
            _ => {
                let rejection = rejection(lenient);
                assert_eq!(rejection.status, 400, "{name}");
                assert_eq!(
                    rejection.pointer.as_deref(),
                    fixture["pointer"].as_str(),
                    "{name}"
                );
                assert_eq!(
                    rejection.kind, expected_kind,
                    "{name}: {}",
                    rejection.reason
                );
            }
        }
        let strict_verdict = receive(&Method::POST, &uri(), &json_headers(), &body, &strict);
        if checks == ["schema"] {
            // Deliberately kept by the runtime (unknown enum values, unknown events).
            assert_eq!(strict_verdict.status(), 200, "{name}");
            continue;
        }
        let rejection = rejection(strict_verdict);
        assert_eq!(rejection.status, 400, "{name}");
        assert_eq!(
            rejection.pointer.as_deref(),
            fixture["pointer"].as_str(),
            "{name}"
        );
        assert_eq!(
            rejection.kind, expected_kind,
            "{name}: {}",
            rejection.reason
        );
        // A refusal names its run when the envelope's run_id is valid.
        let run_id = fixture["payload"]["run_id"]
            .as_str()
            .filter(|id| runhook::RunId::validate(id).is_ok());
        assert_eq!(rejection.run_id.as_deref(), run_id, "{name}");
    }
}

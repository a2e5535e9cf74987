//! The run-time check of an invalid fixture: what `runhook::receive` answers, lenient and strict.

use std::path::Path;

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Uri};
use runhook::receive::{RequestChecks, Verdict, receive};
use serde_json::Value;

use crate::fixtures::{InvalidFixture, RunTimeVerdict};
use crate::report::Report;

/// Posts the fixture's payload to `receive` in both modes and compares with `at_run_time`.
///
/// A lenient accept of a fixture with a `pointer` must report a drift problem there (or, when
/// the pointer names a missing field, at the object that lacks it, which is what is left out); a
/// lenient accept of a fixture without a `pointer` must report none.
pub fn check_at_run_time(file: &Path, fixture: &InvalidFixture, body: &[u8], report: &mut Report) {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let uri = Uri::from_static("/webhooks/tinyfish");
    let lenient_config = RequestChecks::default();
    let strict_config = RequestChecks::default().with_strict(true);
    let lenient = receive(&Method::POST, &uri, &headers, body, &lenient_config);
    let strict = receive(&Method::POST, &uri, &headers, body, &strict_config);
    for (mode, declared, verdict) in [
        ("lenient", fixture.at_run_time.lenient, &lenient),
        ("strict", fixture.at_run_time.strict, &strict),
    ] {
        let actual = match verdict {
            Verdict::Accept(_) => RunTimeVerdict::Accept,
            Verdict::Reject(_) => RunTimeVerdict::Reject,
        };
        if actual != declared {
            let detail = match verdict {
                Verdict::Reject(rejection) => format!(": {rejection}"),
                Verdict::Accept(event) => {
                    let problems: Vec<String> = event
                        .drift_problems()
                        .iter()
                        .map(ToString::to_string)
                        .collect();
                    format!(" (drift: [{}])", problems.join("; "))
                }
            };
            report.problem(
                file,
                format!("/at_run_time/{mode}"),
                format!(
                    "declared {mode} {:?} but receive ({mode}) does {:?}{detail}",
                    declared.as_str(),
                    actual.as_str()
                ),
            );
        }
    }
    let Verdict::Accept(event) = &lenient else {
        return;
    };
    let problems = event.drift_problems();
    match &fixture.pointer {
        Some(pointer) => {
            let expected = drift_pointer(&fixture.payload, pointer);
            if !problems.iter().any(|p| p.pointer == expected) {
                let found: Vec<&str> = problems.iter().map(|p| p.pointer.as_str()).collect();
                report.problem(
                    file,
                    "/pointer",
                    format!(
                        "receive (lenient) accepted the payload but reported no drift problem at \
                         {expected:?} (it reported {found:?})"
                    ),
                );
            }
        }
        None if !problems.is_empty() => {
            let found: Vec<String> = problems.iter().map(ToString::to_string).collect();
            report.problem(
                file,
                "/at_run_time/lenient",
                format!(
                    "receive (lenient) reported drift but the fixture has no pointer: {}",
                    found.join("; ")
                ),
            );
        }
        None => {}
    }
}

/// Where the lenient parse reports the defect at `pointer`: there if it resolves in the payload,
/// else (a missing field) at its parent, the value that is left out.
fn drift_pointer(payload: &Value, pointer: &str) -> String {
    if payload.pointer(pointer).is_some() {
        return pointer.to_owned();
    }
    pointer
        .rsplit_once('/')
        .map_or_else(String::new, |(parent, _)| parent.to_owned())
}

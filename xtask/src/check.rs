//! The fixture checks behind `cargo xtask check`.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use runhook::{Check, Event};
use runhook_schema::SchemaValidator;
use serde_json::Value;

use crate::fixtures::{CheckName, InvalidFixture, json_files};
use crate::json_diff::first_difference;
use crate::report::Report;

/// Runs every check on the repository at `root` and reports everything found.
pub fn check(root: &Path) -> Report {
    let mut report = Report::default();
    crate::copies::check_copies(root, &mut report);
    report.retry_vectors = crate::vectors::check_retry(root, &mut report);
    report.inbox_vectors = crate::vectors::check_inbox(root, &mut report);
    let Some(schema) = load_schema(root, &mut report) else {
        return report;
    };
    check_valid(root, &schema, &mut report);
    check_invalid(root, &schema, &mut report);
    report
}

fn load_schema(root: &Path, report: &mut Report) -> Option<SchemaValidator> {
    let read = |name: &str, report: &mut Report| {
        let rel = Path::new("docs/schema").join(name);
        let text = fs::read_to_string(root.join(&rel))
            .map_err(|e| report.problem(&rel, "", format!("cannot read the schema: {e}")))
            .ok()?;
        serde_json::from_str::<Value>(&text)
            .map_err(|e| report.problem(&rel, "", format!("the schema is not JSON: {e}")))
            .ok()
    };
    let webhook = read("webhook.schema.json", report)?;
    let run = read("run.schema.json", report)?;
    SchemaValidator::from_documents(&webhook, &run)
        .map_err(|e| report.problem("docs/schema", "", e.to_string()))
        .ok()
}

/// Lists the fixtures in `dir` (relative to `root`), reporting a missing or empty folder.
fn list(root: &Path, dir: &str, report: &mut Report) -> Vec<std::path::PathBuf> {
    match json_files(&root.join(dir)) {
        Ok(files) if !files.is_empty() => files,
        Ok(_) => {
            report.problem(
                dir,
                "",
                "no fixtures found: a check over nothing proves nothing",
            );
            Vec::new()
        }
        Err(e) => {
            report.problem(dir, "", format!("cannot list fixtures: {e}"));
            Vec::new()
        }
    }
}

fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

/// Valid fixtures: schema-valid, parse with the core types, consistent, and lossless.
fn check_valid(root: &Path, schema: &SchemaValidator, report: &mut Report) {
    for path in list(root, "fixtures/valid", report) {
        report.valid_fixtures += 1;
        let file = relative(root, &path);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) => {
                report.problem(file, "", format!("cannot read: {e}"));
                continue;
            }
        };
        let original: Value = match serde_json::from_slice(&bytes) {
            Ok(value) => value,
            Err(e) => {
                report.problem(file, "", format!("not JSON: {e}"));
                continue;
            }
        };
        for violation in schema.validate_webhook(&original) {
            report.problem(
                file,
                violation.pointer,
                format!("schema: {}", violation.message),
            );
        }
        let event = match Event::from_slice(&bytes) {
            Ok(event) => event,
            Err(e) => {
                report.problem(
                    file,
                    e.pointer(),
                    format!("{} check: {e}", e.check().as_str()),
                );
                continue;
            }
        };
        if let Event::Unknown(unknown) = &event {
            report.problem(
                file,
                "/event",
                format!(
                    "{:?} is not a documented event; move it to fixtures/invalid",
                    unknown.event
                ),
            );
        }
        let round_trip = serde_json::to_value(&event).unwrap_or(Value::Null);
        if let Some(pointer) = first_difference(&original, &round_trip) {
            report.problem(
                file,
                pointer,
                "round trip: parsing then serializing changed the document here",
            );
        }
    }
}

/// Invalid fixtures: rejected by exactly the checks they name, at the pointer they name.
fn check_invalid(root: &Path, schema: &SchemaValidator, report: &mut Report) {
    for path in list(root, "fixtures/invalid", report) {
        report.invalid_fixtures += 1;
        let file = relative(root, &path);
        let fixture: InvalidFixture = match fs::read(&path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| serde_json::from_slice(&bytes).map_err(|e| e.to_string()))
        {
            Ok(fixture) => fixture,
            Err(e) => {
                report.problem(
                    file,
                    "",
                    format!(
                        "not an invalid-fixture wrapper {{why, rejected_by, pointer?, \
                         at_run_time, payload}}: {e}"
                    ),
                );
                continue;
            }
        };
        if fixture.why.trim().is_empty() {
            report.problem(file, "/why", "say why the payload is invalid");
        }
        let mut actual = BTreeSet::new();
        if !schema.validate_webhook(&fixture.payload).is_empty() {
            actual.insert(CheckName::Schema);
        }
        let body = serde_json::to_vec(&fixture.payload).unwrap_or_default();
        let runtime_error = Event::from_slice(&body).err();
        if let Some(err) = &runtime_error {
            actual.insert(match err.check() {
                Check::Consistency => CheckName::Consistency,
                _ => CheckName::Parse,
            });
        }
        if actual != fixture.rejected_by {
            report.problem(
                file,
                "/rejected_by",
                format!(
                    "declared rejected_by {} but it is rejected by {}{}",
                    names(&fixture.rejected_by),
                    names(&actual),
                    runtime_error
                        .as_ref()
                        .map(|e| format!(" (runtime: {e})"))
                        .unwrap_or_default()
                ),
            );
        }
        match (&runtime_error, &fixture.pointer) {
            (Some(err), Some(pointer)) if err.pointer() != pointer => report.problem(
                file,
                "/pointer",
                format!(
                    "the runtime check points at {:?}, the fixture says {pointer:?} ({err})",
                    err.pointer()
                ),
            ),
            (Some(err), None) => report.problem(
                file,
                "/pointer",
                format!(
                    "add \"pointer\": {:?} (where the runtime check points)",
                    err.pointer()
                ),
            ),
            (None, Some(_)) => report.problem(
                file,
                "/pointer",
                "a pointer is given but no runtime check rejects the payload",
            ),
            _ => {}
        }
        crate::run_time::check_at_run_time(file, &fixture, &body, report);
    }
}

fn names(set: &BTreeSet<CheckName>) -> String {
    if set.is_empty() {
        return "nothing".to_owned();
    }
    let list: Vec<_> = set.iter().map(|c| c.as_str()).collect();
    format!("[{}]", list.join(", "))
}

//! What `runhook listen` prints: one line per delivery, as text or JSON.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use runhook::{DriftProblem, Event, ReceiveOutcome};
use runhook_receiver::Report;
use serde::Serialize;
use serde_json::Value;

/// Result summaries written by the handler, read by the observer, keyed by run id and event.
pub(crate) type Summaries = Arc<Mutex<HashMap<(Option<String>, String), String>>>;

/// One `--json` line.
#[derive(Serialize)]
struct Line<'a> {
    /// `accepted`, `duplicate` (already processed), `in_flight` (being processed by another
    /// delivery: 503) or `rejected` (anything else).
    kind: &'static str,
    /// The receiver's precise outcome (`accepted`, `in_flight`, `invalid`, ...).
    outcome: &'static str,
    status: u16,
    run_id: Option<&'a str>,
    event: Option<&'a str>,
    reason: &'a str,
    /// For an accepted event: its result, error or cancellation in a few words.
    summary: Option<&'a str>,
    /// Whether this reports a handler that finished after the deadline's 503 went out.
    late: bool,
    /// For an accepted event, the fields inside `data` that did not match their documented
    /// type, with their JSON pointers (empty for most).
    drift: &'a [DriftProblem],
}

/// A few words on what the event carries.
pub(crate) fn summarize(event: &Event) -> String {
    match event {
        Event::Completed(run) => match run.data.result.value() {
            Some(result) => format!("result {}", shorten(&Value::Object(result.clone()))),
            None => "no result".to_owned(),
        },
        Event::Failed(run) => match run.data.error.value() {
            Some(error) => match error.category.value() {
                Some(category) => format!("error {category}: {}", error.message),
                None => format!("error: {}", error.message),
            },
            None => "no error object".to_owned(),
        },
        Event::Cancelled(_) => "cancelled".to_owned(),
        other => format!("an event type runhook does not know: {}", other.name()),
    }
}

/// Compact JSON, cut at 120 characters.
fn shorten(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Prints the line for one report (and the summary of an accepted event).
pub(crate) fn print(report: &Report, summaries: &Summaries, json: bool) {
    let kind = kind(report.outcome);
    let summary = match (report.outcome, &report.event) {
        (ReceiveOutcome::Accepted, Some(event)) => summaries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(report.run_id.clone(), event.clone())),
        _ => None,
    };
    let line = if json {
        let line = Line {
            kind,
            outcome: report.outcome.as_str(),
            status: report.status,
            run_id: report.run_id.as_deref(),
            event: report.event.as_deref(),
            reason: &report.reason,
            summary: summary.as_deref(),
            late: report.late,
            drift: &report.drift,
        };
        serde_json::to_string(&line).unwrap_or_default()
    } else {
        let mut line = format!("{kind:<9} {}", report.status);
        if let Some(event) = &report.event {
            line.push_str(&format!(" {event}"));
        }
        if let Some(run_id) = &report.run_id {
            line.push_str(&format!(" run {run_id}"));
        }
        line.push_str(": ");
        line.push_str(summary.as_deref().unwrap_or(&report.reason));
        if report.late {
            line.push_str(" (finished after the deadline)");
        }
        if !report.drift.is_empty() {
            let pointers: Vec<&str> = report
                .drift
                .iter()
                .map(|problem| problem.pointer.as_str())
                .collect();
            line.push_str(&format!(" (drift: {})", pointers.join(", ")));
        }
        line
    };
    emit(&line);
}

/// Writes one line to stdout and flushes it. A closed stdout is not an error for the server.
pub(crate) fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The line's first word: `accepted`, `duplicate` (already processed), `in_flight` (being
/// processed by another delivery, 503) or `rejected`.
fn kind(outcome: ReceiveOutcome) -> &'static str {
    match outcome {
        ReceiveOutcome::Accepted => "accepted",
        ReceiveOutcome::Duplicate => "duplicate",
        ReceiveOutcome::InFlight => "in_flight",
        _ => "rejected",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_in_flight_duplicate_is_labelled_in_flight() {
        assert_eq!(kind(ReceiveOutcome::InFlight), "in_flight");
        assert_eq!(kind(ReceiveOutcome::Duplicate), "duplicate");
        assert_eq!(kind(ReceiveOutcome::Accepted), "accepted");
        assert_eq!(kind(ReceiveOutcome::Retry), "rejected");
    }

    #[test]
    fn summaries_name_the_result_or_the_error() {
        let completed = Event::from_slice(
            br#"{"event":"run.completed","run_id":"r1","status":"COMPLETED",
                 "data":{"result":{"product_name":"Example Product","price":29.99}}}"#,
        )
        .unwrap();
        let summary = summarize(&completed);
        assert!(summary.starts_with("result {"), "{summary}");
        assert!(
            summary.contains(r#""product_name":"Example Product""#),
            "{summary}"
        );
        assert!(summary.contains(r#""price":29.99"#), "{summary}");
        let failed = Event::from_slice(
            br#"{"event":"run.failed","run_id":"r2","status":"FAILED","data":{"result":null,
                 "error":{"message":"Site blocked access","category":"AGENT_FAILURE"}}}"#,
        )
        .unwrap();
        assert_eq!(
            summarize(&failed),
            "error AGENT_FAILURE: Site blocked access"
        );
        let long = Value::String("x".repeat(500));
        assert_eq!(shorten(&long).chars().count(), 121);
    }
}

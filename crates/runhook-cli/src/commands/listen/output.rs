//! What `runhook listen` prints: the listening line, then one line per request (a delivery,
//! an injected failure, a request to another path), as text or JSON.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use runhook::endpoint::redact_url;
use runhook::{DriftProblem, Event, ReceiveOutcome};
use runhook_receiver::Report;
use serde::Serialize;
use serde_json::Value;

use crate::out::{FLUSH_TIMEOUT, Printer};

/// Result summaries written by the handler, read by the observer, keyed by run id and event.
pub(crate) type Summaries = Arc<Mutex<HashMap<(Option<String>, String), String>>>;

/// One `--json` line.
#[derive(Serialize)]
struct Line<'a> {
    /// `accepted`, `duplicate` (already processed), `in_flight` (being processed by another
    /// delivery: 503), `injected` (answered on purpose by --respond, --fail-first or
    /// --fail-rate) or `rejected` (anything else).
    kind: &'static str,
    /// The receiver's precise outcome (`accepted`, `in_flight`, `invalid`, ...; `injected`).
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
    /// How the event arrived: `webhook`, or `reconciler` (recovered by a sweep).
    source: &'static str,
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

/// Where listen's lines go: stdout, as text or JSON Lines, written off the request path by a
/// [`Printer`]. When a line cannot be written (the reader has gone: `runhook listen | head -1`),
/// every later line is dropped and [`closed`](Self::closed) completes, so that the server stops.
#[derive(Debug)]
pub(crate) struct Lines {
    /// JSON Lines instead of text.
    json: bool,
    /// The writer of the lines.
    printer: Printer,
}

/// The `--json` line of a request to another path than the webhook's.
#[derive(Serialize)]
struct NotFoundLine<'a> {
    kind: &'static str,
    status: u16,
    method: &'a str,
    path: &'a str,
    expected: &'a str,
}

impl Lines {
    /// Lines as JSON (`json`) or text.
    pub(crate) fn new(json: bool) -> Arc<Lines> {
        Arc::new(Lines {
            json,
            printer: Printer::stdout(),
        })
    }

    /// Whether a line could not be written.
    pub(crate) fn is_gone(&self) -> bool {
        self.printer.is_gone()
    }

    /// Completes once a line could not be written.
    pub(crate) async fn closed(&self) {
        self.printer.closed().await;
    }

    /// Whether lines are JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Queues one line for stdout; dropped if the reader has gone.
    pub(crate) fn emit(&self, line: String) {
        self.printer.print(line);
    }

    /// Waits (at most [`FLUSH_TIMEOUT`]) until every line so far is on stdout: called outside
    /// the async runtime, before the process exits.
    pub(crate) fn flush(&self) {
        self.printer.flush(FLUSH_TIMEOUT);
    }

    /// The first line: `listening on URL`, or `{"kind":"listening","url":URL}`.
    pub(crate) fn listening(&self, url: &str) {
        let line = if self.json {
            serde_json::json!({ "kind": "listening", "url": url }).to_string()
        } else {
            format!("listening on {url}")
        };
        self.emit(line);
    }

    /// A request to `path`, which is not the webhook path `expected`: answered 404. The path
    /// is printed without the segments that look like tokens (a token put in the path of a
    /// wrong URL shows as `***`).
    pub(crate) fn not_found(&self, method: &str, path: &str, expected: &str) {
        let path = redact_url(path);
        let path = path.as_str();
        let line = if self.json {
            let line = NotFoundLine {
                kind: "not_found",
                status: 404,
                method,
                path,
                expected,
            };
            serde_json::to_string(&line).unwrap_or_default()
        } else {
            format!(
                "rejected  404 {method} {path}: not the webhook path; deliveries go to {expected}"
            )
        };
        self.emit(line);
    }

    /// A delivery answered `status` on purpose (--respond, --fail-first, --fail-rate).
    pub(crate) fn injected(
        &self,
        status: u16,
        event: Option<&str>,
        run_id: Option<&str>,
        reason: &str,
    ) {
        let fields = Fields {
            kind: "injected",
            outcome: "injected",
            status,
            event,
            run_id,
            reason,
            summary: None,
            late: false,
            drift: &[],
            source: runhook::Source::Webhook.as_str(),
        };
        self.emit(self.format(&fields));
    }

    /// The line for one report of the receiver (and the summary of an accepted event).
    pub(crate) fn report(&self, report: &Report, summaries: &Summaries) {
        let summary = match (report.outcome, &report.event) {
            (ReceiveOutcome::Accepted, Some(event)) => summaries
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&(report.run_id.clone(), event.clone())),
            _ => None,
        };
        let fields = Fields {
            kind: kind(report.outcome),
            outcome: report.outcome.as_str(),
            status: report.status,
            event: report.event.as_deref(),
            run_id: report.run_id.as_deref(),
            reason: &report.reason,
            summary: summary.as_deref(),
            late: report.late,
            drift: &report.drift,
            source: report.source.as_str(),
        };
        self.emit(self.format(&fields));
    }

    /// A delivery line, as JSON or text.
    fn format(&self, fields: &Fields<'_>) -> String {
        if self.json {
            let line = Line {
                kind: fields.kind,
                outcome: fields.outcome,
                status: fields.status,
                run_id: fields.run_id,
                event: fields.event,
                reason: fields.reason,
                summary: fields.summary,
                late: fields.late,
                drift: fields.drift,
                source: fields.source,
            };
            return serde_json::to_string(&line).unwrap_or_default();
        }
        let mut line = format!("{:<9} {}", fields.kind, fields.status);
        if let Some(event) = fields.event {
            line.push_str(&format!(" {event}"));
        }
        if let Some(run_id) = fields.run_id {
            line.push_str(&format!(" run {run_id}"));
        }
        line.push_str(": ");
        line.push_str(fields.summary.unwrap_or(fields.reason));
        if fields.late {
            line.push_str(" (finished after the deadline)");
        }
        if fields.source == runhook::Source::Reconciler.as_str() {
            line.push_str(" (recovered by the reconciler)");
        }
        if !fields.drift.is_empty() {
            let pointers: Vec<&str> = fields
                .drift
                .iter()
                .map(|problem| problem.pointer.as_str())
                .collect();
            line.push_str(&format!(" (drift: {})", pointers.join(", ")));
        }
        line
    }
}

/// What a delivery line says, whoever answered.
struct Fields<'a> {
    kind: &'static str,
    outcome: &'static str,
    status: u16,
    event: Option<&'a str>,
    run_id: Option<&'a str>,
    reason: &'a str,
    summary: Option<&'a str>,
    late: bool,
    drift: &'a [DriftProblem],
    source: &'static str,
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

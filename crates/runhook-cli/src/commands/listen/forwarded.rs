//! The relay's line for each forward attempt: `forwarded`, `forward_failed` or `dead`, as text
//! or JSON; no `forward_failed` line while the target is down (see [`super::target`]).

use runhook_receiver::inbox::{InboxOutcome, InboxReport};
use serde::Serialize;

use super::output::Lines;
use crate::timefmt::rfc3339;

/// One `--json` line of a forward attempt.
#[derive(Debug, Serialize, PartialEq)]
struct AttemptLine<'a> {
    /// `forwarded` (the app answered 2xx: the row is done), `forward_failed` (to be tried
    /// again) or `dead` (given up: the app refused it, or the policy ran out).
    kind: &'static str,
    key: &'a str,
    run_id: Option<&'a str>,
    event: &'a str,
    attempt: u32,
    /// The app's status, if it answered.
    status: Option<u16>,
    error: Option<String>,
    /// When the next attempt is due (RFC 3339), for `forward_failed` with a next attempt.
    next_at: Option<String>,
    elapsed_ms: u64,
}

impl<'a> AttemptLine<'a> {
    /// The line of `report` (its status is the app's, if it answered).
    fn of(report: &'a InboxReport) -> AttemptLine<'a> {
        let (kind, error, next_at) = match &report.outcome {
            InboxOutcome::Done => ("forwarded", None, None),
            InboxOutcome::Retry { at, error } => {
                ("forward_failed", Some(error.clone()), Some(rfc3339(*at)))
            }
            InboxOutcome::Dead { error } => ("dead", Some(error.clone()), None),
            InboxOutcome::NotHeld => (
                "forward_failed",
                Some(
                    "the row's lease ran out and another worker took it; this attempt's result \
                     was not recorded"
                        .to_owned(),
                ),
                None,
            ),
            other => (
                "forward_failed",
                Some(other.error().map_or_else(
                    || format!("the attempt ended {other}"),
                    |error| format!("{error}; the row is tried again once its lease runs out"),
                )),
                None,
            ),
        };
        AttemptLine {
            kind,
            key: report.key.as_str(),
            run_id: report.run_id.as_deref(),
            event: &report.event,
            attempt: report.attempt,
            status: report.status,
            error,
            next_at,
            elapsed_ms: u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// The text form: kind, status, event, run, attempt, time, then what went wrong.
    fn text(&self) -> String {
        let status = self
            .status
            .map_or_else(|| "---".to_owned(), |status| status.to_string());
        let mut line = format!("{:<14} {status} {}", self.kind, self.event);
        if let Some(run_id) = self.run_id {
            line.push_str(&format!(" run {run_id}"));
        }
        line.push_str(&format!(
            " (attempt {}, {} ms)",
            self.attempt, self.elapsed_ms
        ));
        if let Some(error) = &self.error {
            line.push_str(&format!(": {error}"));
        }
        if let Some(next_at) = &self.next_at {
            line.push_str(&format!("; next attempt at {next_at}"));
        }
        if self.kind == "dead" {
            line.push_str(&format!(
                "; replay it with `runhook inbox replay {}`",
                self.key
            ));
        }
        line
    }
}

impl Lines {
    /// The line of one forward attempt; none for a failed attempt to be retried while the
    /// target is down (`target_down`: its `target_down` line said so once).
    pub(crate) fn attempt(&self, report: &InboxReport, target_down: bool) {
        if target_down && matches!(report.outcome, InboxOutcome::Retry { .. }) {
            return;
        }
        let line = AttemptLine::of(report);
        let text = if self.is_json() {
            serde_json::to_string(&line).unwrap_or_default()
        } else {
            line.text()
        };
        self.emit(text);
    }
}

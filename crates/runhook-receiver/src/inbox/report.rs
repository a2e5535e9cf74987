//! Reports of how each inbox attempt ended, for logs, metrics and `runhook listen`.

use std::time::{Duration, SystemTime};

use runhook::store::IdempotencyKey;

/// How one attempt on an inbox row ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InboxOutcome {
    /// Processed: the row is done.
    Done,
    /// Failed (the handler asked for a retry, panicked or ran past the attempt timeout): the row
    /// stays pending, due again at `at`.
    Retry {
        /// When the next attempt is due.
        at: SystemTime,
        /// What went wrong.
        error: String,
    },
    /// Given up: the handler rejected the event, the policy's attempts or time ran out, or the
    /// stored body no longer parses. The row is dead until replayed.
    Dead {
        /// Why.
        error: String,
    },
    /// The row's lease was lost (it ran out and another worker took the row), or the processor
    /// found so itself: this attempt's settlement was not written (the inbox refuses it), and
    /// the other worker's stands.
    NotHeld,
    /// The attempt ended without a settlement: the worker was shut down before the processor
    /// finished, or the settlement could not be written. The row is tried again once its lease
    /// runs out (at least once: nothing is lost).
    Unsettled {
        /// Why.
        error: String,
    },
}

impl InboxOutcome {
    /// A stable snake_case name: `done`, `retry`, `dead`, `not_held` or `unsettled`.
    pub fn as_str(&self) -> &'static str {
        match self {
            InboxOutcome::Done => "done",
            InboxOutcome::Retry { .. } => "retry",
            InboxOutcome::Dead { .. } => "dead",
            InboxOutcome::NotHeld => "not_held",
            InboxOutcome::Unsettled { .. } => "unsettled",
        }
    }

    /// The error of a failed attempt, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            InboxOutcome::Retry { error, .. }
            | InboxOutcome::Dead { error }
            | InboxOutcome::Unsettled { error } => Some(error),
            InboxOutcome::Done | InboxOutcome::NotHeld => None,
        }
    }
}

impl std::fmt::Display for InboxOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one attempt on an inbox row ended: one per attempt a worker made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboxReport {
    /// The row's key (the event's idempotency key).
    pub key: IdempotencyKey,
    /// The event's run, if it has one.
    pub run_id: Option<String>,
    /// The event's name.
    pub event: String,
    /// The attempt, 1 for the first (counted by the inbox; a replay counts from 1 again).
    pub attempt: u32,
    /// When the receiver accepted the event.
    pub received_at: SystemTime,
    /// How long the attempt took, from its claim to its settlement.
    pub elapsed: Duration,
    /// The status the other side answered, if the processor reported one
    /// ([`Processed::answered`](super::Processed::answered)): for a relay, the app's HTTP
    /// status.
    pub status: Option<u16>,
    /// How it ended.
    pub outcome: InboxOutcome,
}

impl InboxReport {
    /// Logs the report as the one `tracing` event of its attempt.
    pub(crate) fn log(&self) {
        let key = self.key.as_str();
        let run_id = self.run_id.as_deref();
        let event = self.event.as_str();
        let attempt = self.attempt;
        let status = self.status;
        let elapsed_ms = u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX);
        match &self.outcome {
            InboxOutcome::Done => tracing::info!(
                key,
                run_id,
                event,
                attempt,
                status,
                elapsed_ms,
                "inbox row processed"
            ),
            InboxOutcome::Retry { at, error } => tracing::warn!(
                key,
                run_id,
                event,
                attempt,
                status,
                elapsed_ms,
                error = error.as_str(),
                retry_at_unix_ms = at
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .map_or(0, |since| u64::try_from(since.as_millis())
                        .unwrap_or(u64::MAX)),
                "inbox row failed; to be retried"
            ),
            InboxOutcome::Dead { error } => tracing::error!(
                key,
                run_id,
                event,
                attempt,
                status,
                elapsed_ms,
                error = error.as_str(),
                "inbox row dead: given up (replay it once the cause is fixed)"
            ),
            InboxOutcome::NotHeld => tracing::warn!(
                key,
                run_id,
                event,
                attempt,
                status,
                elapsed_ms,
                "inbox row's lease was lost; another worker processes it"
            ),
            InboxOutcome::Unsettled { error } => tracing::warn!(
                key,
                run_id,
                event,
                attempt,
                status,
                elapsed_ms,
                error = error.as_str(),
                "inbox attempt ended unsettled; the row is retried once its lease runs out"
            ),
        }
    }
}

/// Receives an [`InboxReport`] for every attempt of the inbox workers. Called inline: keep it
/// quick (a channel send, a log line, a counter).
pub trait InboxObserver: Send + Sync + 'static {
    /// Called once per attempt.
    fn observe(&self, report: &InboxReport);
}

impl<F> InboxObserver for F
where
    F: Fn(&InboxReport) + Send + Sync + 'static,
{
    fn observe(&self, report: &InboxReport) {
        self(report)
    }
}

/// Sends each report to a channel (dropped if the receiving end is gone).
impl InboxObserver for tokio::sync::mpsc::UnboundedSender<InboxReport> {
    fn observe(&self, report: &InboxReport) {
        let _ = self.send(report.clone());
    }
}

//! Reports of how each delivery ended, for logs, metrics and `runhook listen`.

use std::time::Duration;

use runhook::receive::RejectionKind;
use runhook::store::IdempotencyKey;
use runhook::{DriftProblem, ReceiveOutcome, Source};
use tracing::Level;

/// How one delivery ended. A delivery whose handler outlived the deadline gives two reports: the
/// 503 that was sent, then (with `late` set) the handler's own outcome when it finished.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// How it ended.
    pub outcome: ReceiveOutcome,
    /// The status code sent (for a late report: the one the outcome maps to, not sent).
    pub status: u16,
    /// The run, if the body named one.
    pub run_id: Option<String>,
    /// The event type, if the body was a webhook.
    pub event: Option<String>,
    /// The idempotency key, if the event had one.
    pub key: Option<IdempotencyKey>,
    /// For a request refused before the handler, why.
    pub rejection: Option<RejectionKind>,
    /// For an accepted event, the fields inside `data` that did not match their documented
    /// type (they read as absent in the typed event; the raw data is kept). Usually empty.
    pub drift: Vec<DriftProblem>,
    /// What happened, in words, with the details the response leaves out (a handler's reason,
    /// a store's error). Reports stay in the process: keep them out of responses.
    pub reason: String,
    /// Whether this reports a handler that finished after its response had been sent.
    pub late: bool,
    /// How the event arrived: a webhook, or recovered by the reconciler (see
    /// [`Receiver::recover`](crate::Receiver::recover)).
    pub source: Source,
    /// Time from arrival to this report.
    pub elapsed: Duration,
}

impl Report {
    /// Whether this reports a late failure: a handler that failed (asked for a retry, panicked,
    /// was stopped) after the 503 of the deadline went out. The event is kept as a dead letter
    /// ([`Receiver::take_dead_letters`](crate::Receiver::take_dead_letters)).
    pub fn is_late_failure(&self) -> bool {
        self.late && self.outcome.is_failure()
    }

    /// Logs the report as the one `tracing` event of its request.
    pub(crate) fn log(&self) {
        log(
            self.outcome,
            self.status,
            self.run_id.as_deref(),
            &self.reason,
            self.late,
            self.elapsed,
        );
    }
}

/// Logs how a delivery ended as the one `tracing` event of its request: what [`Report::log`]
/// logs, for a delivery no observer needs a [`Report`] of.
pub(crate) fn log(
    outcome_kind: ReceiveOutcome,
    status: u16,
    run_id: Option<&str>,
    reason: &str,
    late: bool,
    elapsed: Duration,
) {
    let outcome = outcome_kind.as_str();
    let elapsed_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    let (level, message) = match outcome_kind {
        ReceiveOutcome::StoreUnavailable
        | ReceiveOutcome::HandlerPanicked
        | ReceiveOutcome::HandlerTimedOut => (Level::ERROR, "webhook not processed"),
        _ if late && outcome_kind.is_failure() => (
            Level::ERROR,
            "webhook not processed after its response: kept as a dead letter",
        ),
        ReceiveOutcome::DeadlinePassed
        | ReceiveOutcome::Retry
        | ReceiveOutcome::BodyUnread
        | ReceiveOutcome::ConfirmUnavailable => (Level::WARN, "webhook to be retried"),
        _ => (Level::INFO, "webhook answered"),
    };
    // `tracing` takes a level known at compile time: one event per level.
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                $level,
                status,
                outcome,
                run_id,
                reason,
                late,
                elapsed_ms,
                "{message}"
            )
        };
    }
    match level {
        Level::ERROR => event!(Level::ERROR),
        Level::WARN => event!(Level::WARN),
        _ => event!(Level::INFO),
    }
}

/// Receives a [`Report`] for every delivery. Called inline: keep it quick (a channel send, a log
/// line, a counter).
pub trait Observer: Send + Sync + 'static {
    /// Called once per response, and once more for a handler that finished late.
    fn observe(&self, report: &Report);
}

impl<F> Observer for F
where
    F: Fn(&Report) + Send + Sync + 'static,
{
    fn observe(&self, report: &Report) {
        self(report)
    }
}

/// Sends each report to a channel (dropped if the receiving end is gone).
impl Observer for tokio::sync::mpsc::UnboundedSender<Report> {
    fn observe(&self, report: &Report) {
        let _ = self.send(report.clone());
    }
}

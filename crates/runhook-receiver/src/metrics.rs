//! The metrics a receiver records, through the `metrics` crate's facade.
//!
//! The receiver only records; the application installs the recorder it wants (a Prometheus
//! exporter, say) before building the receiver. Without one, recording costs next to nothing.
//! [`describe`] registers each metric's description and unit with the installed recorder.
//!
//! | name | type | labels | unit | what |
//! |---|---|---|---|---|
//! | [`EVENTS_ACCEPTED`] | counter | | deliveries | answered 200: processed (inline mode) or stored (inbox mode) |
//! | [`EVENTS_DUPLICATE`] | counter | | deliveries | answered 200 as a duplicate: not processed or stored again |
//! | [`EVENTS_REJECTED`] | counter | `kind` | deliveries | answered with any other status; `kind` says why (below) |
//! | [`HANDLER_OUTCOMES`] | counter | `outcome`: `ok`, `retry`, `reject`, `panic`, `timeout`, `stopped` | handler runs | how each run of the handler (or inbox processor) ended, in both modes |
//! | [`DEAD_LETTERED`] | counter | | events | events given up: an inbox row settled dead, or (inline mode) a late failure kept as a dead letter |
//! | [`INBOX_DEPTH`] | gauge | `state`: `pending`, `in_flight`, `done`, `dead` | rows | the inbox's rows by state, sampled by the workers every 5 s (inbox mode) |
//! | [`TIME_TO_ACK`] | histogram | | seconds | from the request's arrival to its answer, for every delivery answered 200 (accepted or duplicate) |
//! | [`TIME_TO_DONE`] | histogram | | seconds | from receipt to processed: inline mode, arrival to the handler's `Ok`; inbox mode, the row's `received_at` to its settlement as done |
//! | [`EVENTS_RECOVERED`] | counter | `outcome`: `accepted`, `duplicate`, or a failure's name as for `kind` | events | events a reconciler's sweep sent through the receiver ([`Receiver::recover`](crate::Receiver::recover)); they do not count in the three `runhook_events_*` counters above, which count webhooks |
//! | [`RECONCILE_SWEEPS`] | counter | `result`: `done`, `failed`, `skipped` (another replica holds the lease) | sweeps | the reconciler's sweeps |
//! | [`RECONCILE_API_CALLS`] | counter | | requests | the requests a reconciler made to the runs API (list pages and batch reads) |
//! | [`RECONCILE_WATCHED`] | gauge | | runs | the runs on the reconciler's watch list after its last sweep |
//!
//! Every answered delivery counts once in exactly one of the three `runhook_events_*` counters (a
//! handler that finishes after its answer does not count again). The `kind` of
//! [`EVENTS_REJECTED`] is, for a request refused by [`runhook::receive()`]: `method` (405),
//! `payload_too_large` (413), `unauthorized` (401), `unsupported_media_type` (415, a
//! `Content-Encoding` included) or `bad_request` (400); otherwise the delivery's
//! [`ReceiveOutcome`] name: `body_unread`, `store_unavailable`, `confirm_unavailable` (confirm by
//! API got no answer), `in_flight`, `retry` (the handler
//! asked for one), `rejected` (the handler's 422), `deadline_passed`, `handler_panicked`,
//! `handler_timed_out` or `shutting_down`.
//!
//! `outcome="timeout"` counts a handler stopped at its maximum run time (inline) or its attempt
//! timeout (inbox); `outcome="stopped"` one stopped by the end of a shutdown's grace period or,
//! in inbox mode, by the loss of its row's lease.

use std::time::Duration;

use ::metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge};
use runhook::ReceiveOutcome;
use runhook::inbox::InboxDepth;
use runhook::receive::RejectionKind;

/// Counter: deliveries answered 200, processed (inline mode) or stored (inbox mode).
pub const EVENTS_ACCEPTED: &str = "runhook_events_accepted_total";
/// Counter: deliveries answered 200 as duplicates.
pub const EVENTS_DUPLICATE: &str = "runhook_events_duplicate_total";
/// Counter: deliveries answered with another status, by [`KIND`].
pub const EVENTS_REJECTED: &str = "runhook_events_rejected_total";
/// Counter: how runs of the handler (or inbox processor) ended, by [`OUTCOME`].
pub const HANDLER_OUTCOMES: &str = "runhook_handler_outcomes_total";
/// Counter: events given up (dead inbox rows, inline dead letters).
pub const DEAD_LETTERED: &str = "runhook_dead_lettered_total";
/// Gauge: the inbox's rows by [`STATE`].
pub const INBOX_DEPTH: &str = "runhook_inbox_depth";
/// Histogram, seconds: request arrival to answer, for deliveries answered 200.
pub const TIME_TO_ACK: &str = "runhook_time_to_ack_seconds";
/// Histogram, seconds: receipt to processed.
pub const TIME_TO_DONE: &str = "runhook_time_to_done_seconds";
/// Counter: events recovered by a reconciler's sweep, by [`OUTCOME`].
pub const EVENTS_RECOVERED: &str = "runhook_events_recovered_total";
/// Counter: a reconciler's sweeps, by [`RESULT`].
pub const RECONCILE_SWEEPS: &str = "runhook_reconcile_sweeps_total";
/// Counter: a reconciler's requests to the runs API.
pub const RECONCILE_API_CALLS: &str = "runhook_reconcile_api_calls_total";
/// Gauge: the runs on a reconciler's watch list.
pub const RECONCILE_WATCHED: &str = "runhook_reconcile_watched";

/// The label of [`EVENTS_REJECTED`]: why the delivery was not answered 200.
pub const KIND: &str = "kind";
/// The label of [`HANDLER_OUTCOMES`]: `ok`, `retry`, `reject`, `panic`, `timeout` or `stopped`.
pub const OUTCOME: &str = "outcome";
/// The label of [`INBOX_DEPTH`]: `pending`, `in_flight`, `done` or `dead`.
pub const STATE: &str = "state";
/// The label of [`RECONCILE_SWEEPS`]: `done`, `failed` or `skipped`.
pub const RESULT: &str = "result";

/// Registers the description and unit of every metric above with the installed recorder (call
/// it once, after installing the recorder; recording works without it).
pub fn describe() {
    describe_counter!(
        EVENTS_ACCEPTED,
        Unit::Count,
        "Deliveries answered 200: processed (inline mode) or stored (inbox mode)."
    );
    describe_counter!(
        EVENTS_DUPLICATE,
        Unit::Count,
        "Deliveries answered 200 as duplicates of an event already processed or stored."
    );
    describe_counter!(
        EVENTS_REJECTED,
        Unit::Count,
        "Deliveries answered with another status, by kind."
    );
    describe_counter!(
        HANDLER_OUTCOMES,
        Unit::Count,
        "How runs of the handler ended: ok, retry, reject, panic, timeout, stopped."
    );
    describe_counter!(
        DEAD_LETTERED,
        Unit::Count,
        "Events given up: dead inbox rows, and inline late failures kept as dead letters."
    );
    describe_gauge!(INBOX_DEPTH, Unit::Count, "Inbox rows by state.");
    describe_histogram!(
        TIME_TO_ACK,
        Unit::Seconds,
        "Time from a request's arrival to its 200 answer."
    );
    describe_histogram!(
        TIME_TO_DONE,
        Unit::Seconds,
        "Time from an event's receipt to its processing."
    );
    describe_counter!(
        EVENTS_RECOVERED,
        Unit::Count,
        "Events recovered by the reconciler's sweeps, by outcome."
    );
    describe_counter!(
        RECONCILE_SWEEPS,
        Unit::Count,
        "The reconciler's sweeps: done, failed, skipped."
    );
    describe_counter!(
        RECONCILE_API_CALLS,
        Unit::Count,
        "The reconciler's requests to the runs API."
    );
    describe_gauge!(
        RECONCILE_WATCHED,
        Unit::Count,
        "Runs on the reconciler's watch list."
    );
}

/// How a run of the handler ended, as [`OUTCOME`] says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandlerRun {
    Ok,
    Retry,
    Reject,
    Panic,
    Timeout,
    Stopped,
}

impl HandlerRun {
    /// The run that returned `outcome`.
    pub(crate) fn of(outcome: &runhook::HandlerOutcome) -> Self {
        match outcome {
            runhook::HandlerOutcome::Ok => HandlerRun::Ok,
            runhook::HandlerOutcome::Reject { .. } => HandlerRun::Reject,
            _ => HandlerRun::Retry,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            HandlerRun::Ok => "ok",
            HandlerRun::Retry => "retry",
            HandlerRun::Reject => "reject",
            HandlerRun::Panic => "panic",
            HandlerRun::Timeout => "timeout",
            HandlerRun::Stopped => "stopped",
        }
    }
}

/// Records an answered delivery: its counter, and for a 200 its time to acknowledge.
pub(crate) fn answered(
    outcome: ReceiveOutcome,
    rejection: Option<RejectionKind>,
    elapsed: Duration,
) {
    match outcome {
        ReceiveOutcome::Accepted => counter!(EVENTS_ACCEPTED).increment(1),
        ReceiveOutcome::Duplicate => counter!(EVENTS_DUPLICATE).increment(1),
        other => {
            let kind = rejection.map_or(other.as_str(), rejection_kind);
            counter!(EVENTS_REJECTED, KIND => kind).increment(1);
            return;
        }
    }
    ::metrics::histogram!(TIME_TO_ACK).record(elapsed.as_secs_f64());
}

/// Records an event recovered by a reconciler's sweep, by how its delivery ended.
pub(crate) fn recovered(outcome: ReceiveOutcome) {
    counter!(EVENTS_RECOVERED, OUTCOME => outcome.as_str()).increment(1);
}

/// Records a reconciler's sweep, by its result (`done`, `failed`, `skipped`).
pub(crate) fn reconcile_sweep(result: &'static str) {
    counter!(RECONCILE_SWEEPS, RESULT => result).increment(1);
}

/// Records a reconciler's request to the runs API.
pub(crate) fn reconcile_api_call() {
    counter!(RECONCILE_API_CALLS).increment(1);
}

/// Records the length of a reconciler's watch list.
pub(crate) fn reconcile_watched(runs: u64) {
    // A gauge is an f64; watch lists stay far below 2^53.
    #[allow(clippy::cast_precision_loss)]
    gauge!(RECONCILE_WATCHED).set(runs as f64);
}

/// The [`KIND`] of a request refused by `receive`: a short name of its status.
fn rejection_kind(kind: RejectionKind) -> &'static str {
    match kind.status() {
        405 => "method",
        413 => "payload_too_large",
        401 => "unauthorized",
        415 => "unsupported_media_type",
        _ => "bad_request",
    }
}

/// Records how a run of the handler ended.
pub(crate) fn handler_run(run: HandlerRun) {
    counter!(HANDLER_OUTCOMES, OUTCOME => run.as_str()).increment(1);
}

/// Records an event given up.
pub(crate) fn dead_lettered() {
    counter!(DEAD_LETTERED).increment(1);
}

/// Records the time from an event's receipt to its processing.
pub(crate) fn done_after(elapsed: Duration) {
    ::metrics::histogram!(TIME_TO_DONE).record(elapsed.as_secs_f64());
}

/// Records the inbox's depth.
pub(crate) fn inbox_depth(depth: &InboxDepth) {
    for (state, rows) in [
        ("pending", depth.pending),
        ("in_flight", depth.in_flight),
        ("done", depth.done),
        ("dead", depth.dead),
    ] {
        // A gauge is an f64; row counts stay far below 2^53.
        #[allow(clippy::cast_precision_loss)]
        gauge!(INBOX_DEPTH, STATE => state).set(rows as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_named_by_their_status() {
        let names: Vec<_> = [
            RejectionKind::MethodNotAllowed,
            RejectionKind::PayloadTooLarge,
            RejectionKind::Unauthenticated,
            RejectionKind::UnsupportedMediaType,
            RejectionKind::UnsupportedContentEncoding,
            RejectionKind::MalformedJson,
            RejectionKind::InvalidEvent,
            RejectionKind::InconsistentEvent,
        ]
        .into_iter()
        .map(rejection_kind)
        .collect();
        assert_eq!(
            names,
            [
                "method",
                "payload_too_large",
                "unauthorized",
                "unsupported_media_type",
                "unsupported_media_type",
                "bad_request",
                "bad_request",
                "bad_request"
            ]
        );
    }
}

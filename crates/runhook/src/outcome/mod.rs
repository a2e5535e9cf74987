//! The handler contract and the status code of every way a delivery can end.
//!
//! [`decide`] is the whole decision table of docs/protocol.md §4.3 after
//! [`receive`](crate::receive::receive) accepted an event, in one pure function: the receiver
//! describes what happened ([`Disposition`]) and gets back the status, the `Retry-After` header,
//! what to do with the store claim and how to report it ([`ReceiveDecision`]).
//!
//! | what happened | status | `Retry-After` | the claim | [`ReceiveOutcome`] |
//! |---|---|---|---|---|
//! | request refused by `receive` | its status (400/401/405/413/415) | – | none taken | `Invalid` |
//! | the body was not read: too slow, or the body budget is spent | 503 | given, if any | none taken | `BodyUnread` |
//! | the store failed or timed out | 503 | – | none taken | `StoreUnavailable` |
//! | the runs API could not confirm the event (unreachable, failing, or out of time) | 503 | – | none taken | `ConfirmUnavailable` |
//! | key already done | 200 | – | none taken | `Duplicate` |
//! | key in flight elsewhere | 503 | time left, whole seconds, ≥ 1 | none taken | `InFlight` |
//! | handler: `Ok` | 200 | – | complete | `Accepted` |
//! | handler: `Retry` | 503 | – | release | `Retry` |
//! | handler: `Reject` | 422 | – | complete | `Rejected` |
//! | handler panicked | 503 | – | release | `HandlerPanicked` |
//! | deadline passed, handler still running | 503 | – | keep (the handler's own outcome settles it) | `DeadlinePassed` |
//! | handler ran past its maximum run time and was stopped | 503 | – | release | `HandlerTimedOut` |
//! | the receiver is shutting down (a new delivery, or a handler stopped at the end of the grace period) | 503 | – | release, if held | `ShuttingDown` |
//!
//! A failure to complete or release after the handler returned does not change the status: the
//! handler's outcome stands (the work is done, or is to be retried), and the claim's lease runs
//! out by itself.

mod handler;

use std::time::Duration;

pub use handler::HandlerOutcome;

use crate::receive::Rejection;

/// What happened to a request, as far as its response is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disposition<'a> {
    /// [`receive`](crate::receive::receive) refused the request.
    Invalid(&'a Rejection),
    /// The body was not read whole: it did not arrive within the body timeout, or buffering it
    /// would exceed the body budget.
    BodyUnread {
        /// When to come back, if the receiver can say.
        retry_after: Option<Duration>,
    },
    /// The idempotency store failed (or did not answer in time) on the claim.
    StoreFailed,
    /// Confirm by API is on and the runs API gave no answer (unreachable, failing, refusing the
    /// key, or out of time): the event is neither confirmed nor refuted.
    ConfirmFailed,
    /// The key was already processed.
    Duplicate,
    /// Another delivery holds the key.
    InFlight {
        /// When to come back: the time left on the holder's lease, or less.
        retry_after: Duration,
    },
    /// The handler returned.
    Handled(&'a HandlerOutcome),
    /// The handler panicked.
    Panicked,
    /// The deadline passed while the handler was still running; it goes on in the background.
    DeadlinePassed,
    /// The handler ran past its maximum run time and was stopped.
    TimedOut,
    /// The receiver is shutting down: a new delivery is refused, or a handler still running at
    /// the end of the grace period was stopped.
    ShuttingDown,
}

/// How a delivery ended, for reports, logs and the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReceiveOutcome {
    /// Processed: the handler returned `Ok`.
    Accepted,
    /// A duplicate of a processed key; the handler was not called.
    Duplicate,
    /// A duplicate of a key being processed; come back later.
    InFlight,
    /// The handler asked for a retry.
    Retry,
    /// The handler rejected the event for good.
    Rejected,
    /// Refused before the handler: see the [`RejectionKind`](crate::receive::RejectionKind).
    Invalid,
    /// The body was not read whole (too slow, or the receiver's body budget was spent); the
    /// event was not processed.
    BodyUnread,
    /// The idempotency store failed; the event was not processed.
    StoreUnavailable,
    /// The runs API could not confirm the event; it was not processed.
    ConfirmUnavailable,
    /// The handler did not finish within the deadline.
    DeadlinePassed,
    /// The handler panicked; the event was not processed.
    HandlerPanicked,
    /// The handler ran past its maximum run time and was stopped; the event was not processed.
    HandlerTimedOut,
    /// The receiver was shutting down; the event was not processed.
    ShuttingDown,
}

impl ReceiveOutcome {
    /// A stable snake_case name (`accepted`, `duplicate`, `in_flight`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiveOutcome::Accepted => "accepted",
            ReceiveOutcome::Duplicate => "duplicate",
            ReceiveOutcome::InFlight => "in_flight",
            ReceiveOutcome::Retry => "retry",
            ReceiveOutcome::Rejected => "rejected",
            ReceiveOutcome::Invalid => "invalid",
            ReceiveOutcome::BodyUnread => "body_unread",
            ReceiveOutcome::StoreUnavailable => "store_unavailable",
            ReceiveOutcome::ConfirmUnavailable => "confirm_unavailable",
            ReceiveOutcome::DeadlinePassed => "deadline_passed",
            ReceiveOutcome::HandlerPanicked => "handler_panicked",
            ReceiveOutcome::HandlerTimedOut => "handler_timed_out",
            ReceiveOutcome::ShuttingDown => "shutting_down",
        }
    }

    /// Whether the event was left unprocessed by a failure that a later delivery may fix (a
    /// retry asked for, a panic, a stopped handler, a deadline, a store failure).
    pub fn is_failure(self) -> bool {
        matches!(
            self,
            ReceiveOutcome::Retry
                | ReceiveOutcome::BodyUnread
                | ReceiveOutcome::StoreUnavailable
                | ReceiveOutcome::ConfirmUnavailable
                | ReceiveOutcome::DeadlinePassed
                | ReceiveOutcome::HandlerPanicked
                | ReceiveOutcome::HandlerTimedOut
                | ReceiveOutcome::ShuttingDown
        )
    }

    /// What a response body says about this outcome, in general terms: the details (a
    /// handler's error text, a database driver's message) stay in the receiver's log and
    /// reports, where no caller can read them.
    pub fn public_reason(self) -> &'static str {
        match self {
            ReceiveOutcome::Accepted => "processed",
            ReceiveOutcome::Duplicate => {
                "this run was already processed; the handler was not called again"
            }
            ReceiveOutcome::InFlight => {
                "this run is being processed by another delivery; retry when it has finished"
            }
            ReceiveOutcome::Retry => "the handler could not process the event now; retry later",
            ReceiveOutcome::Rejected => "the handler rejected the event for good",
            ReceiveOutcome::Invalid => "the request is not an acceptable webhook",
            ReceiveOutcome::BodyUnread => {
                "the request body was not read (it arrived too slowly, or the receiver is busy); \
                 retry later"
            }
            ReceiveOutcome::StoreUnavailable => {
                "the idempotency store is unavailable; the event was not processed, retry later"
            }
            ReceiveOutcome::ConfirmUnavailable => {
                "the runs API could not confirm the event now; it was not processed, retry later"
            }
            ReceiveOutcome::DeadlinePassed => {
                "the handler did not finish within the deadline; retry later"
            }
            ReceiveOutcome::HandlerPanicked => {
                "the handler failed; the event was not processed, retry later"
            }
            ReceiveOutcome::HandlerTimedOut => {
                "the handler ran past its maximum run time and was stopped; retry later"
            }
            ReceiveOutcome::ShuttingDown => {
                "the receiver is shutting down; the event was not processed, retry later"
            }
        }
    }
}

impl std::fmt::Display for ReceiveOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do with the store claim once the response is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClaimAction {
    /// No claim is held (none was taken, or the key was not claimable).
    None,
    /// Complete the claim: the key becomes done.
    Complete,
    /// Release the claim: the key becomes claimable again.
    Release,
    /// Keep holding it: the handler is still running and settles it when it finishes.
    Keep,
}

/// The response to a delivery and what follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceiveDecision {
    /// The HTTP status code.
    pub status: u16,
    /// The `Retry-After` header, in whole seconds, if one is sent.
    pub retry_after: Option<u64>,
    /// What to do with the claim.
    pub claim: ClaimAction,
    /// How the delivery ended.
    pub outcome: ReceiveOutcome,
}

/// The decision table of the [module docs](self), as a function.
pub fn decide(disposition: &Disposition<'_>) -> ReceiveDecision {
    let (status, claim, outcome) = match disposition {
        Disposition::Invalid(rejection) => {
            (rejection.status, ClaimAction::None, ReceiveOutcome::Invalid)
        }
        Disposition::BodyUnread { .. } => (503, ClaimAction::None, ReceiveOutcome::BodyUnread),
        Disposition::StoreFailed => (503, ClaimAction::None, ReceiveOutcome::StoreUnavailable),
        Disposition::ConfirmFailed => (503, ClaimAction::None, ReceiveOutcome::ConfirmUnavailable),
        Disposition::Duplicate => (200, ClaimAction::None, ReceiveOutcome::Duplicate),
        Disposition::InFlight { .. } => (503, ClaimAction::None, ReceiveOutcome::InFlight),
        Disposition::Handled(HandlerOutcome::Ok) => {
            (200, ClaimAction::Complete, ReceiveOutcome::Accepted)
        }
        Disposition::Handled(HandlerOutcome::Retry { .. }) => {
            (503, ClaimAction::Release, ReceiveOutcome::Retry)
        }
        Disposition::Handled(HandlerOutcome::Reject { .. }) => {
            (422, ClaimAction::Complete, ReceiveOutcome::Rejected)
        }
        Disposition::Panicked => (503, ClaimAction::Release, ReceiveOutcome::HandlerPanicked),
        Disposition::DeadlinePassed => (503, ClaimAction::Keep, ReceiveOutcome::DeadlinePassed),
        Disposition::TimedOut => (503, ClaimAction::Release, ReceiveOutcome::HandlerTimedOut),
        Disposition::ShuttingDown => (503, ClaimAction::Release, ReceiveOutcome::ShuttingDown),
    };
    let retry_after = match disposition {
        Disposition::InFlight { retry_after } => Some(whole_seconds(*retry_after)),
        Disposition::BodyUnread { retry_after } => retry_after.map(whole_seconds),
        _ => None,
    };
    ReceiveDecision {
        status,
        retry_after,
        claim,
        outcome,
    }
}

/// A duration as `Retry-After` seconds: rounded up, at least 1.
fn whole_seconds(duration: Duration) -> u64 {
    let seconds = duration.as_secs() + u64::from(duration.subsec_nanos() > 0);
    seconds.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receive::{Rejection, RejectionKind};

    #[test]
    fn every_row_of_the_table() {
        let rejection = Rejection::new(RejectionKind::UnsupportedMediaType, "text/plain");
        let ok = HandlerOutcome::Ok;
        let retry = HandlerOutcome::retry("database down");
        let reject = HandlerOutcome::reject("unknown account");
        let rows = [
            (
                Disposition::Invalid(&rejection),
                415,
                None,
                ClaimAction::None,
                ReceiveOutcome::Invalid,
            ),
            (
                Disposition::BodyUnread {
                    retry_after: Some(Duration::from_secs(1)),
                },
                503,
                Some(1),
                ClaimAction::None,
                ReceiveOutcome::BodyUnread,
            ),
            (
                Disposition::StoreFailed,
                503,
                None,
                ClaimAction::None,
                ReceiveOutcome::StoreUnavailable,
            ),
            (
                Disposition::ConfirmFailed,
                503,
                None,
                ClaimAction::None,
                ReceiveOutcome::ConfirmUnavailable,
            ),
            (
                Disposition::Duplicate,
                200,
                None,
                ClaimAction::None,
                ReceiveOutcome::Duplicate,
            ),
            (
                Disposition::InFlight {
                    retry_after: Duration::from_millis(2500),
                },
                503,
                Some(3),
                ClaimAction::None,
                ReceiveOutcome::InFlight,
            ),
            (
                Disposition::Handled(&ok),
                200,
                None,
                ClaimAction::Complete,
                ReceiveOutcome::Accepted,
            ),
            (
                Disposition::Handled(&retry),
                503,
                None,
                ClaimAction::Release,
                ReceiveOutcome::Retry,
            ),
            (
                Disposition::Handled(&reject),
                422,
                None,
                ClaimAction::Complete,
                ReceiveOutcome::Rejected,
            ),
            (
                Disposition::Panicked,
                503,
                None,
                ClaimAction::Release,
                ReceiveOutcome::HandlerPanicked,
            ),
            (
                Disposition::DeadlinePassed,
                503,
                None,
                ClaimAction::Keep,
                ReceiveOutcome::DeadlinePassed,
            ),
            (
                Disposition::TimedOut,
                503,
                None,
                ClaimAction::Release,
                ReceiveOutcome::HandlerTimedOut,
            ),
            (
                Disposition::ShuttingDown,
                503,
                None,
                ClaimAction::Release,
                ReceiveOutcome::ShuttingDown,
            ),
        ];
        for (disposition, status, retry_after, claim, outcome) in rows {
            assert_eq!(
                decide(&disposition),
                ReceiveDecision {
                    status,
                    retry_after,
                    claim,
                    outcome
                },
                "{disposition:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        for (millis, seconds) in [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2), (60_000, 60)] {
            let decision = decide(&Disposition::InFlight {
                retry_after: Duration::from_millis(millis),
            });
            assert_eq!(decision.retry_after, Some(seconds), "{millis} ms");
        }
    }

    #[test]
    fn results_convert_to_outcomes() {
        assert_eq!(
            HandlerOutcome::from(Ok::<(), String>(())),
            HandlerOutcome::Ok
        );
        assert_eq!(
            HandlerOutcome::from(Err::<(), _>("timeout")),
            HandlerOutcome::retry("timeout")
        );
    }
}

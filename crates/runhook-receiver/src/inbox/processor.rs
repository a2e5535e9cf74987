//! How an inbox worker processes one claimed row.

use std::sync::Arc;

use async_trait::async_trait;
use runhook::inbox::InboxClaim;
use runhook::{Event, HandlerOutcome};

use crate::{Handler, Received};

/// What processing a claimed row came to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Processed {
    /// The handler's outcome: the worker settles the row from it (`Ok`: done; `Retry`: again
    /// later, on the inbox policy; `Reject`: dead).
    Outcome(HandlerOutcome),
    /// A transient failure after which the other side asked for a wait (an HTTP `Retry-After`,
    /// say): the row is tried again no sooner than `after` from now, capped by the policy's
    /// `Retry-After` cap
    /// ([`RetryPolicy::retry_after_cap`](runhook::delivery::RetryPolicy::retry_after_cap)), and
    /// no sooner than the policy's own next time (so a short wait never spends the attempts
    /// faster than the schedule); on the schedule alone if the policy ignores `Retry-After`. The
    /// policy's attempts and its limit from receipt still apply.
    RetryAfter {
        /// Why, for the row's last error and the logs.
        reason: String,
        /// The wait asked for.
        after: std::time::Duration,
    },
    /// The processor marked the row done itself, in the same transaction as the handler's own
    /// writes: the worker has nothing left to do.
    Done,
    /// The processor found that its claim had been lost (the lease ran out and another worker
    /// took the row): nothing was committed, and the worker leaves the row alone.
    NotHeld,
    /// What the other side answered: `status` (for a relay, the app's HTTP status) is reported
    /// in the attempt's [`InboxReport::status`](super::InboxReport::status), and the row is
    /// settled from `processed` exactly as without it. Made by [`Processed::answered`].
    Answered {
        /// The status the other side answered.
        status: u16,
        /// What the attempt came to.
        processed: Box<Processed>,
    },
}

impl Processed {
    /// `self`, with the status the other side answered.
    pub fn answered(self, status: u16) -> Processed {
        Processed::Answered {
            status,
            processed: Box::new(self),
        }
    }

    /// The status the other side answered, if one was given with [`answered`](Self::answered).
    pub fn status(&self) -> Option<u16> {
        match self {
            Processed::Answered { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The status, and what to settle the row from.
    pub(crate) fn into_parts(self) -> (Option<u16>, Processed) {
        match self {
            Processed::Answered { status, processed } => {
                let (_, processed) = processed.into_parts();
                (Some(status), processed)
            }
            other => (None, other),
        }
    }
}

/// Processes the rows an inbox worker claims. Every [`Handler`] is one (the worker marks the row
/// done after an `Ok`); a transactional processor (`runhook-store`'s PostgreSQL inbox) commits
/// the handler's writes and the done mark together.
#[async_trait]
pub trait InboxProcessor: Send + Sync + 'static {
    /// Processes `event`, the row `claim` holds; its context carries the attempt number.
    async fn process(&self, claim: &InboxClaim, event: Received<Event>) -> Processed;
}

#[async_trait]
impl<H: Handler> InboxProcessor for H {
    async fn process(&self, _claim: &InboxClaim, event: Received<Event>) -> Processed {
        Processed::Outcome(self.handle(event).await)
    }
}

/// The receiver's handler as its inbox processor (`ReceiverBuilder::inbox` without a processor of
/// its own).
pub(crate) struct HandlerProcessor(pub(crate) Arc<dyn Handler>);

#[async_trait]
impl InboxProcessor for HandlerProcessor {
    async fn process(&self, _claim: &InboxClaim, event: Received<Event>) -> Processed {
        // Called on the `dyn Handler` itself, not through `impl Handler for Arc<H>`, which would
        // box a second future around the handler's own.
        Processed::Outcome(self.0.as_ref().handle(event).await)
    }
}

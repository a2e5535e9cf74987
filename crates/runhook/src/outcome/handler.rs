//! What a handler says about an event it was given.

/// A handler's answer for one event, and so the sender's next step.
///
/// | outcome | status | the store key | the sender |
/// |---|---|---|---|
/// | `Ok` | 200 | completed: duplicates get 200 without a call | done |
/// | `Retry` | 503 | released: the next delivery is processed | retries (5xx) |
/// | `Reject` | 422 | completed: a redelivery gets 200 without a call | gives up (4xx) |
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandlerOutcome {
    /// Processed (or durably queued): acknowledge.
    Ok,
    /// A transient failure (a database down, a rate limit): ask the sender to deliver again.
    Retry {
        /// Why, for the response and the logs.
        reason: String,
    },
    /// The event can never be processed (it names an unknown account, say): refuse it for good.
    /// The key is kept as done, so a redelivery does not run the handler again.
    Reject {
        /// Why, for the response and the logs.
        reason: String,
    },
}

impl HandlerOutcome {
    /// [`HandlerOutcome::Retry`] with a reason.
    pub fn retry(reason: impl Into<String>) -> Self {
        HandlerOutcome::Retry {
            reason: reason.into(),
        }
    }

    /// [`HandlerOutcome::Reject`] with a reason.
    pub fn reject(reason: impl Into<String>) -> Self {
        HandlerOutcome::Reject {
            reason: reason.into(),
        }
    }

    /// The reason given, if any.
    pub fn reason(&self) -> Option<&str> {
        match self {
            HandlerOutcome::Ok => None,
            HandlerOutcome::Retry { reason } | HandlerOutcome::Reject { reason } => Some(reason),
        }
    }
}

impl<E: std::fmt::Display> From<Result<(), E>> for HandlerOutcome {
    /// `Ok(())` is [`HandlerOutcome::Ok`]; an error is a [`HandlerOutcome::Retry`] with its
    /// message (a failure is presumed transient: retrying is safe, dropping is not).
    fn from(result: Result<(), E>) -> Self {
        match result {
            Ok(()) => HandlerOutcome::Ok,
            Err(error) => HandlerOutcome::retry(error.to_string()),
        }
    }
}

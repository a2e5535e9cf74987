//! Why a configuration cannot work.

use std::time::Duration;

/// A [`ReceiverConfig`](crate::ReceiverConfig) that cannot work, found when the receiver is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The lease is zero: every claim would expire at once.
    #[error("the lease is 0; a claim must be held for some time (default 5 s)")]
    ZeroLease,
    /// The deadline is zero, or not under the sender's 10 s attempt timeout.
    #[error(
        "the deadline is {deadline:?}; it must be above 0 and under 10 s, TinyFish's attempt \
         timeout, so the sender hears the answer (default 8 s)"
    )]
    Deadline {
        /// The deadline configured.
        deadline: Duration,
    },
    /// The renewal period is zero or not under the lease, so the claim would lapse between
    /// renewals.
    #[error(
        "the renewal period is {renewal:?} and the lease {lease:?}; renewals must come more \
         often than the lease runs out (default: a third of the lease)"
    )]
    Renewal {
        /// The renewal period configured.
        renewal: Duration,
        /// The lease configured.
        lease: Duration,
    },
    /// A duration that must be above zero is zero.
    #[error("{name} is 0; it must be above 0")]
    ZeroDuration {
        /// The setting's name.
        name: &'static str,
    },
    /// A capacity that must be above zero is zero.
    #[error("{name} is 0; it must hold at least one entry")]
    ZeroCapacity {
        /// The setting's name.
        name: &'static str,
    },
    /// The body limit is zero or larger than the whole body budget, so such a body could never
    /// be accepted.
    #[error(
        "the body limit is {max_body_bytes} bytes and the body budget {budget} bytes; the limit \
         must be above 0 and fit in the budget"
    )]
    BodyLimit {
        /// The body limit configured.
        max_body_bytes: usize,
        /// The budget's size.
        budget: usize,
    },
    /// Inbox mode spawns its workers on the current tokio runtime, and there is none.
    #[error(
        "inbox mode spawns its workers on the current tokio runtime, and this thread has none; \
         build the receiver inside the runtime (e.g. in `#[tokio::main]`)"
    )]
    NoRuntime,
    /// An inbox processor was given without an inbox to take its rows from.
    #[error(
        "an inbox processor was given but no inbox; add `.inbox(..)` to the builder, or drop \
         `.inbox_processor(..)`"
    )]
    ProcessorWithoutInbox,
}

//! Why a store operation failed.

use super::IdempotencyKey;

/// Why an idempotency store could not answer. A receiver answers 503 to any of these on a claim
/// (docs/protocol.md §4.3: never process without deduplication).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Every entry is a claim whose lease is still running, so none can be evicted for a new key.
    #[error(
        "the idempotency ledger is full: all {capacity} entries are claims in flight and none can \
         be evicted; raise its capacity or make handlers finish sooner"
    )]
    Full {
        /// The store's capacity, in keys.
        capacity: usize,
    },
    /// `complete` or `release` with a token that no longer holds the key: its lease expired and
    /// another delivery took the key over, or it was already completed or released.
    #[error(
        "the claim on key {key:?} is not held by this token any more (its lease expired and \
         another delivery took it over, or it was already completed or released)"
    )]
    NotHeld {
        /// The key.
        key: IdempotencyKey,
    },
    /// A backend could not be reached or failed (connection refused, timeout, I/O error…).
    #[error("the idempotency store is unavailable: {message}")]
    Unavailable {
        /// What the backend reported.
        message: String,
    },
}

//! Why a store operation failed.

use super::IdempotencyKey;

/// Why an idempotency store could not answer. A receiver answers 503 to any of these on a claim
/// (docs/protocol.md §4.3: never process without deduplication).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An idempotency store's every entry is a claim whose lease is still running, so none can
    /// be purged for a new key.
    #[error(
        "the idempotency store is full: all {capacity} keys are claims in flight and none can \
         be purged; raise its capacity or make handlers finish sooner"
    )]
    Full {
        /// The store's capacity, in keys.
        capacity: usize,
    },
    /// An inbox holds as many rows as it may, so it cannot take a new event.
    #[error(
        "the inbox is full: it holds {capacity} rows, its capacity; purge finished rows, raise \
         its capacity, or let the pending rows be processed"
    )]
    InboxFull {
        /// The inbox's capacity, in rows.
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
    #[error("the store is unavailable: {message}")]
    Unavailable {
        /// What the backend reported.
        message: String,
    },
}

/// The answer of a write fenced by a claim token: `Ok` if the token still held `key` (the write
/// touched its row), [`StoreError::NotHeld`] otherwise. Every backend answers so.
pub fn fenced(key: &IdempotencyKey, held: bool) -> Result<(), StoreError> {
    if held {
        Ok(())
    } else {
        Err(StoreError::NotHeld { key: key.clone() })
    }
}

//! The trait every idempotency backend implements.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{Claim, ClaimToken, IdempotencyKey, KeyState, StoreError};

/// An idempotency store: claim, complete and release of keys, with time passed in.
///
/// [`MemoryStore`](super::MemoryStore) implements it in memory; durable backends (SQLite,
/// Redis, PostgreSQL) implement it in `runhook-store`. Every operation must be atomic per key:
/// of any number of concurrent `claim`s of one absent key, exactly one gets
/// [`Claim::Acquired`]. The policy (lease, retention) is an argument, so a store holds none.
///
/// `now` is wall-clock time (`SystemTime`) because a shared store compares times written by
/// several processes.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// Claims `key` at `now` for `lease`:
    /// - absent, or its lease or retention has run out: [`Claim::Acquired`] with a new token;
    /// - claimed with a running lease: [`Claim::InFlight`] with the time left;
    /// - completed within its retention: [`Claim::Done`].
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError>;

    /// Marks `key` processed, keeping it for `retention` from `now`, if `token` still holds it
    /// (also after its lease ran out, as long as nobody took the key over). Otherwise
    /// [`StoreError::NotHeld`].
    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError>;

    /// Gives `key` up so the next delivery can claim it (after a retryable failure), if `token`
    /// still holds it. Otherwise [`StoreError::NotHeld`].
    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
    ) -> Result<(), StoreError>;

    /// Extends the lease of the claim `token` holds on `key` to `now + lease`, so a handler that
    /// runs longer than one lease keeps its claim (a receiver renews while its handler runs).
    /// Works after the lease ran out as long as nobody took the key over; otherwise
    /// [`StoreError::NotHeld`], and the caller must assume another delivery may be processing.
    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError>;

    /// What the store holds for `key` at `now`; for inspection and tests, never needed to
    /// process an event.
    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError>;
}

//! [`FencedStore`]: an idempotency store written as a claim, one fenced change and a look-up;
//! each is an [`IdempotencyStore`].

use std::time::{Duration, SystemTime};

use async_trait::async_trait;

use super::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};

/// What a write fenced by a claim token does to the claim it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimChange {
    /// The key is processed: kept as done for `retention`.
    Complete {
        /// How long the key is kept.
        retention: Duration,
    },
    /// The claim's lease is extended to `now + lease`.
    Renew {
        /// The new lease.
        lease: Duration,
    },
    /// The claim is given up.
    Release,
}

/// An idempotency store in three operations: every backend's complete, renew and release are one
/// write fenced by the claim's token, so a backend implements that write once
/// ([`change_claim`](Self::change_claim)) and is an [`IdempotencyStore`] through the blanket
/// implementation, with exactly the trait's semantics.
#[async_trait]
pub trait FencedStore: Send + Sync {
    /// See [`IdempotencyStore::claim`].
    async fn claim_key(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError>;

    /// Applies `change` to the claim `token` holds on `key`, at `now`; [`StoreError::NotHeld`]
    /// if it holds none (see [`fenced`](super::fenced)).
    async fn change_claim(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        change: ClaimChange,
    ) -> Result<(), StoreError>;

    /// See [`IdempotencyStore::state`].
    async fn key_state(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
    ) -> Result<KeyState, StoreError>;
}

#[async_trait]
impl<T: FencedStore> IdempotencyStore for T {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        self.claim_key(key, now, lease).await
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let change = ClaimChange::Complete { retention };
        self.change_claim(key, token, now, change).await
    }

    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.change_claim(key, token, now, ClaimChange::Release)
            .await
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let change = ClaimChange::Renew { lease };
        self.change_claim(key, token, now, change).await
    }

    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError> {
        self.key_state(key, now).await
    }
}

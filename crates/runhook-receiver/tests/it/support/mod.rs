//! A memory store with faults injected per operation, for the receiver's tests.

#![allow(dead_code)] // each test file uses the faults it needs

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::store::{
    Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, MemoryStore, StoreError,
};

/// What one operation of a [`Faulty`] store does.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) enum Fault {
    /// Works.
    #[default]
    None,
    /// Fails with `StoreError::Unavailable`.
    Fails,
    /// Never answers.
    Hangs,
    /// Works, but its first call answers only after this long (it commits at once).
    SlowOnce(Duration),
}

/// A [`MemoryStore`] whose operations misbehave as set; counts the renewals tried.
#[derive(Default)]
pub(crate) struct Faulty {
    pub(crate) ledger: MemoryStore,
    pub(crate) claim: Fault,
    pub(crate) complete: Fault,
    pub(crate) release: Fault,
    pub(crate) renew: Fault,
    pub(crate) renewals: AtomicUsize,
    /// Calls of the operation with a `SlowOnce` fault so far.
    pub(crate) calls: AtomicUsize,
}

impl Faulty {
    /// Applies `fault` to an operation whose result (already applied) is `result`.
    async fn apply<T>(&self, fault: Fault, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match fault {
            Fault::None => result,
            Fault::Fails => Err(StoreError::Unavailable {
                message: "connection lost".into(),
            }),
            Fault::Hangs => std::future::pending().await,
            Fault::SlowOnce(delay) => {
                if self.calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    tokio::time::sleep(delay).await;
                }
                result
            }
        }
    }
}

#[async_trait]
impl IdempotencyStore for Faulty {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let result = self.ledger.claim(key, now, lease);
        self.apply(self.claim, result).await
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        if matches!(self.complete, Fault::Fails | Fault::Hangs) {
            return self.apply(self.complete, Ok(())).await;
        }
        let result = self.ledger.complete(key, token, now, retention);
        self.apply(self.complete, result).await
    }

    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        if matches!(self.release, Fault::Fails | Fault::Hangs) {
            return self.apply(self.release, Ok(())).await;
        }
        let result = self.ledger.release(key, token, now);
        self.apply(self.release, result).await
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        if matches!(self.renew, Fault::Fails | Fault::Hangs) {
            return self.apply(self.renew, Ok(())).await;
        }
        let result = self.ledger.renew(key, token, now, lease);
        self.apply(self.renew, result).await
    }

    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError> {
        Ok(self.ledger.state(key, now))
    }
}

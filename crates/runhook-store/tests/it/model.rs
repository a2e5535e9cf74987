//! The model-based property test finds stores that break the semantics: wrappers of the
//! in-memory store with one deliberate bug each must be reported, the store itself must not.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::MemoryStore;
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};
use runhook_store::testing::{MODEL_CASES, run_store_model};

/// The deliberate bug of a [`Broken`] store.
#[derive(Clone, Copy)]
enum Bug {
    /// `release` ignores the token: it releases whoever holds the key.
    ReleaseIgnoresFencing,
    /// `InFlight` reports the time left rounded up to whole seconds.
    CoarseRetryAfter,
    /// A claim past its lease cannot be completed any more, even if nobody took it over.
    ExpiredHolderCannotComplete,
    /// `state` reads a claim past its lease as still in flight.
    ExpiredClaimInFlight,
}

/// A [`MemoryStore`] with one bug.
struct Broken {
    inner: MemoryStore,
    bug: Bug,
    /// The last token handed out per key, for [`Bug::ReleaseIgnoresFencing`].
    last: Mutex<HashMap<IdempotencyKey, ClaimToken>>,
    /// The lease end of the claim on each key not yet completed or released, for the bugs about
    /// expired claims.
    until: Mutex<HashMap<IdempotencyKey, SystemTime>>,
}

impl Broken {
    fn new(bug: Bug) -> Arc<Self> {
        Arc::new(Broken {
            inner: MemoryStore::new(),
            bug,
            last: Mutex::default(),
            until: Mutex::default(),
        })
    }

    fn past_lease(&self, key: &IdempotencyKey, now: SystemTime) -> bool {
        self.until
            .lock()
            .unwrap()
            .get(key)
            .is_some_and(|until| *until <= now)
    }
}

#[async_trait]
impl IdempotencyStore for Broken {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let claim = self.inner.claim(key, now, lease)?;
        match claim {
            Claim::Acquired(token) => {
                self.last.lock().unwrap().insert(key.clone(), token);
                self.until.lock().unwrap().insert(key.clone(), now + lease);
            }
            Claim::InFlight { retry_after } if matches!(self.bug, Bug::CoarseRetryAfter) => {
                let seconds = retry_after.as_millis().div_ceil(1_000);
                return Ok(Claim::InFlight {
                    retry_after: Duration::from_secs(u64::try_from(seconds).unwrap()),
                });
            }
            _ => {}
        }
        Ok(claim)
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        if matches!(self.bug, Bug::ExpiredHolderCannotComplete) && self.past_lease(key, now) {
            return Err(StoreError::NotHeld { key: key.clone() });
        }
        self.inner.complete(key, token, now, retention)?;
        self.until.lock().unwrap().remove(key);
        Ok(())
    }

    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let token = match self.bug {
            Bug::ReleaseIgnoresFencing => {
                self.last.lock().unwrap().get(key).copied().unwrap_or(token)
            }
            _ => token,
        };
        self.inner.release(key, token, now)?;
        self.until.lock().unwrap().remove(key);
        Ok(())
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        self.inner.renew(key, token, now, lease)?;
        self.until.lock().unwrap().insert(key.clone(), now + lease);
        Ok(())
    }

    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError> {
        let state = self.inner.state(key, now);
        if matches!(self.bug, Bug::ExpiredClaimInFlight)
            && state == KeyState::Absent
            && self.past_lease(key, now)
        {
            return Ok(KeyState::InFlight);
        }
        Ok(state)
    }
}

#[tokio::test]
async fn the_memory_store_agrees_with_the_model() {
    let problems = run_store_model(Arc::new(MemoryStore::new()), "memory:", MODEL_CASES).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

async fn problems_of(bug: Bug) -> Vec<String> {
    run_store_model(Broken::new(bug), "broken:", MODEL_CASES).await
}

#[tokio::test]
async fn a_release_that_ignores_fencing_is_found() {
    let problems = problems_of(Bug::ReleaseIgnoresFencing).await;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    let problem = &problems[0];
    assert!(problem.starts_with("model case "), "{problem}");
    assert!(
        problem.contains("release(k") && problem.contains("expected Err(NotHeld), got Ok"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_coarse_retry_after_is_found() {
    let problems = problems_of(Bug::CoarseRetryAfter).await;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains(": claim(k") && problems[0].contains("expected InFlight(retry_after"),
        "{}",
        problems[0]
    );
}

#[tokio::test]
async fn a_holder_refused_after_its_lease_is_found() {
    let problems = problems_of(Bug::ExpiredHolderCannotComplete).await;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("complete(k") && problems[0].contains("expected Ok, got Err(NotHeld)"),
        "{}",
        problems[0]
    );
}

#[tokio::test]
async fn an_expired_claim_read_as_in_flight_is_found() {
    let problems = problems_of(Bug::ExpiredClaimInFlight).await;
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("state(k") && problems[0].contains("expected Absent, got InFlight"),
        "{}",
        problems[0]
    );
}

#[tokio::test]
async fn the_sequences_are_the_same_on_every_run() {
    let first = problems_of(Bug::ReleaseIgnoresFencing).await;
    let second = problems_of(Bug::ReleaseIgnoresFencing).await;
    assert_eq!(first, second);
}

//! The store conformance suite (feature `testing`): the semantics every [`IdempotencyStore`]
//! must have, checked the same way against the in-memory store and every durable backend; and
//! the suites of inboxes ([`run_inbox_conformance`]) and reconcile states
//! ([`run_reconcile_state_conformance`]).
//!
//! Time is an argument of every store operation, so the suite runs on virtual times (offsets
//! from the moment it starts): lease expiry and retention are checked without sleeping.
//!
//! Besides the cases written out, [`run_store_model`] runs generated sequences of operations
//! and compares every answer with a reference model of the trait's semantics.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::join_all;
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};

mod inbox;
mod model;
mod model_run;
mod reconcile;

pub use inbox::run_inbox_conformance;
pub use model_run::{MODEL_CASES, run_store_model};
pub use reconcile::run_reconcile_state_conformance;

const LEASE: Duration = Duration::from_secs(5);
const RETENTION: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

/// Runs every case against `store`, with keys made unique by `namespace` (so runs against one
/// shared server do not collide), and returns the problems found (empty: the store conforms).
///
/// The last case is [`run_store_model`] with [`MODEL_CASES`] sequences, on keys under
/// `{namespace}model:`.
pub async fn run_store_conformance<S>(store: Arc<S>, namespace: &str) -> Vec<String>
where
    S: IdempotencyStore + 'static,
{
    let t0 = SystemTime::now();
    let key = |name: &str| IdempotencyKey::new(format!("{namespace}{name}"));
    let mut problems = Vec::new();
    let cases: [(&str, Result<(), String>); 8] = [
        (
            "claim, in flight, complete, done, retention",
            life(&*store, &key("life"), t0).await,
        ),
        (
            "concurrent claims",
            concurrent(Arc::clone(&store), key("race"), t0).await,
        ),
        (
            "fencing after a takeover",
            fencing(&*store, &key("fence"), t0).await,
        ),
        (
            "an expired claim not taken over",
            expired_holder(&*store, &key("late"), t0).await,
        ),
        ("release", release(&*store, &key("release"), t0).await),
        ("renew", renew(&*store, &key("renew"), t0).await),
        (
            "a crash between claim and complete",
            crash(&*store, &key("crash"), t0).await,
        ),
        (
            "model-based sequences",
            model(Arc::clone(&store), &format!("{namespace}model:")).await,
        ),
    ];
    for (name, result) in cases {
        if let Err(problem) = result {
            problems.push(format!("{name}: {problem}"));
        }
    }
    problems
}

async fn model<S: IdempotencyStore + ?Sized>(store: Arc<S>, namespace: &str) -> Result<(), String> {
    let problems = run_store_model(store, namespace, MODEL_CASES).await;
    check(problems.is_empty(), || problems.join("\n"))
}

fn check(condition: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if condition { Ok(()) } else { Err(what()) }
}

async fn acquire<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    now: SystemTime,
) -> Result<ClaimToken, String> {
    match store.claim(key, now, LEASE).await {
        Ok(Claim::Acquired(token)) => Ok(token),
        other => Err(format!("claim of {key}: expected Acquired, got {other:?}")),
    }
}

async fn state<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    now: SystemTime,
) -> Result<KeyState, String> {
    store
        .state(key, now)
        .await
        .map_err(|e| format!("state: {e}"))
}

async fn life<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    t0: SystemTime,
) -> Result<(), String> {
    let token = acquire(store, key, t0).await?;
    match store.claim(key, t0 + SECOND, LEASE).await {
        Ok(Claim::InFlight { retry_after }) => check(
            retry_after <= LEASE - SECOND && retry_after >= LEASE - 2 * SECOND,
            || format!("retry_after {retry_after:?}, expected about 4 s"),
        )?,
        other => return Err(format!("second claim: expected InFlight, got {other:?}")),
    }
    check(state(store, key, t0).await? == KeyState::InFlight, || {
        "state: not in flight".into()
    })?;
    store
        .complete(key, token, t0 + SECOND, RETENTION)
        .await
        .map_err(|e| format!("complete: {e}"))?;
    check(
        matches!(
            store.claim(key, t0 + 2 * SECOND, LEASE).await,
            Ok(Claim::Done)
        ),
        || "a completed key is not Done".into(),
    )?;
    check(
        state(store, key, t0 + 2 * SECOND).await? == KeyState::Done,
        || "state: not done".into(),
    )?;
    // Past its retention, the key is forgotten and claimable again.
    let later = t0 + SECOND + RETENTION + SECOND;
    check(state(store, key, later).await? == KeyState::Absent, || {
        "state: still done after the retention".into()
    })?;
    acquire(store, key, later).await.map(drop)
}

async fn concurrent<S: IdempotencyStore + 'static>(
    store: Arc<S>,
    key: IdempotencyKey,
    t0: SystemTime,
) -> Result<(), String> {
    let claims = (0..32).map(|_| {
        let (store, key) = (Arc::clone(&store), key.clone());
        async move { store.claim(&key, t0, LEASE).await }
    });
    let results = join_all(claims).await;
    let acquired = results
        .iter()
        .filter(|result| matches!(result, Ok(Claim::Acquired(_))))
        .count();
    let in_flight = results
        .iter()
        .filter(|result| matches!(result, Ok(Claim::InFlight { .. })))
        .count();
    check(acquired == 1 && in_flight == 31, || {
        format!("32 concurrent claims: {acquired} acquired, {in_flight} in flight")
    })
}

async fn fencing<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    t0: SystemTime,
) -> Result<(), String> {
    let first = acquire(store, key, t0).await?;
    let takeover = t0 + LEASE + SECOND;
    let second = acquire(store, key, takeover).await?;
    check(first != second, || "the takeover got the same token".into())?;
    let not_held = |result: Result<(), StoreError>, what: &str| {
        check(matches!(result, Err(StoreError::NotHeld { .. })), || {
            format!("the old holder's {what}: expected NotHeld, got {result:?}")
        })
    };
    not_held(store.renew(key, first, takeover, LEASE).await, "renew")?;
    not_held(
        store.complete(key, first, takeover, RETENTION).await,
        "complete",
    )?;
    not_held(store.release(key, first, takeover).await, "release")?;
    check(
        state(store, key, takeover).await? == KeyState::InFlight,
        || "the new holder's claim was touched".into(),
    )?;
    store
        .complete(key, second, takeover, RETENTION)
        .await
        .map_err(|e| format!("the new holder's complete: {e}"))
}

async fn expired_holder<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    t0: SystemTime,
) -> Result<(), String> {
    let token = acquire(store, key, t0).await?;
    let late = t0 + LEASE + SECOND;
    check(state(store, key, late).await? == KeyState::Absent, || {
        "an expired claim still reads as in flight".into()
    })?;
    store
        .complete(key, token, late, RETENTION)
        .await
        .map_err(|e| format!("fencing is by token: a holder past its lease that nobody took over must complete, got {e}"))?;
    check(state(store, key, late).await? == KeyState::Done, || {
        "not done".into()
    })
}

async fn release<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    t0: SystemTime,
) -> Result<(), String> {
    let token = acquire(store, key, t0).await?;
    let wrong = ClaimToken::new(token.get().wrapping_add(1_000_000));
    check(
        matches!(
            store.release(key, wrong, t0).await,
            Err(StoreError::NotHeld { .. })
        ),
        || "a release with a wrong token was accepted".into(),
    )?;
    store
        .release(key, token, t0)
        .await
        .map_err(|e| format!("release: {e}"))?;
    check(
        matches!(
            store.release(key, token, t0).await,
            Err(StoreError::NotHeld { .. })
        ),
        || "a second release was accepted".into(),
    )?;
    acquire(store, key, t0 + SECOND).await.map(drop)
}

async fn renew<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    t0: SystemTime,
) -> Result<(), String> {
    let token = acquire(store, key, t0).await?;
    store
        .renew(key, token, t0 + 4 * SECOND, LEASE)
        .await
        .map_err(|e| format!("renew: {e}"))?;
    check(
        state(store, key, t0 + 8 * SECOND).await? == KeyState::InFlight,
        || "a renewed claim expired at its first lease".into(),
    )?;
    check(
        state(store, key, t0 + 10 * SECOND).await? == KeyState::Absent,
        || "a renewed claim outlived its renewal".into(),
    )
}

async fn crash<S: IdempotencyStore + ?Sized>(
    store: &S,
    key: &IdempotencyKey,
    t0: SystemTime,
) -> Result<(), String> {
    let _abandoned = acquire(store, key, t0).await?;
    check(
        matches!(
            store.claim(key, t0 + 4 * SECOND, LEASE).await,
            Ok(Claim::InFlight { .. })
        ),
        || "an abandoned claim was retaken before its lease ran out".into(),
    )?;
    acquire(store, key, t0 + LEASE).await.map(drop)
}

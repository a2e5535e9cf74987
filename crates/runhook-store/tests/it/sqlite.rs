//! The SQLite store's own behaviour: restarts, pruning, several stores on one file, schema
//! versions, errors, and many concurrent callers sharing its transactions (group commit).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use runhook::store::{Claim, IdempotencyKey, IdempotencyStore, KeyState, StoreError};
use runhook_store::{GC_MARGIN, SqliteStore};

const LEASE: Duration = Duration::from_secs(5);
const RETENTION: Duration = Duration::from_secs(60);

async fn acquire(
    store: &SqliteStore,
    key: &IdempotencyKey,
    now: SystemTime,
) -> runhook::store::ClaimToken {
    match store.claim(key, now, LEASE).await.unwrap() {
        Claim::Acquired(token) => token,
        other => panic!("claim of {key}: expected Acquired, got {other:?}"),
    }
}

#[tokio::test]
async fn a_sqlite_store_keeps_its_keys_and_tokens_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let t0 = SystemTime::now();
    let (done, pending) = (IdempotencyKey::new("done"), IdempotencyKey::new("pending"));

    let store = SqliteStore::open(&path).await.unwrap();
    let token = acquire(&store, &done, t0).await;
    store.complete(&done, token, t0, RETENTION).await.unwrap();
    let held = acquire(&store, &pending, t0).await;
    drop(store);

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.path(), Some(path.as_path()));
    assert_eq!(store.state(&done, t0).await.unwrap(), KeyState::Done);
    assert_eq!(store.claim(&done, t0, LEASE).await.unwrap(), Claim::Done);
    assert_eq!(store.state(&pending, t0).await.unwrap(), KeyState::InFlight);
    // A holder from before the restart still holds its claim; new tokens never repeat old ones.
    let fresh = acquire(&store, &IdempotencyKey::new("fresh"), t0).await;
    assert!(fresh.get() > held.get() && held.get() > token.get());
    store.complete(&pending, held, t0, RETENTION).await.unwrap();
    assert_eq!(store.state(&pending, t0).await.unwrap(), KeyState::Done);
}

#[tokio::test]
async fn the_sqlite_store_prunes_expired_rows_in_bounded_sweeps() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let t0 = SystemTime::now();
    for i in 0..1200 {
        acquire(&store, &IdempotencyKey::new(format!("pending-{i}")), t0).await;
    }
    for i in 0..300 {
        let key = IdempotencyKey::new(format!("done-{i}"));
        let token = acquire(&store, &key, t0).await;
        store.complete(&key, token, t0, RETENTION).await.unwrap();
    }
    // 15 opportunistic sweeps ran at t0, when nothing had expired.
    assert_eq!(store.row_count().await.unwrap(), 1500);

    // Past the retention: the completed keys go; the claims past their lease stay (their
    // holders may still complete them) until the GC margin has passed too.
    let after_retention = t0 + 2 * RETENTION;
    assert_eq!(store.prune(after_retention).await.unwrap(), 300);
    assert_eq!(store.row_count().await.unwrap(), 1200);
    let pending = IdempotencyKey::new("pending-0");
    assert_eq!(
        store.state(&pending, after_retention).await.unwrap(),
        KeyState::Absent
    );

    let abandoned = t0 + LEASE + GC_MARGIN;
    assert_eq!(
        store.prune(abandoned).await.unwrap(),
        SqliteStore::SWEEP_LIMIT
    );
    assert_eq!(store.prune(abandoned).await.unwrap(), 200);
    assert_eq!(store.prune(abandoned).await.unwrap(), 0);
    assert_eq!(store.row_count().await.unwrap(), 0);

    // Opportunistic: every SWEEP_EVERY-th claim sweeps with its own `now`. 1,500 claims so far
    // (a multiple of SWEEP_EVERY), so the next sweep follows the SWEEP_EVERY-th claim from here.
    let old = IdempotencyKey::new("old");
    acquire(&store, &old, t0).await;
    let later = t0 + LEASE + GC_MARGIN + Duration::from_secs(1);
    for i in 2..SqliteStore::SWEEP_EVERY {
        acquire(&store, &IdempotencyKey::new(format!("new-{i}")), later).await;
    }
    assert_eq!(
        store.row_count().await.unwrap(),
        SqliteStore::SWEEP_EVERY - 1
    );
    assert_eq!(store.state(&old, t0).await.unwrap(), KeyState::InFlight);
    acquire(&store, &IdempotencyKey::new("the sweeping claim"), later).await;
    assert_eq!(
        store.state(&old, t0).await.unwrap(),
        KeyState::Absent,
        "the old claim was not swept"
    );
    assert_eq!(
        store.row_count().await.unwrap(),
        SqliteStore::SWEEP_EVERY - 1
    );
}

#[tokio::test]
async fn two_sqlite_stores_opening_one_new_file_at_once_share_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let (a, b) = tokio::join!(SqliteStore::open(&path), SqliteStore::open(&path));
    let (a, b) = (a.unwrap(), b.unwrap());
    let key = IdempotencyKey::new("shared");
    let t0 = SystemTime::now();
    let token = acquire(&a, &key, t0).await;
    assert!(matches!(
        b.claim(&key, t0, LEASE).await.unwrap(),
        Claim::InFlight { .. }
    ));
    b.complete(&key, token, t0, RETENTION).await.unwrap();
    assert_eq!(a.claim(&key, t0, LEASE).await.unwrap(), Claim::Done);
}

#[tokio::test]
async fn a_sqlite_file_with_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    drop(SqliteStore::open(&path).await.unwrap());
    let newer = SqliteStore::SCHEMA_VERSION + 1;
    rusqlite::Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let error = SqliteStore::open(&path).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(
        message.contains("runhook.db") && message.contains("newer"),
        "{message}"
    );
}

#[tokio::test]
async fn an_unopenable_sqlite_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no such directory").join("runhook.db");
    let error = SqliteStore::open(&path).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_callers_each_get_their_own_answer() {
    const CALLERS: u64 = 64;
    const ROUNDS: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(
        SqliteStore::open(dir.path().join("runhook.db"))
            .await
            .unwrap(),
    );
    let t0 = SystemTime::now();
    let mut tasks = tokio::task::JoinSet::new();
    for caller in 0..CALLERS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let (mut tokens, mut won) = (Vec::new(), Vec::new());
            for round in 0..ROUNDS {
                // A key of its own: acquired, completed, then done.
                let own = IdempotencyKey::new(format!("own-{caller}-{round}"));
                let token = acquire(&store, &own, t0).await;
                store.complete(&own, token, t0, RETENTION).await.unwrap();
                assert_eq!(store.claim(&own, t0, LEASE).await.unwrap(), Claim::Done);
                tokens.push(token.get());
                // A key every caller races for: exactly one wins it; a wrong token is refused.
                let race = IdempotencyKey::new(format!("race-{round}"));
                if let Claim::Acquired(token) = store.claim(&race, t0, LEASE).await.unwrap() {
                    let wrong = runhook::store::ClaimToken::new(token.get() + 1_000_000);
                    let refused = store.complete(&race, wrong, t0, RETENTION).await;
                    assert!(matches!(refused, Err(StoreError::NotHeld { .. })));
                    tokens.push(token.get());
                    won.push(round);
                }
            }
            (tokens, won)
        });
    }
    let (mut tokens, mut winners) = (HashSet::new(), vec![0; ROUNDS]);
    while let Some(result) = tasks.join_next().await {
        let (mine, won) = result.unwrap();
        for token in mine {
            assert!(tokens.insert(token), "token {token} handed out twice");
        }
        for round in won {
            winners[round] += 1;
        }
    }
    assert_eq!(winners, vec![1; ROUNDS], "one winner per raced key");
    let keys = CALLERS * ROUNDS as u64 + ROUNDS as u64;
    assert_eq!(tokens.len() as u64, keys);
    assert_eq!(store.row_count().await.unwrap(), keys);
}

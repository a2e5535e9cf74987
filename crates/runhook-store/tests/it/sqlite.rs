//! The SQLite store's own behaviour: restarts, pruning, several stores on one file, schema
//! versions, errors, and many concurrent callers sharing its transactions (group commit).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use runhook::inbox::Inbox;
use runhook::reconcile::Source;
use runhook::store::{Claim, IdempotencyKey, IdempotencyStore, KeyState, StoreError};
use runhook_store::{PURGE_MARGIN, SqliteInbox, SqliteStore};

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
async fn the_sqlite_store_purges_expired_rows_in_bounded_sweeps() {
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
    assert_eq!(store.purge(after_retention).await.unwrap(), 300);
    assert_eq!(store.row_count().await.unwrap(), 1200);
    let pending = IdempotencyKey::new("pending-0");
    assert_eq!(
        store.state(&pending, after_retention).await.unwrap(),
        KeyState::Absent
    );

    let abandoned = t0 + LEASE + PURGE_MARGIN;
    assert_eq!(
        store.purge(abandoned).await.unwrap(),
        SqliteStore::PURGE_LIMIT
    );
    assert_eq!(store.purge(abandoned).await.unwrap(), 200);
    assert_eq!(store.purge(abandoned).await.unwrap(), 0);
    assert_eq!(store.row_count().await.unwrap(), 0);

    // Opportunistic: every PURGE_EVERY-th claim sweeps with its own `now`. 1,500 claims so far
    // (a multiple of PURGE_EVERY), so the next sweep follows the PURGE_EVERY-th claim from here.
    let old = IdempotencyKey::new("old");
    acquire(&store, &old, t0).await;
    let later = t0 + LEASE + PURGE_MARGIN + Duration::from_secs(1);
    for i in 2..SqliteStore::PURGE_EVERY {
        acquire(&store, &IdempotencyKey::new(format!("new-{i}")), later).await;
    }
    assert_eq!(
        store.row_count().await.unwrap(),
        SqliteStore::PURGE_EVERY - 1
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
        SqliteStore::PURGE_EVERY - 1
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

/// A file as the SQLite store and inbox wrote it before they shared one migrator: the store's
/// version in `PRAGMA user_version` (no row in `runhook_schema`), the inbox's in
/// `runhook_schema`, and rows in both.
fn file_of_the_previous_schemas(path: &std::path::Path) {
    let connection = rusqlite::Connection::open(path).unwrap();
    connection
        .execute_batch(
            "PRAGMA journal_mode = WAL;
             CREATE TABLE runhook_idempotency (
                key TEXT PRIMARY KEY NOT NULL,
                done INTEGER NOT NULL,
                token INTEGER NOT NULL,
                until_ms INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE INDEX runhook_idempotency_expiry ON runhook_idempotency (done, until_ms);
             CREATE TABLE runhook_token (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
             INSERT INTO runhook_token (id, last) VALUES (1, 7);
             INSERT INTO runhook_idempotency VALUES ('done-key', 1, 6, 4102444800000);
             INSERT INTO runhook_idempotency VALUES ('held-key', 0, 7, 4102444800000);
             PRAGMA user_version = 1;
             CREATE TABLE runhook_schema (
                component TEXT PRIMARY KEY NOT NULL,
                version INTEGER NOT NULL
             ) WITHOUT ROWID;
             CREATE TABLE runhook_inbox (
                key TEXT PRIMARY KEY NOT NULL,
                run_id TEXT,
                event TEXT NOT NULL,
                received_at INTEGER NOT NULL,
                body BLOB NOT NULL,
                drift TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
                attempts INTEGER NOT NULL,
                next_at INTEGER NOT NULL,
                lease_until INTEGER,
                token INTEGER NOT NULL,
                last_error TEXT,
                finished_at INTEGER
             );
             CREATE INDEX runhook_inbox_run ON runhook_inbox (run_id, state, received_at, key);
             CREATE TABLE runhook_inbox_token (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
             INSERT INTO runhook_inbox_token (id, last) VALUES (1, 3);
             CREATE INDEX runhook_inbox_pending ON runhook_inbox (next_at, key) WHERE state = 'pending';
             CREATE INDEX runhook_inbox_finished ON runhook_inbox (state, finished_at)
               WHERE finished_at IS NOT NULL;
             INSERT INTO runhook_schema VALUES ('inbox', 2);
             INSERT INTO runhook_inbox VALUES ('old-row', 'run-1', 'run.completed', 1000,
               X'7B7D', '[]', 'pending', 0, 1000, NULL, 0, NULL, NULL);
             INSERT INTO runhook_inbox VALUES ('dead-row', NULL, 'run.failed', 900,
               X'7B7D', '[]', 'dead', 3, 900, NULL, 3, 'HTTP 500', 950);",
        )
        .unwrap();
}

#[tokio::test]
async fn a_file_of_the_previous_schemas_is_migrated_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    file_of_the_previous_schemas(&path);
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000);

    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(
        store
            .state(&IdempotencyKey::new("done-key"), t0)
            .await
            .unwrap(),
        KeyState::Done
    );
    assert_eq!(
        store
            .state(&IdempotencyKey::new("held-key"), t0)
            .await
            .unwrap(),
        KeyState::InFlight
    );
    // The token counter went on from where it was.
    assert!(
        acquire(&store, &IdempotencyKey::new("new-key"), t0)
            .await
            .get()
            > 7
    );

    let inbox = store.inbox().await.unwrap();
    let old = inbox
        .get(&IdempotencyKey::new("old-row"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.run_id.as_deref(), Some("run-1"));
    let dead = inbox
        .get(&IdempotencyKey::new("dead-row"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.last_error.as_deref(), Some("HTTP 500"));
    // Rows of a version before the source column were webhooks.
    assert_eq!(
        (old.source, dead.source),
        (Source::Webhook, Source::Webhook)
    );
    let claims = inbox.claim_due(t0, LEASE, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert!(claims[0].token.get() > 3);
    drop((store, inbox));

    let connection = rusqlite::Connection::open(&path).unwrap();
    let versions: Vec<(String, i64)> = connection
        .prepare("SELECT component, version FROM runhook_schema ORDER BY component")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        versions,
        [
            ("inbox".to_owned(), SqliteInbox::SCHEMA_VERSION),
            ("store".to_owned(), SqliteStore::SCHEMA_VERSION)
        ]
    );
}

#[tokio::test]
async fn an_inbox_opened_as_existing_refuses_a_missing_file_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    let error = SqliteInbox::open_existing(&path).await.unwrap_err();
    assert!(error.to_string().contains("missing.db"), "{error}");
    assert!(error.to_string().contains("no such file"), "{error}");
    assert!(!path.exists());
    drop(SqliteInbox::open(&path).await.unwrap());
    SqliteInbox::open_existing(&path).await.unwrap();
}

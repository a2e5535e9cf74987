//! The inbox conformance suite against the in-memory inbox, the SQLite inbox (in memory and on
//! a temporary file) and a real PostgreSQL server (`RUNHOOK_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; each run in a schema of its own, dropped at the
//! end; with `CI=true` an unreachable server fails the run, elsewhere it is skipped loudly).
//! Then each backend's own behaviour: restarts, schema versions, sharing a file or a schema.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::inbox::{Inbox, InboxState, Inserted, MemoryInbox, NewInboxEntry, Settlement};
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, StoreError};
use runhook_store::testing::run_inbox_conformance;
use runhook_store::{PostgresConfig, PostgresInbox, PostgresStore, SqliteInbox, SqliteStore};
use support::{drop_schema, postgres_url, reachable, unique_schema};

const LEASE: Duration = Duration::from_secs(30);

/// Now, in whole milliseconds (as durable inboxes keep times).
fn now() -> SystemTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
}

fn record(key: &str, at: SystemTime) -> NewInboxEntry {
    NewInboxEntry::new(
        IdempotencyKey::new(key),
        "run.completed",
        at,
        b"{}".to_vec(),
    )
    .with_run_id(key)
}

#[tokio::test]
async fn the_memory_inbox_conforms() {
    let problems = run_inbox_conformance(Arc::new(MemoryInbox::new()), "memory:").await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn the_sqlite_inbox_conforms() {
    let inbox = SqliteInbox::open_in_memory().await.unwrap();
    let problems = run_inbox_conformance(Arc::new(inbox), "").await;
    assert!(problems.is_empty(), "in memory: {problems:#?}");

    let dir = tempfile::tempdir().unwrap();
    let inbox = SqliteInbox::open(dir.path().join("runhook.db"))
        .await
        .unwrap();
    let problems = run_inbox_conformance(Arc::new(inbox), "").await;
    assert!(problems.is_empty(), "on a file: {problems:#?}");
}

#[tokio::test]
async fn a_sqlite_inbox_keeps_its_rows_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let t0 = now();
    let inbox = SqliteInbox::open(&path).await.unwrap();
    inbox.insert(record("kept", t0), t0).await.unwrap();
    let claims = inbox.claim_due(t0, LEASE, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    let token = claims[0].token;
    drop(inbox);

    let inbox = SqliteInbox::open(&path).await.unwrap();
    assert_eq!(inbox.path(), Some(path.as_path()));
    let entry = inbox
        .get(&IdempotencyKey::new("kept"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry, claims[0].entry);
    assert_eq!(entry.state, InboxState::Pending);
    let duplicate = inbox.insert(record("kept", t0), t0).await.unwrap();
    assert_eq!(duplicate, Inserted::Duplicate(InboxState::Pending));
    // Still leased, then claimable once the lease has run out, with a token never seen before.
    assert!(
        inbox
            .claim_due(t0 + LEASE / 2, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = inbox.claim_due(t0 + LEASE, LEASE, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].entry.attempts, 2);
    assert!(again[0].token.get() > token.get());
    let key = IdempotencyKey::new("kept");
    inbox
        .settle(&key, again[0].token, t0 + LEASE, Settlement::Done)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sqlite_inbox_and_store_share_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let t0 = now();
    for _ in 0..2 {
        // Opened in both orders, so each finds the other's tables.
        let (store, inbox) = tokio::join!(SqliteStore::open(&path), SqliteInbox::open(&path));
        let (store, inbox) = (store.unwrap(), inbox.unwrap());
        let key = IdempotencyKey::new(format!("{:?}", std::time::Instant::now()));
        assert!(matches!(
            store.claim(&key, t0, LEASE).await,
            Ok(Claim::Acquired(_))
        ));
        assert_eq!(
            inbox.insert(record(key.as_str(), t0), t0).await,
            Ok(Inserted::New)
        );
    }
    let inbox = SqliteInbox::open(&path).await.unwrap();
    assert_eq!(inbox.depth(t0).await.unwrap().pending, 2);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .unwrap();
    assert_eq!(version, SqliteStore::SCHEMA_VERSION);
}

#[tokio::test]
async fn a_sqlite_row_of_an_unknown_source_is_an_error_not_a_guess() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let t0 = now();
    let inbox = SqliteInbox::open(&path).await.unwrap();
    inbox.insert(record("odd", t0), t0).await.unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute("UPDATE runhook_inbox SET source = 'sweep'", [])
        .unwrap();
    let error = inbox.get(&IdempotencyKey::new("odd")).await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("SQLite") && message.contains("\"odd\"") && message.contains("sweep"),
        "{message}"
    );
}

#[tokio::test]
async fn a_sqlite_file_with_a_newer_inbox_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    drop(SqliteInbox::open(&path).await.unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE runhook_schema SET version = ?1 WHERE component = 'inbox'",
            [SqliteInbox::SCHEMA_VERSION + 1],
        )
        .unwrap();
    let error = SqliteInbox::open(&path).await.unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(
        message.contains("runhook.db") && message.contains("newer"),
        "{message}"
    );
    // The idempotency store on the same file is not concerned.
    SqliteStore::open(&path).await.unwrap();
}

/// Connects an inbox in `schema`, or `None` (skipped loudly) without PostgreSQL outside CI.
async fn postgres(schema: &str, config: PostgresConfig) -> Option<PostgresInbox> {
    let url = postgres_url();
    let connected = PostgresInbox::connect_with(&url, config.schema(schema)).await;
    reachable(
        "the PostgreSQL inbox test",
        &format!("PostgreSQL at {url}"),
        connected,
    )
}

#[tokio::test]
async fn the_postgres_inbox_conforms() {
    let schema = unique_schema();
    let Some(inbox) = postgres(&schema, PostgresConfig::default()).await else {
        return;
    };
    let problems = run_inbox_conformance(Arc::new(inbox), "").await;
    drop_schema(&schema).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn two_postgres_inbox_replicas_migrate_at_once_beside_a_store() {
    let schema = unique_schema();
    let config = PostgresConfig::default().schema(&schema);
    let url = postgres_url();
    let (a, b, store) = tokio::join!(
        PostgresInbox::connect_with(&url, config.clone()),
        PostgresInbox::connect_with(&url, config.clone()),
        PostgresStore::connect_with(&url, config.clone()),
    );
    let Some(a) = reachable("two PostgreSQL inbox replicas", "PostgreSQL", a) else {
        return;
    };
    let (b, store) = (b.unwrap(), store.unwrap());
    let t0 = now();
    let key = IdempotencyKey::new("shared");
    let first = a.insert(record("shared", t0), t0).await;
    let second = b.insert(record("shared", t0), t0).await;
    let claimed = store.claim(&key, t0, LEASE).await;
    let restarted = PostgresInbox::connect_with(&url, config).await.map(|_| ());
    drop_schema(&schema).await;
    assert_eq!(first, Ok(Inserted::New));
    assert_eq!(second, Ok(Inserted::Duplicate(InboxState::Pending)));
    assert!(matches!(claimed, Ok(Claim::Acquired(_))), "{claimed:?}");
    assert_eq!(restarted, Ok(()));
}

#[tokio::test]
async fn a_postgres_inbox_table_must_differ_from_the_store_table() {
    let config = PostgresConfig::default().inbox_table("runhook_idempotency");
    let error = PostgresInbox::connect_with(&postgres_url(), config)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("runhook_idempotency"), "{error}");
    let config = PostgresConfig::default().inbox_table("inbox\"; DROP TABLE x; --");
    let error = PostgresInbox::connect_with(&postgres_url(), config)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("table name"), "{error}");
}

/// Inserts and settlements sent together are committed in groups: a key repeated within a group
/// is new once and
/// a duplicate otherwise, and a row the database refuses (text with a NUL byte) fails alone.
#[tokio::test]
async fn postgres_writes_committed_together_keep_their_own_answers() {
    let schema = unique_schema();
    let Some(inbox) = postgres(&schema, PostgresConfig::default()).await else {
        return;
    };
    let t0 = now();
    let mut records: Vec<NewInboxEntry> = (0..200)
        .map(|i| record(&format!("group-{i}"), t0))
        .collect();
    records.extend((0..8).map(|_| record("repeated", t0)));
    records.push(NewInboxEntry::new(
        IdempotencyKey::new("refused"),
        "run.\0completed",
        t0,
        b"{}".to_vec(),
    ));
    let answers =
        futures::future::join_all(records.into_iter().map(|record| inbox.insert(record, t0))).await;
    let depth = inbox.depth(t0).await;
    let refused = inbox.get(&IdempotencyKey::new("refused")).await;

    // Settlements as done, sent together: each fenced by its own token; a repeat of one within
    // the group is refused, as a second settlement would be.
    let claims = inbox.claim_due(t0, LEASE, 300).await.unwrap();
    let mut settlements: Vec<(IdempotencyKey, ClaimToken)> = claims
        .iter()
        .map(|claim| (claim.entry.key.clone(), claim.token))
        .collect();
    let stale = ClaimToken::new(claims[0].token.get() + 1_000_000);
    settlements.push((claims[1].entry.key.clone(), stale));
    settlements.push((claims[2].entry.key.clone(), claims[2].token));
    let settled = futures::future::join_all(
        settlements
            .iter()
            .map(|(key, token)| inbox.settle(key, *token, t0, Settlement::Done)),
    )
    .await;
    let done = inbox.depth(t0).await;
    drop_schema(&schema).await;

    assert_eq!(claims.len(), 201);
    assert!(
        settled[..201]
            .iter()
            .enumerate()
            .all(|(i, s)| i == 2 || s.is_ok()),
        "{settled:?}"
    );
    let not_held = |s: &Result<(), StoreError>| matches!(s, Err(StoreError::NotHeld { .. }));
    assert!(not_held(&settled[201]), "a stale token: {:?}", settled[201]);
    assert_eq!(
        [&settled[2], &settled[202]]
            .iter()
            .filter(|s| s.is_ok())
            .count(),
        1,
        "one settlement twice: {:?} {:?}",
        settled[2],
        settled[202]
    );
    assert!(not_held(&settled[2]) || not_held(&settled[202]));
    let done = done.unwrap();
    assert_eq!((done.done, done.pending, done.in_flight), (201, 0, 0));

    for (i, answer) in answers[..200].iter().enumerate() {
        assert_eq!(answer, &Ok(Inserted::New), "group-{i}");
    }
    let repeated = &answers[200..208];
    let new = repeated.iter().filter(|a| **a == Ok(Inserted::New)).count();
    let duplicates = repeated
        .iter()
        .filter(|a| **a == Ok(Inserted::Duplicate(InboxState::Pending)))
        .count();
    assert_eq!((new, duplicates), (1, 7), "{repeated:?}");
    assert!(
        matches!(&answers[208], Err(StoreError::Unavailable { message }) if message.contains("0x00")),
        "{:?}",
        answers[208]
    );
    assert_eq!(refused, Ok(None));
    assert_eq!(depth.unwrap().pending, 201);
}

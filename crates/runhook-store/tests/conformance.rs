//! The store conformance suite against the in-memory store, the SQLite store (in memory and on a
//! temporary file), a real Redis server (`RUNHOOK_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`) and a real PostgreSQL server (`RUNHOOK_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; each run in a schema of its own, dropped at the
//! end). With `CI=true` an unreachable server fails the run; elsewhere the case is skipped with a
//! loud message. Then each backend's own behaviour: restarts, pruning, schema versions, errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use runhook::MemoryStore;
use runhook::store::{Claim, IdempotencyKey, IdempotencyStore, KeyState, StoreError};
use runhook_store::testing::run_store_conformance;
use runhook_store::{GC_MARGIN, PostgresStore, PostgresStoreConfig, RedisStore, SqliteStore};
use support::{drop_schema, postgres_url, unique_schema};

fn unique(backend: &str) -> String {
    format!("runhook-test:{backend}:{}:", uuid::Uuid::new_v4())
}

#[tokio::test]
async fn the_memory_store_conforms() {
    let problems = run_store_conformance(Arc::new(MemoryStore::new()), &unique("memory")).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn the_redis_store_conforms() {
    let url = std::env::var("RUNHOOK_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = unique("redis");
    let store = match RedisStore::connect_with_prefix(&url, &prefix).await {
        Ok(store) => store,
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("Redis at {url} is needed in CI: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED: the Redis store conformance run: no Redis at {url} ({error})");
            return;
        }
    };
    let problems = run_store_conformance(Arc::new(store), "").await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn an_unreachable_redis_is_an_error_at_connect() {
    let error = RedisStore::connect("redis://127.0.0.1:1")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("Redis"), "{error}");
}

/// Connects in `schema`, or `None` (skipped loudly) if no PostgreSQL runs here outside CI.
async fn postgres(schema: &str, config: PostgresStoreConfig) -> Option<PostgresStore> {
    let url = postgres_url();
    match PostgresStore::connect_with(&url, config.schema(schema)).await {
        Ok(store) => Some(store),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL at {url} is needed in CI: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED: the PostgreSQL store test: no PostgreSQL at {url} ({error})");
            None
        }
    }
}

#[tokio::test]
async fn the_postgres_store_conforms() {
    let schema = unique_schema();
    let Some(store) = postgres(&schema, PostgresStoreConfig::default()).await else {
        return;
    };
    let problems = run_store_conformance(Arc::new(store), "").await;
    drop_schema(&schema).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn a_completed_key_survives_a_postgres_store_restart() {
    let schema = unique_schema();
    let Some(store) = postgres(&schema, PostgresStoreConfig::default()).await else {
        return;
    };
    let key = IdempotencyKey::new("restart");
    let t0 = SystemTime::now();
    let Ok(Claim::Acquired(token)) = store.claim(&key, t0, Duration::from_secs(5)).await else {
        panic!("the first claim was not acquired");
    };
    store
        .complete(&key, token, t0, Duration::from_secs(60))
        .await
        .unwrap();
    drop(store);
    let store = postgres(&schema, PostgresStoreConfig::default())
        .await
        .unwrap();
    let later = t0 + Duration::from_secs(1);
    let claim = store.claim(&key, later, Duration::from_secs(5)).await;
    let state = store.state(&key, later).await;
    // A new claim after the restart gets a token never handed out before.
    let fresh = store
        .claim(&IdempotencyKey::new("fresh"), later, Duration::from_secs(5))
        .await;
    drop_schema(&schema).await;
    assert_eq!(claim, Ok(Claim::Done));
    assert_eq!(state, Ok(KeyState::Done));
    assert!(
        matches!(fresh, Ok(Claim::Acquired(new)) if new > token),
        "{fresh:?} after {token:?}"
    );
}

#[tokio::test]
async fn two_postgres_replicas_migrate_at_once() {
    let schema = unique_schema();
    let config = PostgresStoreConfig::default().schema(&schema);
    let url = postgres_url();
    let (a, b) = tokio::join!(
        PostgresStore::connect_with(&url, config.clone()),
        PostgresStore::connect_with(&url, config.clone()),
    );
    if a.is_err() && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("SKIPPED: two PostgreSQL replicas migrating: {a:?}");
        return;
    }
    let key = IdempotencyKey::new("shared");
    let t0 = SystemTime::now();
    let (a, b) = (a.unwrap(), b.unwrap());
    let first = a.claim(&key, t0, Duration::from_secs(5)).await;
    let second = b.claim(&key, t0, Duration::from_secs(5)).await;
    drop_schema(&schema).await;
    assert!(matches!(first, Ok(Claim::Acquired(_))), "{first:?}");
    assert!(matches!(second, Ok(Claim::InFlight { .. })), "{second:?}");
}

#[tokio::test]
async fn postgres_prune_removes_only_what_no_answer_needs() {
    let schema = unique_schema();
    // Batches of 2 rows, so several DELETEs run.
    let Some(store) = postgres(&schema, PostgresStoreConfig::default().prune_batch(2)).await else {
        return;
    };
    let lease = Duration::from_secs(5);
    let retention = Duration::from_secs(60);
    let t0 = SystemTime::now();
    let now = t0 + Duration::from_secs(3 * 60 * 60);
    let claim = |name: &'static str, at: SystemTime| {
        let store = &store;
        async move {
            match store.claim(&IdempotencyKey::new(name), at, lease).await {
                Ok(Claim::Acquired(token)) => token,
                other => panic!("claim of {name}: {other:?}"),
            }
        }
    };
    // Gone: completed keys past their retention, claims an hour past their lease.
    for name in ["done-1", "done-2", "done-3"] {
        let token = claim(name, t0).await;
        store
            .complete(&IdempotencyKey::new(name), token, t0, retention)
            .await
            .unwrap();
    }
    for name in ["abandoned-1", "abandoned-2"] {
        claim(name, t0).await;
    }
    // Kept: a claim past its lease by less than the margin, a completed key still retained, a
    // running claim.
    let late = claim("late", now - Duration::from_secs(30 * 60)).await;
    let token = claim("retained", now - Duration::from_secs(10)).await;
    store
        .complete(&IdempotencyKey::new("retained"), token, now, retention)
        .await
        .unwrap();
    claim("running", now).await;

    let removed = store.prune(now).await;
    let again = store.prune(now).await;
    let late_complete = store
        .complete(&IdempotencyKey::new("late"), late, now, retention)
        .await;
    let retained = store.state(&IdempotencyKey::new("retained"), now).await;
    let running = store.state(&IdempotencyKey::new("running"), now).await;
    let reclaimed = store
        .claim(&IdempotencyKey::new("done-1"), now, lease)
        .await;
    drop_schema(&schema).await;
    assert_eq!(removed, Ok(5));
    assert_eq!(again, Ok(0));
    assert_eq!(late_complete, Ok(()), "the late holder keeps its claim");
    assert_eq!(retained, Ok(KeyState::Done));
    assert_eq!(running, Ok(KeyState::InFlight));
    assert!(matches!(reclaimed, Ok(Claim::Acquired(_))), "{reclaimed:?}");
}

#[tokio::test]
async fn an_unreachable_postgres_is_an_error_at_connect_without_the_password() {
    let error = PostgresStore::connect("postgres://postgres:s3cret-pw@127.0.0.1:1/test")
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    assert!(message.contains("PostgreSQL"), "{message}");
    assert!(!message.contains("s3cret-pw"), "{message}");
}

#[tokio::test]
async fn a_postgres_table_name_must_be_a_plain_identifier() {
    let config = PostgresStoreConfig::default().table("idempotency\"; DROP TABLE x; --");
    let error = PostgresStore::connect_with(&postgres_url(), config)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("table name"), "{error}");
}

#[tokio::test]
async fn the_sqlite_store_conforms() {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let problems = run_store_conformance(Arc::new(store), "").await;
    assert!(problems.is_empty(), "in memory: {problems:#?}");

    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runhook.db"))
        .await
        .unwrap();
    let problems = run_store_conformance(Arc::new(store), "").await;
    assert!(problems.is_empty(), "on a file: {problems:#?}");
}

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

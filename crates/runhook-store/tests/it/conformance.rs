//! The store conformance suite against the in-memory store, the SQLite store (in memory and on a
//! temporary file), a real Redis server (`RUNHOOK_TEST_REDIS_URL`, default
//! `redis://127.0.0.1:6379`) and a real PostgreSQL server (`RUNHOOK_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; each run in a schema of its own, dropped at the
//! end). With `CI=true` an unreachable server fails the run; elsewhere the case is skipped with a
//! loud message. Then the servers' own behaviour: restarts, pruning, schema versions, errors
//! (SQLite's is in `tests/sqlite.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use runhook::MemoryStore;
use runhook::store::{Claim, IdempotencyKey, IdempotencyStore, KeyState, StoreError};
use runhook_store::testing::run_store_conformance;
use runhook_store::{PostgresConfig, PostgresStore, RedisStore, SqliteConfig, SqliteStore};
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
async fn postgres(schema: &str, config: PostgresConfig) -> Option<PostgresStore> {
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
    let Some(store) = postgres(&schema, PostgresConfig::default()).await else {
        return;
    };
    let problems = run_store_conformance(Arc::new(store), "").await;
    drop_schema(&schema).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn a_completed_key_survives_a_postgres_store_restart() {
    let schema = unique_schema();
    let Some(store) = postgres(&schema, PostgresConfig::default()).await else {
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
    let store = postgres(&schema, PostgresConfig::default()).await.unwrap();
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
    let config = PostgresConfig::default().schema(&schema);
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
async fn postgres_purge_removes_only_what_no_answer_needs() {
    let schema = unique_schema();
    // Batches of 2 rows, so several DELETEs run.
    let Some(store) = postgres(&schema, PostgresConfig::default().purge_batch(2)).await else {
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

    let removed = store.purge(now).await;
    let again = store.purge(now).await;
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
    // In plain words: where, and what happened (the driver's chain is logged at debug level).
    assert!(
        message.contains("cannot reach PostgreSQL at 127.0.0.1:1: connection refused"),
        "{message}"
    );
}

#[tokio::test]
async fn one_replica_at_a_time_holds_a_postgres_lease() {
    let schema = unique_schema();
    let Some(store) = postgres(&schema, PostgresConfig::default()).await else {
        return;
    };
    let ttl = Duration::from_secs(60);
    let first = store.lease("maintenance", ttl).await.unwrap();
    let second = store.lease("maintenance", ttl).await.unwrap();
    assert_ne!(first.leader_id(), second.leader_id());
    assert!(first.acquire().await.unwrap(), "a free lease is taken");
    assert!(
        !second.acquire().await.unwrap(),
        "a running lease is another's"
    );
    assert!(first.acquire().await.unwrap(), "the holder renews its own");
    let other_task = store.lease("other", ttl).await.unwrap();
    assert!(other_task.acquire().await.unwrap(), "one lease per task");
    first.release().await.unwrap();
    assert!(
        second.acquire().await.unwrap(),
        "a released lease is taken over"
    );
    assert!(!first.acquire().await.unwrap());
    // A lease that ran out (by the database's clock) is taken over.
    let brief = store.lease("brief", Duration::ZERO).await.unwrap();
    let next = store.lease("brief", ttl).await.unwrap();
    assert!(brief.acquire().await.unwrap());
    assert!(
        next.acquire().await.unwrap(),
        "an expired lease is taken over"
    );
    assert!(!brief.acquire().await.unwrap());
    drop_schema(&schema).await;
}

#[tokio::test]
async fn a_postgres_table_name_must_be_a_plain_identifier() {
    let config = PostgresConfig::default().table("idempotency\"; DROP TABLE x; --");
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

    let config = SqliteConfig::default().synchronous_full(true);
    let store = SqliteStore::open_with(dir.path().join("full.db"), config)
        .await
        .unwrap();
    assert_eq!(store.config(), &config);
    let problems = run_store_conformance(Arc::new(store), "").await;
    assert!(
        problems.is_empty(),
        "on a file, synchronous=FULL: {problems:#?}"
    );
}

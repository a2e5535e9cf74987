//! The reconcile state conformance suite against the in-memory state, the SQLite state (on a
//! temporary file, from a store and from an inbox) and a real PostgreSQL server (each run in a
//! schema of its own, dropped at the end; with `CI=true` an unreachable server fails the run,
//! elsewhere it is skipped loudly). Then each backend's own behaviour: restarts, schema
//! versions, configured tables.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::reconcile::{MemoryReconcileState, ReconcileState, WatchedRun};
use runhook::store::StoreError;
use runhook_store::testing::run_reconcile_state_conformance;
use runhook_store::{
    PostgresConfig, PostgresInbox, PostgresStore, SqliteInbox, SqliteReconcileState, SqliteStore,
};
use support::{drop_schema, postgres_url, reachable, unique_schema};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test]
async fn the_memory_state_conforms() {
    // One state per scope, as a database keeps them.
    let scopes: Mutex<HashMap<String, Arc<MemoryReconcileState>>> = Mutex::default();
    let make = |scope: String| {
        let state = Arc::clone(scopes.lock().unwrap().entry(scope).or_default());
        async move { state as Arc<dyn ReconcileState> }
    };
    let problems = run_reconcile_state_conformance(make, "memory:").await;
    assert!(problems.is_empty(), "{problems:#?}");
}

#[tokio::test]
async fn the_sqlite_state_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("runhook.db"))
        .await
        .unwrap();
    let make = |scope: String| {
        let store = store.clone();
        async move { Arc::new(store.reconcile_state(&scope).await.unwrap()) as Arc<dyn ReconcileState> }
    };
    let problems = run_reconcile_state_conformance(make, "").await;
    assert!(
        problems.is_empty(),
        "from a store, on a file: {problems:#?}"
    );

    let inbox = SqliteInbox::open_in_memory().await.unwrap();
    let make = |scope: String| {
        let inbox = inbox.clone();
        async move { Arc::new(inbox.reconcile_state(&scope).await.unwrap()) as Arc<dyn ReconcileState> }
    };
    let problems = run_reconcile_state_conformance(make, "").await;
    assert!(
        problems.is_empty(),
        "from an inbox, in memory: {problems:#?}"
    );
}

#[tokio::test]
async fn a_sqlite_state_survives_a_restart_beside_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let inbox = SqliteInbox::open(&path).await.unwrap();
    let state = inbox.reconcile_state("account-1").await.unwrap();
    assert_eq!(state.scope(), "account-1");
    assert_eq!(state.path(), Some(path.as_path()));
    state.set_watermark(at(1_000)).await.unwrap();
    let runs = [WatchedRun::new("run-1", at(900))];
    state.watch(&runs).await.unwrap();
    drop((state, inbox));

    let store = SqliteStore::open(&path).await.unwrap();
    let state = store.reconcile_state("account-1").await.unwrap();
    assert_eq!(state.watermark().await, Ok(Some(at(1_000))));
    assert_eq!(state.watched(10).await.unwrap(), runs);
    let other = store.reconcile_state("account-2").await.unwrap();
    assert_eq!(other.watermark().await, Ok(None));
    assert_eq!(other.watch_len().await, Ok(0));
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT version FROM runhook_schema WHERE component = 'reconcile'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(version, SqliteReconcileState::SCHEMA_VERSION);
    assert_eq!(version, 1);
}

#[tokio::test]
async fn a_sqlite_file_with_a_newer_reconcile_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let store = SqliteStore::open(&path).await.unwrap();
    drop(store.reconcile_state("s").await.unwrap());
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "UPDATE runhook_schema SET version = ?1 WHERE component = 'reconcile'",
            [SqliteReconcileState::SCHEMA_VERSION + 1],
        )
        .unwrap();
    drop(store);
    let store = SqliteStore::open(&path).await.unwrap();
    let error = store.reconcile_state("s").await.unwrap_err();
    assert!(matches!(error, StoreError::Unavailable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("SQLite reconcile state")
            && message.contains("runhook.db")
            && message.contains("newer"),
        "{message}"
    );
}

/// A store in `schema` with `config`, or `None` (skipped loudly) without PostgreSQL outside CI.
async fn postgres(schema: &str, config: PostgresConfig) -> Option<PostgresStore> {
    let url = postgres_url();
    let connected = PostgresStore::connect_with(&url, config.schema(schema)).await;
    reachable(
        "the PostgreSQL reconcile state test",
        &format!("PostgreSQL at {url}"),
        connected,
    )
}

#[tokio::test]
async fn the_postgres_state_conforms() {
    let schema = unique_schema();
    let Some(store) = postgres(&schema, PostgresConfig::default()).await else {
        return;
    };
    let make = |scope: String| {
        let store = store.clone();
        async move { Arc::new(store.reconcile_state(&scope).await.unwrap()) as Arc<dyn ReconcileState> }
    };
    let problems = run_reconcile_state_conformance(make, "").await;
    drop_schema(&schema).await;
    assert!(problems.is_empty(), "{problems:#?}");
}

/// From an inbox, in tables of configured names, in the configured schema; two replicas
/// migrating at once.
#[tokio::test]
async fn a_postgres_state_uses_the_configured_tables() {
    let schema = unique_schema();
    let config = PostgresConfig::default()
        .schema(&schema)
        .reconcile_table("sweeps")
        .reconcile_watch_table("sweep_watch");
    let url = postgres_url();
    let inbox = PostgresInbox::connect_with(&url, config.clone()).await;
    let Some(inbox) = reachable("the PostgreSQL reconcile state test", "PostgreSQL", inbox) else {
        return;
    };
    let (a, b) = tokio::join!(inbox.reconcile_state("x"), inbox.reconcile_state("x"));
    let (a, b) = (a.unwrap(), b.unwrap());
    a.set_watermark(at(77)).await.unwrap();
    a.watch(&[WatchedRun::new("r", at(70))]).await.unwrap();
    let seen = (b.watermark().await, b.watch_len().await);
    let make = |scope: String| {
        let inbox = inbox.clone();
        async move { Arc::new(inbox.reconcile_state(&scope).await.unwrap()) as Arc<dyn ReconcileState> }
    };
    let problems = run_reconcile_state_conformance(make, "configured:").await;
    let client = support::connect().await;
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY tablename",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let indexes: Vec<String> = client
        .query(
            "SELECT indexname::text FROM pg_indexes \
             WHERE schemaname = $1 AND tablename = 'sweep_watch' ORDER BY indexname",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    drop_schema(&schema).await;
    assert_eq!(seen, (Ok(Some(at(77))), Ok(1)));
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        tables,
        [
            "runhook_inbox",
            "runhook_inbox_attempts",
            "runhook_schema_version",
            "sweep_watch",
            "sweeps"
        ]
    );
    assert_eq!(indexes, ["sweep_watch_pkey", "sweep_watch_since"]);
}

#[tokio::test]
async fn postgres_reconcile_tables_must_be_distinct_and_plain() {
    let schema = unique_schema();
    let Some(store) = postgres(&schema, PostgresConfig::default()).await else {
        return;
    };
    drop(store);
    let url = postgres_url();
    let same = PostgresConfig::default()
        .schema(&schema)
        .reconcile_table("runhook_reconcile_watch");
    let inbox_named = PostgresConfig::default()
        .schema(&schema)
        .reconcile_watch_table("runhook_inbox");
    let bad = PostgresConfig::default()
        .schema(&schema)
        .reconcile_table("x\"; DROP TABLE y; --");
    let mut errors = Vec::new();
    for config in [same, inbox_named, bad] {
        let store = PostgresStore::connect_with(&url, config).await.unwrap();
        errors.push(store.reconcile_state("s").await.unwrap_err());
    }
    drop_schema(&schema).await;
    for error in &errors {
        assert!(
            matches!(error, StoreError::Unavailable { message } if message.starts_with("PostgreSQL")),
            "{error:?}"
        );
    }
    assert!(
        errors[0].to_string().contains("must differ"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].to_string().contains("runhook_inbox"),
        "{}",
        errors[1]
    );
    assert!(
        errors[2].to_string().contains("table name"),
        "{}",
        errors[2]
    );
}

//! Inbox inserts per second with 64 concurrent callers, each backend's inbox side by side with
//! the database's own raw rate at the same durability, on the same table (same columns and
//! indexes) and rows:
//! - SQLite (WAL, `synchronous=NORMAL`): the raw baseline is the most favourable honest loop,
//!   one connection inserting one row per transaction (a commit per row) with a cached
//!   statement; the inbox serves 64 callers through its writer thread (group commit).
//! - PostgreSQL: the raw baseline is `INSERT … ON CONFLICT DO NOTHING` from 64 tasks on 64
//!   connections, each insert its own commit, a prepared statement; the inbox has a pool of 64.
//!
//! Needs PostgreSQL (`RUNHOOK_TEST_POSTGRES_URL`); without it those two are skipped loudly.
//!
//! Run: `cargo bench -p runhook-store --bench inbox --all-features`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runhook::inbox::{Inbox, Inserted, NewInboxEntry};
use runhook::store::IdempotencyKey;
use runhook_store::{PostgresConfig, PostgresInbox, SqliteInbox};

use common::{CALLERS, concurrently};

/// A webhook body of a typical size (about 400 bytes).
fn body(key: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"run.completed","run_id":"{key}","status":"COMPLETED","data":{{"run_id":"{key}","status":"COMPLETED","goal":"Find the price of the first product on the page","result":{{"title":"Example Domain","price":"12.00","currency":"EUR","in_stock":true}},"started_at":"2026-03-25T10:00:00Z","finished_at":"2026-03-25T10:00:42Z","num_of_steps":7}}}}"#
    )
    .into_bytes()
}

/// The SQLite inbox table, as the inbox creates it.
const SQLITE_TABLE: &str = "CREATE TABLE IF NOT EXISTS runhook_inbox (
        key TEXT PRIMARY KEY NOT NULL, run_id TEXT, event TEXT NOT NULL,
        received_at INTEGER NOT NULL, body BLOB NOT NULL, drift TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
        attempts INTEGER NOT NULL, next_at INTEGER NOT NULL, lease_until INTEGER,
        token INTEGER NOT NULL, last_error TEXT, finished_at INTEGER);
     CREATE INDEX IF NOT EXISTS runhook_inbox_pending ON runhook_inbox (next_at, key)
       WHERE state = 'pending';
     CREATE INDEX IF NOT EXISTS runhook_inbox_finished ON runhook_inbox (state, finished_at)
       WHERE finished_at IS NOT NULL;
     CREATE INDEX IF NOT EXISTS runhook_inbox_run
       ON runhook_inbox (run_id, state, received_at, key);";

fn millis_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

/// Runs `iters` inserts of new keys into `inbox` from 64 tasks; the elapsed time.
async fn inbox_inserts<I: Inbox + 'static>(inbox: Arc<I>, iters: u64, run: u64) -> Duration {
    concurrently(CALLERS, iters, |iterations| {
        let inbox = Arc::clone(&inbox);
        async move {
            while let Some(i) = iterations.take() {
                let key = format!("inbox:{run}:{i}");
                let now = SystemTime::now();
                let record = NewInboxEntry::new(
                    IdempotencyKey::new(key.as_str()),
                    "run.completed",
                    now,
                    body(&key),
                )
                .with_run_id(key);
                assert_eq!(inbox.insert(record, now).await.unwrap(), Inserted::New);
            }
        }
    })
    .await
}

/// The raw SQLite baseline: one connection, one row per transaction.
fn raw_sqlite_inserts(connection: &rusqlite::Connection, iters: u64, run: u64) -> Duration {
    let started = Instant::now();
    let mut insert = connection
        .prepare_cached(
            "INSERT INTO runhook_inbox (key, run_id, event, received_at, body, drift, state,
                                        attempts, next_at, token)
             VALUES (?1, ?1, 'run.completed', ?2, ?3, '[]', 'pending', 0, ?2, 0)
             ON CONFLICT (key) DO NOTHING",
        )
        .unwrap();
    for i in 0..iters {
        let key = format!("raw:{run}:{i}");
        let inserted = insert
            .execute(rusqlite::params![key, millis_now(), body(&key)])
            .unwrap();
        assert_eq!(inserted, 1);
    }
    started.elapsed()
}

/// The raw PostgreSQL baseline: 64 tasks, 64 connections, one commit per insert.
async fn raw_postgres_inserts(pool: deadpool_postgres::Pool, iters: u64, run: u64) -> Duration {
    concurrently(CALLERS, iters, |iterations| {
        let pool = pool.clone();
        async move {
            let client = pool.get().await.unwrap();
            let insert = client
                .prepare_cached(
                    "INSERT INTO runhook_bench.raw_inbox (key, run_id, event, received_at, body, \
                     drift, state, attempts, next_at, token) \
                     VALUES ($1, $1, 'run.completed', $2, $3, '[]', 'pending', 0, $2, 0) \
                     ON CONFLICT (key) DO NOTHING",
                )
                .await
                .unwrap();
            while let Some(i) = iterations.take() {
                let key = format!("raw:{run}:{i}");
                let inserted = client
                    .execute(&insert, &[&key, &millis_now(), &body(&key)])
                    .await
                    .unwrap();
                assert_eq!(inserted, 1);
            }
        }
    })
    .await
}

fn sqlite(c: &mut Criterion, runtime: &tokio::runtime::Runtime, run: u64, round: &mut u64) {
    let mut group = c.benchmark_group("inbox_inserts_64_callers");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    let dir = std::env::temp_dir().join(format!("runhook-inbox-bench-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = rusqlite::Connection::open(dir.join("raw.db")).unwrap();
    raw.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; {SQLITE_TABLE}"
    ))
    .unwrap();
    group.bench_function("sqlite_raw_insert_commit_per_row", |b| {
        b.iter_custom(|iters| {
            *round += 1;
            raw_sqlite_inserts(&raw, iters, run + *round)
        })
    });
    let inbox = Arc::new(
        runtime
            .block_on(SqliteInbox::open(dir.join("inbox.db")))
            .unwrap(),
    );
    group.bench_function("sqlite_inbox", |b| {
        b.iter_custom(|iters| {
            *round += 1;
            runtime.block_on(inbox_inserts(Arc::clone(&inbox), iters, run + *round))
        })
    });
    group.finish();
    drop((raw, inbox));
    let _ = std::fs::remove_dir_all(&dir);
}

fn postgres(c: &mut Criterion, runtime: &tokio::runtime::Runtime, run: u64, round: &mut u64) {
    let url = std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let config = PostgresConfig::default()
        .schema("runhook_bench")
        .max_connections(CALLERS as usize);
    let inbox = match runtime.block_on(PostgresInbox::connect_with(&url, config)) {
        Ok(inbox) => Arc::new(inbox),
        Err(error) => {
            eprintln!("SKIPPED: the PostgreSQL inbox benchmarks: no PostgreSQL at {url} ({error})");
            return;
        }
    };
    let admin = |sql: &'static str| {
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            client.batch_execute(sql).await.unwrap();
        })
    };
    admin(
        "DROP TABLE IF EXISTS runhook_bench.raw_inbox; \
         CREATE TABLE runhook_bench.raw_inbox (LIKE runhook_bench.runhook_inbox INCLUDING ALL)",
    );
    let mut group = c.benchmark_group("inbox_inserts_64_callers");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    {
        let mut pg = deadpool_postgres::Config::new();
        pg.url = Some(url.clone());
        pg.pool = Some(deadpool_postgres::PoolConfig::new(CALLERS as usize));
        let pool = pg
            .create_pool(
                Some(deadpool_postgres::Runtime::Tokio1),
                tokio_postgres::NoTls,
            )
            .unwrap();
        group.bench_function("postgres_raw_insert_on_conflict", |b| {
            b.iter_custom(|iters| {
                *round += 1;
                runtime.block_on(raw_postgres_inserts(pool.clone(), iters, run + *round))
            })
        });
        // Its 64 connections closed, so the inbox's 64 fit under the server's limit.
        pool.close();
    }
    group.bench_function("postgres_inbox", |b| {
        b.iter_custom(|iters| {
            *round += 1;
            runtime.block_on(inbox_inserts(Arc::clone(&inbox), iters, run + *round))
        })
    });
    group.finish();
    admin("DROP SCHEMA runhook_bench CASCADE");
}

fn inserts(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let run = u64::try_from(since.as_millis()).unwrap();
    let mut round = 0;
    sqlite(c, &runtime, run, &mut round);
    postgres(c, &runtime, run, &mut round);
}

criterion_group!(benches, inserts);
criterion_main!(benches);

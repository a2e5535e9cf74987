//! Claims per second with 64 concurrent callers: each store's claim + complete, side by side with
//! the backend's own raw baseline at the same concurrency and durability settings:
//! - Redis: `SET NX PX` then `SET XX PX` on the same connection type;
//! - PostgreSQL: `INSERT … ON CONFLICT DO NOTHING` then `UPDATE` on a pool of the same size;
//! - SQLite: `INSERT OR IGNORE` then `UPDATE` on one WAL connection, as the store's one writer
//!   thread, each statement its own transaction; at `synchronous=NORMAL` (the store's default),
//!   then both again at `synchronous=FULL` (`sqlite_full_…`).
//!
//! Needs Redis and PostgreSQL (`RUNHOOK_TEST_REDIS_URL`, `RUNHOOK_TEST_POSTGRES_URL`; the
//! PostgreSQL baseline is plain TCP, so a URL of one's own should say `sslmode=disable` for the
//! store too); a backend whose server is missing is skipped loudly.
//!
//! Run: `cargo bench -p runhook-store --bench claims --all-features`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runhook::MemoryStore;
use runhook::store::{Claim, IdempotencyKey, IdempotencyStore};
use runhook_store::{PostgresConfig, PostgresStore, RedisStore, SqliteConfig, SqliteStore};

use common::{CALLERS, concurrently};

const LEASE: Duration = Duration::from_secs(5);
const RETENTION: Duration = Duration::from_secs(60);

/// Runs `iters` claim + complete pairs on `store` from 64 tasks; the elapsed time.
async fn store_pairs<S: IdempotencyStore + 'static>(
    store: Arc<S>,
    iters: u64,
    run: u64,
) -> Duration {
    concurrently(CALLERS, iters, |iterations| {
        let store = Arc::clone(&store);
        async move {
            while let Some(i) = iterations.take() {
                let key = IdempotencyKey::new(format!("bench:{run}:{i}"));
                let now = SystemTime::now();
                let Ok(Claim::Acquired(token)) = store.claim(&key, now, LEASE).await else {
                    panic!("claim of a fresh key not acquired");
                };
                store.complete(&key, token, now, RETENTION).await.unwrap();
            }
        }
    })
    .await
}

/// The raw Redis baseline: `SET key token NX PX lease` then `SET key done XX PX retention`.
async fn raw_redis_pairs(
    connection: redis::aio::ConnectionManager,
    iters: u64,
    run: u64,
) -> Duration {
    concurrently(CALLERS, iters, |iterations| {
        let mut connection = connection.clone();
        async move {
            while let Some(i) = iterations.take() {
                let key = format!("runhook:bench:raw:{run}:{i}");
                let set: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(i)
                    .arg("NX")
                    .arg("PX")
                    .arg(5_000u64)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert!(set.is_some());
                let _: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg("done")
                    .arg("XX")
                    .arg("PX")
                    .arg(60_000u64)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
            }
        }
    })
    .await
}

/// The raw PostgreSQL baseline: insert-or-nothing, then update, from 64 tasks on a 16-connection
/// pool (the store's default pool size).
async fn raw_postgres_pairs(pool: deadpool_postgres::Pool, iters: u64, run: u64) -> Duration {
    concurrently(CALLERS, iters, |iterations| {
        let pool = pool.clone();
        async move {
            while let Some(i) = iterations.take() {
                let key = format!("raw:{run}:{i}");
                let client = pool.get().await.unwrap();
                client
                    .execute(
                        "INSERT INTO runhook_bench_raw (key, token, until_ms) VALUES ($1, $2, $3) \
                         ON CONFLICT (key) DO NOTHING",
                        &[&key, &(i as i64), &5_000i64],
                    )
                    .await
                    .unwrap();
                client
                    .execute(
                        "UPDATE runhook_bench_raw SET done = true, until_ms = $2 WHERE key = $1",
                        &[&key, &60_000i64],
                    )
                    .await
                    .unwrap();
            }
        }
    })
    .await
}

/// The raw SQLite baseline: insert-or-ignore then update, on one connection (one writer).
fn raw_sqlite_pairs(connection: &rusqlite::Connection, iters: u64, run: u64) -> Duration {
    let started = Instant::now();
    for i in 0..iters {
        let key = format!("raw:{run}:{i}");
        connection
            .execute(
                "INSERT OR IGNORE INTO raw (key, token, until_ms) VALUES (?1, ?2, ?3)",
                rusqlite::params![key, i as i64, 5_000i64],
            )
            .unwrap();
        connection
            .execute(
                "UPDATE raw SET done = 1, until_ms = ?2 WHERE key = ?1",
                rusqlite::params![key, 60_000i64],
            )
            .unwrap();
    }
    started.elapsed()
}

/// The raw SQLite baseline then the store, both at `synchronous=NORMAL`, or both at `FULL`
/// (`sqlite_full_…`).
fn sqlite_side_by_side(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    full: bool,
    run: u64,
    round: &mut u64,
) {
    let (synchronous, prefix) = if full {
        ("FULL", "sqlite_full")
    } else {
        ("NORMAL", "sqlite")
    };
    let raw = rusqlite::Connection::open(dir.join(format!("raw-{synchronous}.db"))).unwrap();
    raw.execute_batch(&format!(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous={synchronous}; \
         CREATE TABLE IF NOT EXISTS raw (key TEXT PRIMARY KEY, token INTEGER, until_ms INTEGER, \
         done INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
    ))
    .unwrap();
    group.bench_function(format!("{prefix}_raw_insert_update"), |b| {
        b.iter_custom(|iters| {
            *round += 1;
            raw_sqlite_pairs(&raw, iters, run + *round)
        })
    });
    let config = SqliteConfig::default().synchronous_full(full);
    let path = dir.join(format!("store-{synchronous}.db"));
    let store = Arc::new(
        runtime
            .block_on(SqliteStore::open_with(path, config))
            .unwrap(),
    );
    group.bench_function(format!("{prefix}_store"), |b| {
        b.iter_custom(|iters| {
            *round += 1;
            runtime.block_on(store_pairs(Arc::clone(&store), iters, run + *round))
        })
    });
}

fn sqlite_and_postgres(
    c: &mut Criterion,
    runtime: &tokio::runtime::Runtime,
    run: u64,
    round: &mut u64,
) {
    let mut group = c.benchmark_group("claims_64_callers");
    group.throughput(Throughput::Elements(1));
    let dir = std::env::temp_dir().join(format!("runhook-bench-{run}"));
    std::fs::create_dir_all(&dir).unwrap();
    for full in [false, true] {
        sqlite_side_by_side(&mut group, runtime, &dir, full, run, round);
    }
    // Plain TCP for the store as for the raw baseline (`NoTls`): give a URL with sslmode=disable.
    let url = std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test?sslmode=disable".to_owned());
    let config = PostgresConfig::default().table("runhook_bench_store");
    match runtime.block_on(PostgresStore::connect_with(&url, config)) {
        Ok(store) => {
            let store = Arc::new(store);
            let mut pg = deadpool_postgres::Config::new();
            pg.url = Some(url.clone());
            pg.pool = Some(deadpool_postgres::PoolConfig::new(16));
            let pool = pg
                .create_pool(
                    Some(deadpool_postgres::Runtime::Tokio1),
                    tokio_postgres::NoTls,
                )
                .unwrap();
            runtime.block_on(async {
                pool.get()
                    .await
                    .unwrap()
                    .batch_execute(
                        "CREATE TABLE IF NOT EXISTS runhook_bench_raw (key text PRIMARY KEY, \
                         token bigint, until_ms bigint, done boolean NOT NULL DEFAULT false)",
                    )
                    .await
                    .unwrap();
            });
            group.bench_function("postgres_raw_insert_update", |b| {
                b.iter_custom(|iters| {
                    *round += 1;
                    runtime.block_on(raw_postgres_pairs(pool.clone(), iters, run + *round))
                })
            });
            group.bench_function("postgres_store", |b| {
                b.iter_custom(|iters| {
                    *round += 1;
                    runtime.block_on(store_pairs(Arc::clone(&store), iters, run + *round))
                })
            });
        }
        Err(error) => {
            eprintln!("SKIPPED: the PostgreSQL claim benchmarks: no PostgreSQL at {url} ({error})")
        }
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

fn claims(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let run = u64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let mut group = c.benchmark_group("claims_64_callers");
    group.throughput(Throughput::Elements(1));
    let memory = Arc::new(MemoryStore::with_capacity(10_000_000));
    let mut round = 0;
    group.bench_function("memory", |b| {
        b.iter_custom(|iters| {
            round += 1;
            runtime.block_on(store_pairs(Arc::clone(&memory), iters, run + round))
        })
    });
    let url = std::env::var("RUNHOOK_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match runtime.block_on(RedisStore::connect_with_prefix(&url, "runhook:bench:")) {
        Ok(store) => {
            let store = Arc::new(store);
            let client = redis::Client::open(url.as_str()).unwrap();
            let raw = runtime
                .block_on(redis::aio::ConnectionManager::new(client))
                .unwrap();
            group.bench_function("redis_raw_set_nx_px", |b| {
                b.iter_custom(|iters| {
                    round += 1;
                    runtime.block_on(raw_redis_pairs(raw.clone(), iters, run + round))
                })
            });
            group.bench_function("redis_store", |b| {
                b.iter_custom(|iters| {
                    round += 1;
                    runtime.block_on(store_pairs(Arc::clone(&store), iters, run + round))
                })
            });
        }
        Err(error) => eprintln!("SKIPPED: the Redis claim benchmarks: no Redis at {url} ({error})"),
    }
    group.finish();
    sqlite_and_postgres(c, &runtime, run, &mut round);
}

criterion_group!(benches, claims);
criterion_main!(benches);

//! Claims per second with 64 concurrent callers: each store's claim + complete, side by side with
//! the backend's own raw baseline at the same concurrency (Redis: `SET NX PX` then `SET XX PX`
//! on the same connection type). Needs Redis at `RUNHOOK_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`); skipped loudly without it.
//!
//! Run: `cargo bench -p runhook-store --bench claims --features redis`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runhook::MemoryStore;
use runhook::store::{Claim, IdempotencyKey, IdempotencyStore};
use runhook_store::RedisStore;

const CALLERS: u64 = 64;
const LEASE: Duration = Duration::from_secs(5);
const RETENTION: Duration = Duration::from_secs(60);

/// Runs `iters` claim + complete pairs on `store` from 64 tasks; the elapsed time.
async fn store_pairs<S: IdempotencyStore + 'static>(
    store: Arc<S>,
    iters: u64,
    run: u64,
) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let (store, next) = (Arc::clone(&store), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= iters {
                    break;
                }
                let key = IdempotencyKey::new(format!("bench:{run}:{i}"));
                let now = SystemTime::now();
                let Ok(Claim::Acquired(token)) = store.claim(&key, now, LEASE).await else {
                    panic!("claim of a fresh key not acquired");
                };
                store.complete(&key, token, now, RETENTION).await.unwrap();
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    started.elapsed()
}

/// The raw Redis baseline: `SET key token NX PX lease` then `SET key done XX PX retention`.
async fn raw_redis_pairs(
    connection: redis::aio::ConnectionManager,
    iters: u64,
    run: u64,
) -> Duration {
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..CALLERS {
        let (mut connection, next) = (connection.clone(), Arc::clone(&next));
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= iters {
                    break;
                }
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
        });
    }
    while tasks.join_next().await.is_some() {}
    started.elapsed()
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
}

criterion_group!(benches, claims);
criterion_main!(benches);

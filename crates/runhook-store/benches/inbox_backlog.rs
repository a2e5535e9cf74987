//! What a backlog costs a worker: one event processed (claimed, then settled done) while an
//! event arrives (inserted), so the inbox stays at its size, side by side on an inbox with no
//! backlog and on the same inbox with a backlog of waiting rows:
//! - `due`: 20 000 rows due now, older than the new ones (a burst the workers are catching up
//!   with);
//! - `retrying`: 20 000 rows due only in an hour (the app was down: every row waits for its next
//!   attempt).
//!
//! A claim walks the pending rows in the order they are due and stops at its limit, so the cost
//! per event should not depend on the backlog: the ratio of each backlog case to the empty case
//! should stay near 1. One caller, so the figure is the latency of the cycle, not a throughput
//! under load.
//!
//! Needs PostgreSQL (`RUNHOOK_TEST_POSTGRES_URL`); without it those cases are skipped loudly.
//!
//! Run: `cargo bench -p runhook-store --bench inbox_backlog --all-features`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use runhook::inbox::{Inbox, Inserted, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;
use runhook_store::{PostgresConfig, PostgresInbox, SqliteInbox};

const BACKLOG: u64 = 20_000;
const FILLERS: u64 = 32;
const LEASE: Duration = Duration::from_secs(60);

fn record(key: &str, at: SystemTime) -> NewInboxEntry {
    let body = format!(r#"{{"event":"run.completed","run_id":"{key}","status":"COMPLETED"}}"#);
    NewInboxEntry::new(
        IdempotencyKey::new(key),
        "run.completed",
        at,
        body.into_bytes(),
    )
    .with_run_id(key)
}

/// Inserts `count` rows received (and so due) at `at`, from 32 tasks.
async fn fill(inbox: Arc<dyn Inbox>, prefix: &str, count: u64, at: SystemTime) {
    common::concurrently(FILLERS, count, |iterations| {
        let (inbox, prefix) = (Arc::clone(&inbox), prefix.to_owned());
        async move {
            while let Some(i) = iterations.take() {
                let key = format!("{prefix}-{i}");
                let inserted = inbox.insert(record(&key, at), at).await.unwrap();
                assert_eq!(inserted, Inserted::New);
            }
        }
    })
    .await;
}

/// `iters` cycles of: insert a new row, claim the earliest due row, settle it done.
async fn cycles(inbox: &dyn Inbox, prefix: &str, next: &AtomicU64, iters: u64) -> Duration {
    let started = Instant::now();
    for _ in 0..iters {
        let now = SystemTime::now();
        let key = format!("{prefix}-new-{}", next.fetch_add(1, Ordering::Relaxed));
        assert_eq!(
            inbox.insert(record(&key, now), now).await.unwrap(),
            Inserted::New
        );
        let claims = inbox.claim_due(now, LEASE, 1).await.unwrap();
        assert_eq!(claims.len(), 1, "a row is due");
        let claim = &claims[0];
        inbox
            .settle(&claim.entry.key, claim.token, now, Settlement::Done)
            .await
            .unwrap();
    }
    started.elapsed()
}

/// The three cases on fresh inboxes `open` makes.
fn cases<F, Fut>(c: &mut Criterion, runtime: &tokio::runtime::Runtime, backend: &str, open: F)
where
    F: Fn(&'static str) -> Fut,
    Fut: Future<Output = Arc<dyn Inbox>>,
{
    let mut group = c.benchmark_group(format!("inbox_backlog_{backend}"));
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    let next = AtomicU64::new(0);
    for (case, backlog_at) in [
        ("empty", None),
        ("due_20k", Some(Duration::ZERO)),
        ("retrying_20k", Some(Duration::from_secs(3600))),
    ] {
        let inbox = runtime.block_on(open(case));
        if let Some(offset) = backlog_at {
            // Received a minute ago; the retrying ones are due in an hour, as after a retry.
            let received = SystemTime::now() - Duration::from_secs(60);
            runtime.block_on(fill(Arc::clone(&inbox), "backlog", BACKLOG, received));
            if !offset.is_zero() {
                runtime.block_on(postpone(&*inbox, received, offset));
            }
        }
        group.bench_function(case, |b| {
            b.iter_custom(|iters| runtime.block_on(cycles(&*inbox, case, &next, iters)))
        });
    }
    group.finish();
}

/// Moves every backlog row's next attempt `offset` ahead: claims each and settles it as a retry.
async fn postpone(inbox: &dyn Inbox, now: SystemTime, offset: Duration) {
    loop {
        let claims = inbox.claim_due(now, LEASE, 1000).await.unwrap();
        if claims.is_empty() {
            return;
        }
        for claim in claims {
            let retry = Settlement::Retry {
                at: now + offset,
                error: "the app is down".into(),
            };
            inbox
                .settle(&claim.entry.key, claim.token, now, retry)
                .await
                .unwrap();
        }
    }
}

fn backlog(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_owned();
    cases(c, &runtime, "sqlite", |case| {
        let file = path.join(format!("{case}.db"));
        async move { Arc::new(SqliteInbox::open(file).await.unwrap()) as Arc<dyn Inbox> }
    });

    let url = std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("runhook_bench_backlog_{}", std::process::id());
    let probe = runtime.block_on(PostgresInbox::connect_with(
        &url,
        PostgresConfig::default().schema(schema.as_str()),
    ));
    if let Err(error) = probe {
        eprintln!("SKIPPED: the PostgreSQL backlog benchmarks: no PostgreSQL at {url} ({error})");
        return;
    }
    cases(c, &runtime, "postgres", |case| {
        let config = PostgresConfig::default()
            .schema(schema.as_str())
            .inbox_table(format!("inbox_{case}"));
        let url = url.clone();
        async move {
            let inbox = PostgresInbox::connect_with(&url, config).await.unwrap();
            Arc::new(inbox) as Arc<dyn Inbox>
        }
    });
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
            .await
            .unwrap();
    });
}

criterion_group!(benches, backlog);
criterion_main!(benches);

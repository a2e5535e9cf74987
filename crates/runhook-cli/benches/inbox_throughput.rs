//! Inbox throughput, end to end: N events (default 20 000, each its own run) inserted into an
//! inbox, then a receiver in inbox mode started on it with a no-op handler; the time from its
//! start until every row is done (the inbox's depth polled every 20 ms). For each backend (a
//! SQLite file in a temporary directory; PostgreSQL in a fresh schema, dropped after) and each
//! worker concurrency (16, the default, and 64). The PostgreSQL pool is the default (16
//! connections), raised to the concurrency above it.
//!
//! ```sh
//! cargo bench -p runhook-cli --bench inbox_throughput -- [--events N] [--postgres URL]
//! ```
//!
//! Under `cargo test` (no `--bench` argument) it returns at once. Prints one line per case: `THROUGHPUT backend=… concurrency=… events=… seconds=… eps=…`.
//! The URL defaults to `RUNHOOK_TEST_POSTGRES_URL`, else `postgres://postgres@127.0.0.1:5432/test`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench binary: a failed setup should panic

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use runhook::inbox::{Inbox, Inserted, NewInboxEntry};
use runhook::store::IdempotencyKey;
use runhook_receiver::{Handlers, Receiver, ReceiverConfig};
use runhook_store::{PostgresConfig, PostgresInbox, SqliteInbox};

const CONCURRENCIES: [usize; 2] = [16, 64];
const INSERTERS: u64 = 64;

/// The documented run.completed payload with `run_id` in place of its run id.
fn body(template: &str, run_id: &str) -> Vec<u8> {
    template
        .replace("4562765d-156e-4c47-b217-55b3ec4a9720", run_id)
        .into_bytes()
}

/// Inserts `events` new rows into `inbox` from 64 tasks.
async fn fill(inbox: Arc<dyn Inbox>, template: Arc<String>, events: u64, tag: &str) {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..INSERTERS {
        let (inbox, next, template) = (Arc::clone(&inbox), Arc::clone(&next), template.clone());
        let tag = tag.to_owned();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= events {
                    break;
                }
                let run_id = format!("tp-{tag}-{i}");
                let now = SystemTime::now();
                let record = NewInboxEntry::new(
                    IdempotencyKey::new(run_id.as_str()),
                    "run.completed",
                    now,
                    body(&template, &run_id),
                )
                .with_run_id(run_id);
                assert_eq!(inbox.insert(record, now).await.unwrap(), Inserted::New);
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Starts the workers on the filled `inbox`; seconds until all `events` rows are done.
async fn drain(inbox: Arc<dyn Inbox>, concurrency: usize, events: u64) -> f64 {
    let started = Instant::now();
    let receiver = Receiver::with_inbox(Arc::clone(&inbox), Arc::new(Handlers::new()))
        .config(ReceiverConfig::default().with_inbox_concurrency(concurrency))
        .build()
        .expect("a valid inbox receiver");
    loop {
        let depth = inbox.depth(SystemTime::now()).await.unwrap();
        if depth.done >= events {
            break;
        }
        assert_eq!(depth.dead, 0, "no row should be given up");
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "not drained in 10 minutes: {depth:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seconds = started.elapsed().as_secs_f64();
    receiver.shutdown(Duration::from_secs(5)).await;
    seconds
}

fn report(backend: &str, concurrency: usize, events: u64, seconds: f64) {
    println!(
        "THROUGHPUT backend={backend} concurrency={concurrency} events={events} \
         seconds={seconds:.2} eps={:.0}",
        events as f64 / seconds
    );
}

async fn run(events: u64, url: &str) -> Result<(), Box<dyn Error>> {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/valid/01-docs-run-completed.json"
    );
    let template = Arc::new(std::fs::read_to_string(fixture)?);
    for concurrency in CONCURRENCIES {
        let dir = tempfile::tempdir()?;
        let inbox: Arc<dyn Inbox> = Arc::new(SqliteInbox::open(dir.path().join("tp.db")).await?);
        fill(Arc::clone(&inbox), Arc::clone(&template), events, "sqlite").await;
        let seconds = drain(inbox, concurrency, events).await;
        report("sqlite", concurrency, events, seconds);
    }
    for concurrency in CONCURRENCIES {
        let schema = format!("runhook_bench_tp_{}_{concurrency}", std::process::id());
        let config = PostgresConfig::default()
            .schema(schema.as_str())
            .max_connections(concurrency.max(16));
        let inbox: Arc<dyn Inbox> = Arc::new(PostgresInbox::connect_with(url, config).await?);
        fill(
            Arc::clone(&inbox),
            Arc::clone(&template),
            events,
            "postgres",
        )
        .await;
        let seconds = drain(Arc::clone(&inbox), concurrency, events).await;
        drop(inbox);
        report("postgres", concurrency, events, seconds);
        let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        admin
            .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
            .await?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut events = 20_000;
    let mut url = std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let mut bench = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--bench" => bench = true,
            "--events" => events = args.next().ok_or("--events N")?.parse()?,
            "--postgres" => url = args.next().ok_or("--postgres URL")?,
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if !bench {
        // `cargo test --all-targets` runs it without `--bench`: nothing to measure then.
        eprintln!("inbox_throughput: run with `cargo bench` to measure");
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(events, &url))
}

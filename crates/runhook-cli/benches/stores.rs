//! Load benchmark target: serves, on 127.0.0.1, the webhook route once per idempotency store, in
//! one process, for a load generator (`cargo xtask bench --only stores` runs wrk against each in turn).
//!
//! ```sh
//! cargo bench -p runhook-cli --bench stores -- --port 18190 [--workers 1] \
//!     [--postgres URL] [--postgres-schema NAME] [--redis URL] [--redis-prefix PREFIX]
//! cargo bench -p runhook-cli --bench stores -- --raw 10 [--connections 64] \
//!     [--postgres URL] [--postgres-schema NAME]
//! ```
//!
//! Each path is `runhook_axum::webhook_route` with a no-op handler, as `runhook listen` serves it,
//! and its own receiver and store:
//! - `/webhook`: a `MemoryStore` (the default capacity);
//! - `/webhook-sqlite`: a `SqliteStore` in a file of a temporary directory (removed at the end);
//! - `/webhook-postgres`: a `PostgresStore` (default pool) in its own schema (default
//!   `runhook_bench_stores`; created if missing, left in place);
//! - `/webhook-redis`: a `RedisStore` under its own key prefix (default
//!   `runhook:bench:stores:`; keys expire by their TTLs);
//! - `/inbox-sqlite`, `/inbox-postgres`: the receiver in inbox mode (answers 200 once the event is
//!   committed; its workers, default settings, run the no-op handler meanwhile) on a
//!   `SqliteInbox` in the temporary directory and a `PostgresInbox` (default pool) in the same
//!   schema as the store; `GET /inbox-unfinished` answers `sqlite=N postgres=N`, the rows the
//!   workers have not finished yet (`cargo xtask bench --only stores` waits for zero between routes).
//!
//! With `--raw SECONDS` it serves nothing: it runs the raw insert-and-commit loops the inboxes
//! are compared with for SECONDS each (SQLite: one connection, WAL, `synchronous=NORMAL`;
//! PostgreSQL: `--connections N` connections, default 64), in the schema given, and prints
//! `RAW backend=sqlite connections=1 rps=X` and `RAW backend=postgres connections=N rps=X`.
//!
//! The URLs default to `RUNHOOK_TEST_POSTGRES_URL` and `RUNHOOK_TEST_REDIS_URL`, else
//! `postgres://postgres@127.0.0.1:5432/test` and `redis://127.0.0.1:6379`; a server that cannot
//! be reached ends the bench at start. It serves until Ctrl-C or SIGTERM, then prints
//! `webhook outcomes (STORE): accepted=N duplicate=N other=N` to stderr for each store, so a run
//! whose run ids were not fresh shows it. Without `--port` it says so and returns at once (so
//! `cargo test --all-targets` neither hangs nor fails on it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench binary: a failed setup should panic

#[path = "stores/inbox.rs"]
mod inbox;
#[path = "../src/signals.rs"]
mod signals;

use std::error::Error;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use runhook::store::IdempotencyStore;
use runhook::{MemoryStore, ReceiveOutcome};
use runhook_axum::webhook_route;
use runhook_receiver::{Handlers, Receiver};
use runhook_store::{PostgresConfig, PostgresStore, RedisStore, SqliteStore};

const USAGE: &str = "usage: stores --port N [--workers N] [--postgres URL] \
                     [--postgres-schema NAME] [--redis URL] [--redis-prefix PREFIX] | \
                     stores --raw SECONDS [--connections N] [--postgres URL] \
                     [--postgres-schema NAME]";

/// The command line.
struct Args {
    port: Option<u16>,
    raw: Option<u64>,
    connections: usize,
    workers: usize,
    postgres: String,
    postgres_schema: String,
    redis: String,
    redis_prefix: String,
}

impl Args {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut parsed = Args {
            port: None,
            raw: None,
            connections: 64,
            workers: 1,
            postgres: std::env::var("RUNHOOK_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
            postgres_schema: "runhook_bench_stores".to_owned(),
            redis: std::env::var("RUNHOOK_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
            redis_prefix: "runhook:bench:stores:".to_owned(),
        };
        while let Some(arg) = args.next() {
            if arg == "--bench" {
                continue;
            }
            let value = args
                .next()
                .ok_or_else(|| format!("{arg} needs a value; {USAGE}"))?;
            match arg.as_str() {
                "--port" => {
                    parsed.port = Some(value.parse().map_err(|e| format!("--port {value}: {e}"))?);
                }
                "--raw" => {
                    parsed.raw = Some(value.parse().map_err(|e| format!("--raw {value}: {e}"))?);
                }
                "--connections" => {
                    parsed.connections = value
                        .parse()
                        .map_err(|e| format!("--connections {value}: {e}"))?;
                }
                "--workers" => {
                    parsed.workers = value
                        .parse()
                        .map_err(|e| format!("--workers {value}: {e}"))?;
                }
                "--postgres" => parsed.postgres = value,
                "--postgres-schema" => parsed.postgres_schema = value,
                "--redis" => parsed.redis = value,
                "--redis-prefix" => parsed.redis_prefix = value,
                other => return Err(format!("unknown argument {other:?}; {USAGE}")),
            }
        }
        Ok(parsed)
    }
}

/// How one route's deliveries ended.
#[derive(Default)]
struct Outcomes {
    accepted: AtomicU64,
    duplicate: AtomicU64,
    other: AtomicU64,
}

impl Outcomes {
    fn summary(&self) -> String {
        format!(
            "accepted={} duplicate={} other={}",
            self.accepted.load(Ordering::Relaxed),
            self.duplicate.load(Ordering::Relaxed),
            self.other.load(Ordering::Relaxed)
        )
    }
}

/// A receiver on `store` with a no-op handler (every event acknowledged) whose observer counts
/// how deliveries ended.
fn counting_receiver(store: Arc<dyn IdempotencyStore>, outcomes: Arc<Outcomes>) -> Receiver {
    Receiver::builder(Handlers::new())
        .store(store)
        .observer(move |report| {
            let slot = match report.outcome {
                ReceiveOutcome::Accepted => &outcomes.accepted,
                ReceiveOutcome::Duplicate => &outcomes.duplicate,
                _ => &outcomes.other,
            };
            slot.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .expect("a valid receiver")
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse(std::env::args().skip(1))?;
    if let Some(seconds) = args.raw {
        return raw(&args, std::time::Duration::from_secs(seconds));
    }
    let Some(port) = args.port else {
        eprintln!("stores: no --port given, nothing to serve ({USAGE})");
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?;
    runtime.block_on(serve(port, &args))
}

/// The raw loops, one backend after the other; a line per backend on stdout.
fn raw(args: &Args, length: std::time::Duration) -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let sqlite = inbox::raw_sqlite(dir.path(), length)?;
    println!("RAW backend=sqlite connections=1 rps={sqlite:.0}");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers.max(2))
        .enable_all()
        .build()?;
    let postgres = runtime.block_on(inbox::raw_postgres(
        &args.postgres,
        &args.postgres_schema,
        args.connections,
        length,
    ))?;
    println!(
        "RAW backend=postgres connections={} rps={postgres:.0}",
        args.connections
    );
    Ok(())
}

async fn serve(port: u16, args: &Args) -> Result<(), Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    let sqlite = SqliteStore::open(dir.path().join("bench.db"))
        .await
        .map_err(|e| format!("SQLite in {}: {e}", dir.path().display()))?;
    let config = PostgresConfig::default().schema(args.postgres_schema.as_str());
    let postgres = PostgresStore::connect_with(&args.postgres, config)
        .await
        .map_err(|e| format!("PostgreSQL at {}: {e}", args.postgres))?;
    let redis = RedisStore::connect_with_prefix(&args.redis, &args.redis_prefix)
        .await
        .map_err(|e| format!("Redis at {}: {e}", args.redis))?;
    let stores: [(&str, &str, Arc<dyn IdempotencyStore>); 4] = [
        ("memory", "/webhook", Arc::new(MemoryStore::new())),
        ("sqlite", "/webhook-sqlite", Arc::new(sqlite)),
        ("postgres", "/webhook-postgres", Arc::new(postgres)),
        ("redis", "/webhook-redis", Arc::new(redis)),
    ];
    let mut app = axum::Router::new();
    let mut counted = Vec::new();
    for (name, path, store) in stores {
        let outcomes = Arc::new(Outcomes::default());
        app = app.route(
            path,
            webhook_route(counting_receiver(store, Arc::clone(&outcomes))),
        );
        counted.push((name, outcomes));
    }
    let inboxes = inbox::Inboxes::open(dir.path(), &args.postgres, &args.postgres_schema).await?;
    let inboxes = Arc::new(inboxes);
    let receivers = [
        inbox::inbox_receiver(Arc::clone(&inboxes.sqlite)),
        inbox::inbox_receiver(Arc::clone(&inboxes.postgres)),
    ];
    app = app
        .route("/inbox-sqlite", webhook_route(receivers[0].clone()))
        .route("/inbox-postgres", webhook_route(receivers[1].clone()))
        .route(
            "/inbox-unfinished",
            axum::routing::get(move || async move { inboxes.unfinished().await }),
        );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "load bench (stores): /webhook (memory), /webhook-sqlite, /webhook-postgres (schema {}), \
         /webhook-redis (prefix {}), /inbox-sqlite, /inbox-postgres on http://{}",
        args.postgres_schema,
        args.redis_prefix,
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(signals::stop_signals()?)
        .await?;
    for (name, outcomes) in counted {
        eprintln!("webhook outcomes ({name}): {}", outcomes.summary());
    }
    for receiver in receivers {
        receiver.shutdown(std::time::Duration::from_secs(5)).await;
    }
    Ok(())
}

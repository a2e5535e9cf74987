//! Load benchmark target: serves, on 127.0.0.1, the webhook route beside the same framework's bare
//! route, for a load generator (`scripts/bench-adapters.sh` runs wrk against both).
//!
//! ```sh
//! cargo bench -p runhook-poem --bench load -- --port 18080 [--workers 1]
//! ```
//!
//! - `POST /bare`: reads the body, answers 200 `OK`.
//! - `/parse`: reads the body and runs [`runhook::receive()`] on it (method, headers, body, the
//!   receiver's `ReceiveConfig`: parse and duplicate-key pass), nothing else (no ledger, no
//!   handler, no task); 200 `OK` for an accepted event, the rejection's status otherwise. The
//!   lower bound for any route that must parse.
//! - `/webhook`: `webhook_route` with an in-memory ledger and a no-op handler (`Router::new()`
//!   acknowledges every event).
//!
//! Runs until SIGINT or SIGTERM, then prints how the webhook deliveries ended to stderr
//! (`webhook outcomes: accepted=N duplicate=N other=N`), so a run whose run ids were not fresh
//! shows it. The same command-line shape is shared by every adapter's `load` bench.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench binary: a failed setup should panic

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, bail};
use bytes::Bytes;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Endpoint, Request, Response, Route, Server, handler, post};
use runhook::ReceiveOutcome;
use runhook::receive::ReceiveConfig;
use runhook_poem::webhook_route;
use runhook_receiver::{Receiver, Report, Router};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

/// `--port N` and `--workers N` (tokio worker threads, default 1). Cargo's own `--bench` flag is
/// ignored. Without `--port` there is nothing to serve and the target exits at once, so
/// `cargo bench` and `cargo test --all-targets` over the workspace do not hang or fail on it.
struct Args {
    port: Option<u16>,
    workers: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut port = None;
    let mut workers = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = Some(args.next().context("--port needs a value")?.parse()?),
            "--workers" => workers = args.next().context("--workers needs a value")?.parse()?,
            "--bench" => {}
            other => bail!("unknown argument {other:?}; usage: load --port N [--workers N]"),
        }
    }
    Ok(Args { port, workers })
}

/// Counts how webhook deliveries ended.
#[derive(Default)]
struct Outcomes {
    accepted: AtomicU64,
    duplicate: AtomicU64,
    other: AtomicU64,
}

/// `POST /bare`: the body read, nothing else.
#[handler]
async fn bare(_body: Bytes) -> &'static str {
    "OK"
}

/// `POST /parse`: the body read and run through [`runhook::receive()`], nothing else.
struct Parse {
    config: ReceiveConfig,
}

impl Endpoint for Parse {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        let body = request.take_body().into_bytes().await?;
        let verdict = runhook::receive(request.method(), request.headers(), &body, &self.config);
        let status = StatusCode::from_u16(verdict.status()).unwrap();
        Ok(Response::builder().status(status).body("OK"))
    }
}

fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let Some(port) = args.port else {
        eprintln!("load: no --port given, nothing to serve (usage: load --port N [--workers N])");
        return Ok(());
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.workers)
        .enable_all()
        .build()?
        .block_on(serve(port))
}

async fn serve(port: u16) -> anyhow::Result<()> {
    let outcomes = Arc::new(Outcomes::default());
    let counter = Arc::clone(&outcomes);
    let receiver = Receiver::builder(Router::new())
        .observer(move |report: &Report| {
            let slot = match report.outcome {
                ReceiveOutcome::Accepted => &counter.accepted,
                ReceiveOutcome::Duplicate => &counter.duplicate,
                _ => &counter.other,
            };
            slot.fetch_add(1, Ordering::Relaxed);
        })
        .build();
    let parse = Parse {
        config: receiver.config().receive.clone(),
    };
    let app = Route::new()
        .at("/bare", post(bare))
        .at("/parse", post(parse))
        .at("/webhook", webhook_route(receiver));
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "load bench (poem): /bare, /parse and /webhook on http://{}",
        listener.local_addr()?
    );
    let mut terminate = signal(SignalKind::terminate())?;
    let shutdown = async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
    };
    Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?)
        .run_with_graceful_shutdown(app, shutdown, None)
        .await?;
    eprintln!(
        "webhook outcomes: accepted={} duplicate={} other={}",
        outcomes.accepted.load(Ordering::Relaxed),
        outcomes.duplicate.load(Ordering::Relaxed),
        outcomes.other.load(Ordering::Relaxed)
    );
    Ok(())
}

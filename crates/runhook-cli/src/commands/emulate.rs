//! `runhook emulate`: serve a local TinyFish-compatible runs API (see `runhook_emulator`).
//! The first line of stdout is `emulating the TinyFish API on http://ADDR`; then one line per
//! API call and one per webhook attempt, until Ctrl-C, SIGTERM or a closed stdout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use runhook_emulator::{
    Activity, DeliveryRecord, Emulator, EmulatorConfig, RequestRecord, Scenario, StoreConfig,
};

use crate::exit::Exit;
use crate::out::{FLUSH_TIMEOUT, Printer};

/// The environment variable read for an API key when no `--api-key` is given.
const KEY_VAR: &str = "TINYFISH_API_KEY";

/// Arguments of `runhook emulate`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on; port 0 picks a free one (the first line shows it).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8081")]
    addr: SocketAddr,
    /// An API key the emulator accepts in X-API-Key (repeat for several). Without one, the
    /// key in $TINYFISH_API_KEY; with neither, the command refuses to start.
    #[arg(long = "api-key", value_name = "KEY")]
    api_keys: Vec<String>,
    /// Accept webhook_url values that are plain http:// to a loopback host (127.0.0.1,
    /// localhost, [::1]), e.g. `runhook listen`, and deliver to loopback addresses.
    #[arg(long)]
    allow_http_loopback: bool,
    /// Run N times faster than scripted (0.01 to 1000000): run durations, the waits between
    /// webhook attempts and simulated timeouts shrink; a real attempt keeps its 10 s timeout.
    #[arg(long, value_name = "N", default_value_t = 1.0)]
    speed: f64,
    /// A scenario file (TOML or JSON rules matched on the goal) that scripts each run's
    /// outcome, duration, steps, result, error and webhook faults.
    #[arg(long, value_name = "FILE")]
    scenario: Option<PathBuf>,
    /// Where runs are kept: memory (this process only) or sqlite:PATH (kept across restarts;
    /// runs in progress at a restart come back FAILED).
    #[arg(long, value_name = "URL", default_value = "memory")]
    store: String,
    /// Keep at most N runs (in memory and in the store): creating one more first evicts the
    /// oldest finished run; when every run kept is still in progress, new runs get 429
    /// RATE_LIMIT_EXCEEDED.
    #[arg(long, value_name = "N", default_value_t = runhook_emulator::DEFAULT_MAX_RUNS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    max_runs: u64,
    /// Answer a share P (0.0-1.0) of the reads GET /v1/runs and POST /v1/runs/batch with 429
    /// RATE_LIMIT_EXCEEDED and Retry-After, spread evenly, as a rate-limited API would (to
    /// test a client's or a reconciler's patience).
    #[arg(long, value_name = "P", value_parser = crate::commands::listen::probability)]
    throttle_reads: Option<f64>,
    /// The Retry-After of --throttle-reads, in seconds (default 1).
    #[arg(long, value_name = "SECS", default_value_t = 1, requires = "throttle_reads",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    throttle_retry_after: u64,
}

/// The keys of `--api-key`, else the one in `$TINYFISH_API_KEY`.
fn api_keys(args: &Args) -> anyhow::Result<Vec<String>> {
    let keys = if args.api_keys.is_empty() {
        std::env::var(KEY_VAR)
            .ok()
            .filter(|key| !key.trim().is_empty())
            .map(|key| vec![key.trim().to_owned()])
            .unwrap_or_default()
    } else {
        args.api_keys.clone()
    };
    if keys.is_empty() {
        bail!(
            "no API key: give one with --api-key KEY (repeatable) or ${KEY_VAR}; clients send it \
             in the X-API-Key header, as with TinyFish"
        );
    }
    Ok(keys)
}

/// Serves until Ctrl-C, SIGTERM or a closed stdout.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let keys = api_keys(&args)?;
    let scenario = match &args.scenario {
        Some(path) => Scenario::from_path(path).context("cannot use the scenario")?,
        None => Scenario::default(),
    };
    let store = StoreConfig::parse(&args.store)?;
    let closed = Arc::new(Printer::stdout());
    let printer = Arc::clone(&closed);
    let config = EmulatorConfig::new(keys)
        .allow_http_loopback(args.allow_http_loopback)
        .speed(args.speed)
        .scenario(scenario)
        .store(store)
        .max_runs(usize::try_from(args.max_runs).unwrap_or(usize::MAX))
        .observer(move |activity| printer.print(describe(activity)));
    let config = match args.throttle_reads {
        Some(share) => config.throttle_reads(share, Duration::from_secs(args.throttle_retry_after)),
        None => config,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let emulator = Emulator::start(config, listener).await?;
        // Installed before the first line, so that a signal sent as soon as it is read stops
        // the emulator gracefully.
        let signals = crate::signals::stop_signals().context("cannot listen for signals")?;
        closed.print(format!(
            "emulating the TinyFish API on {}",
            emulator.base_url()
        ));
        tokio::select! {
            () = signals => {}
            () = closed.closed() => {}
        }
        emulator.shutdown().await;
        if !closed.is_gone() {
            eprintln!("runhook: stopped");
        }
        Ok::<_, anyhow::Error>(Exit::Success)
    });
    // Every line printed so far reaches stdout before the process exits.
    closed.flush(FLUSH_TIMEOUT);
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

fn millis(duration: Duration) -> String {
    format!("{}ms", duration.as_millis())
}

/// The line of one activity.
fn describe(activity: &Activity) -> String {
    match activity {
        Activity::Request(request) => request_line(request),
        Activity::Delivery(delivery) => delivery_line(delivery),
        other => format!("{other:?}"),
    }
}

fn request_line(request: &RequestRecord) -> String {
    format!(
        "{} {} {} {}",
        request.method,
        request.path,
        request.status,
        millis(request.elapsed)
    )
}

fn delivery_line(delivery: &DeliveryRecord) -> String {
    let mut line = format!(
        "webhook {} {} attempt {}/{}: {} {}ms",
        delivery.event,
        delivery.run_id,
        delivery.attempt,
        delivery.max_attempts,
        delivery.result,
        delivery.elapsed_ms
    );
    if let Some(wait) = delivery.retry_in_ms {
        line.push_str(&format!(", retry in {wait}ms"));
    }
    if let Some(outcome) = &delivery.outcome {
        line.push_str(&format!(" ({outcome})"));
    }
    line
}

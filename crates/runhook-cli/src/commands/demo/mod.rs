//! `runhook demo`: the whole loop on one machine, offline, in a few seconds. It starts the
//! TinyFish emulator and a receiver in inbox mode (SQLite in a temporary directory) served over
//! HTTPS with a self-signed certificate, creates runs through the runs client that show every
//! path (completed, failed, cancelled, a delivery retried after two network failures, a
//! duplicate delivery, a webhook that never arrived, as when the receiver is down, recovered by
//! the reconciler's sweep), forges two POSTs that must be refused, prints a timeline and a
//! summary, and exits 0 only if every path behaved as documented.

mod observed;
mod report;
mod steps;
mod sweeps;
mod timeline;
mod tls;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runhook::receive::UrlToken;
use runhook::{Event, HandlerOutcome, Source};
use runhook_emulator::{Activity, Emulator, EmulatorConfig};
use runhook_receiver::{Received, Receiver, ReceiverConfig, handler_fn};
use runhook_store::SqliteInbox;
use runhook_tinyfish::{Client, RunRequest};

use self::observed::{Observed, Path, Processing};
use self::report::{DemoRun, short};
use self::steps::{Until, Waiter, forge};
use self::sweeps::Sweeps;
use self::timeline::Timeline;
use crate::exit::Exit;
use crate::out::StdoutClosed;

/// How much faster than scripted the emulator runs.
const SPEED: f64 = 2.0;
/// The longest the demo waits for every path to finish (the reconciler's sweeps too).
const PATIENCE: Duration = Duration::from_secs(20);
/// The receiver's webhook path.
const PATH: &str = "/webhooks/tinyfish";

/// Arguments of `runhook demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// After the checks, keep the receiver open and serve the web console over the demo's inbox
    /// (on --console-addr), to look at each path in the browser; Ctrl-C stops.
    #[arg(long)]
    console: bool,
    /// Where --console serves the console: a loopback address.
    #[arg(long, value_name = "ADDR", default_value = crate::console::DEFAULT_CONSOLE_ADDR, requires = "console")]
    console_addr: std::net::SocketAddr,
}

/// Runs the demo; exit 0 if every check passed, 1 otherwise.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    // The demo's console has no token: loopback only.
    let console = if args.console {
        crate::console::console_token(args.console_addr, None)?;
        Some(args.console_addr)
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let timeline = Arc::new(Timeline::new());
    let passed = runtime.block_on(demo(Arc::clone(&timeline), console))?;
    runtime.shutdown_timeout(Duration::from_secs(1));
    if timeline.is_closed() {
        return Err(StdoutClosed.into());
    }
    Ok(if passed { Exit::Success } else { Exit::Failure })
}

/// ` from the reconciler` for a recovered event, nothing for a webhook's.
fn from(source: Source) -> &'static str {
    if source.is_recovered() {
        " from the reconciler"
    } else {
        ""
    }
}

/// The receiver: inbox mode on `inbox`, the URL token, confirm by API, a recording handler.
fn receiver(
    inbox: Arc<SqliteInbox>,
    token: &str,
    client: Client,
    timeline: &Arc<Timeline>,
    seen: &Arc<Observed>,
) -> anyhow::Result<Receiver> {
    let (line, record) = (Arc::clone(timeline), Arc::clone(seen));
    let handler = handler_fn(move |received: Received<Event>| {
        let source = received.context().source();
        let event = received.into_inner();
        let run_id = event.run_id().unwrap_or_default().to_owned();
        record.processed(
            &run_id,
            Processing {
                event: event.name().to_owned(),
                source,
                at: line.elapsed(),
            },
        );
        line.line(&format!(
            "handler   processed {} {}{}",
            event.name(),
            short(&run_id),
            from(source)
        ));
        async { HandlerOutcome::Ok }
    });
    let authenticator = UrlToken::in_query([token]).context("cannot use the URL token")?;
    let (line, record) = (Arc::clone(timeline), Arc::clone(seen));
    Receiver::with_inbox(inbox, Arc::new(handler))
        .config(ReceiverConfig::default().with_authenticator(authenticator))
        .confirm_with(Arc::new(client))
        .observer(move |report| {
            record.verdict(report);
            let mut text = format!("receiver  {} {}", report.status, report.outcome.as_str());
            for part in [report.event.as_deref(), report.run_id.as_deref().map(short)]
                .into_iter()
                .flatten()
            {
                text.push(' ');
                text.push_str(part);
            }
            text.push_str(from(report.source));
            line.line(&text);
        })
        .build()
        .context("invalid receiver settings")
}

async fn demo(
    timeline: Arc<Timeline>,
    console: Option<std::net::SocketAddr>,
) -> anyhow::Result<bool> {
    let seen = Arc::new(Observed::default());
    let dir = tempfile::tempdir().context("cannot make a temporary directory")?;
    let token = uuid::Uuid::new_v4().simple().to_string();
    let api_key = format!("sk-demo-{}", uuid::Uuid::new_v4().simple());
    let tls = tls::self_signed()?;

    // The emulator: webhooks over HTTPS to loopback, trusting the receiver's certificate.
    let line = Arc::clone(&timeline);
    let config = EmulatorConfig::new([api_key.clone()])
        .allow_https_loopback(true)
        .add_webhook_root_certificate_pem(tls.pem.clone())
        .speed(SPEED)
        .observer(move |activity| {
            if let Activity::Delivery(record) = activity {
                line.line(&format!(
                    "webhook   attempt {}/{} {} {} -> {}",
                    record.attempt,
                    record.max_attempts,
                    record.event,
                    short(&record.run_id),
                    record.result
                ));
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let emulator = Emulator::start(config, listener)
        .await
        .context("cannot start the emulator")?;
    let client = Client::builder()
        .base_url(emulator.base_url())
        .api_key(api_key)
        .timeout(Duration::from_secs(5))
        .build()
        .context("cannot build the runs client")?;
    timeline.line(&format!(
        "emulator  TinyFish API on {} (speed x{SPEED})",
        emulator.base_url()
    ));

    // The receiver, over HTTPS, and the reconciler that sweeps the runs API into it.
    let inbox = SqliteInbox::open(dir.path().join("inbox.db"))
        .await
        .context("cannot open the SQLite inbox")?;
    let receiver = receiver(
        Arc::new(inbox.clone()),
        &token,
        client.clone(),
        &timeline,
        &seen,
    )?;
    let reconciler = sweeps::reconciler_of(&client, &inbox, receiver.clone()).await?;
    let app = axum::Router::new().route(PATH, runhook_axum::webhook_route(receiver));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://{}{PATH}", listener.local_addr()?);
    let server = tokio::spawn(tls::serve(listener, Arc::clone(&tls.config), app));
    timeline.line(&format!(
        "receiver  listening on {url} (TLS, self-signed for 127.0.0.1 and localhost; inbox \
         SQLite in a temporary directory; URL token and confirm by API required)"
    ));

    let webhook_url = format!("{url}?token={token}");
    let mut runs = Vec::new();
    for path in Path::ALL {
        let request = RunRequest::new("https://example.com", path.goal()).webhook_url(&webhook_url);
        let run_id = client
            .create_run_async(&request)
            .await
            .with_context(|| format!("cannot create the {} run", path.label()))?;
        timeline.line(&format!(
            "run       created {} {}: {}",
            path.label(),
            short(run_id.as_ref()),
            path.goal()
        ));
        runs.push((path, run_id));
    }

    forge(&timeline, &seen, &url, &token, &tls.pem).await?;
    if let Some((_, run_id)) = runs.iter().find(|(path, _)| *path == Path::Cancelled) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let outcome = client
            .cancel_run(run_id)
            .await
            .context("cannot cancel the run")?;
        timeline.line(&format!(
            "run       cancel_run cancelled {}: {}",
            short(run_id.as_ref()),
            outcome.status.as_str()
        ));
    }

    let mut waiter = Waiter {
        timeline: &timeline,
        client: &client,
        emulator: &emulator,
        seen: &seen,
        runs: &runs,
        deadline: tokio::time::Instant::now() + PATIENCE,
        statuses: HashMap::new(),
    };
    waiter.wait(Until::Webhooks).await;
    // The recovered run's webhook gave up, as when the receiver is down: a sweep recovers it,
    // and once it is processed, a second sweep finds nothing left.
    if let Some((_, run_id)) = runs.iter().find(|(path, _)| *path == Path::Recovered) {
        let log = emulator.deliveries();
        let last = log.iter().rev().find(|r| r.run_id == run_id.as_ref());
        let ended = match last.and_then(|r| Some((r.attempt, r.outcome.as_deref()?))) {
            Some((attempt, "failed")) => {
                format!("gave up after {attempt} attempts, as when the receiver is down")
            }
            Some((attempt, outcome)) => format!("ended {outcome} on attempt {attempt}"),
            None => "has not ended".to_owned(),
        };
        timeline.line(&format!(
            "reconcile the webhook of {} {ended}: sweeping the runs API",
            short(run_id.as_ref())
        ));
    }
    let first = sweeps::sweep(&timeline, &reconciler).await;
    waiter.wait(Until::Recovered).await;
    timeline.line("reconcile sweeping the runs API again");
    let second = sweeps::sweep(&timeline, &reconciler).await;
    let sweeps = Sweeps { first, second };
    let finished = waiter.statuses;
    let log = emulator.deliveries();
    let demo_runs: Vec<DemoRun> = runs
        .iter()
        .map(|(path, run_id)| DemoRun {
            path: *path,
            run_id: run_id.to_string(),
            status: finished.get(run_id.as_ref()).cloned(),
        })
        .collect();
    report::summary(&timeline, &demo_runs, &log, &seen);
    let passed = report::checks(&timeline, &demo_runs, &log, &seen, &sweeps);
    timeline.plain(if passed {
        "demo passed: every path behaved as documented"
    } else {
        "demo FAILED: see the checks above"
    });
    if let Some(addr) = console {
        keep_open(&timeline, addr, Arc::new(inbox), &url).await?;
    }
    server.abort();
    emulator.shutdown().await;
    Ok(passed)
}

/// `--console`: serves the console over the demo's inbox, the receiver still open, until Ctrl-C.
async fn keep_open(
    timeline: &Timeline,
    addr: std::net::SocketAddr,
    inbox: Arc<SqliteInbox>,
    url: &str,
) -> anyhow::Result<()> {
    let signals = crate::signals::stop_signals().context("cannot listen for signals")?;
    let (listener, bound) = crate::console::bind(addr).await?;
    let router = runhook_console::Console::over_inbox(inbox).router();
    let console = crate::console::console_url(bound);
    timeline.plain(&format!("console on {console}"));
    timeline.plain(&format!(
        "the receiver stays open on {} and the console on {console}: press Ctrl-C to stop",
        runhook::endpoint::redact_url(url)
    ));
    crate::console::serve(listener, router, signals).await
}

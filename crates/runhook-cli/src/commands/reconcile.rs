//! `runhook reconcile`: one sweep of the TinyFish runs API, for the runs whose webhooks never
//! arrived, then exit. The sweep is the library's `runhook_receiver::reconcile::Reconciler`;
//! this file wires it to the store of `--store` and prints.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runhook_receiver::{Handlers, Receiver, ReceiverConfig};

use crate::commands::inbox::parse_duration;
use crate::commands::listen::output::{Lines, Summaries};
use crate::commands::listen::summarizing_handler;
use crate::exit::Exit;
use crate::store::{DEFAULT_STORE, StoreUrl};

/// Arguments of `runhook reconcile`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The store `runhook listen` uses (--store): its idempotency store decides which runs are
    /// new, and it keeps the watermark and watch list between sweeps. sqlite:PATH (the
    /// default, sqlite:./runhook.db), postgres://… or memory.
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
    /// How far back to list runs when the store holds no watermark yet (the first sweep), and
    /// how long a run in progress is watched: N followed by ms, s, m, h or d (default 72h).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    since: Option<Duration>,
    /// List what would be processed, and change nothing (no event processed or stored, the
    /// watermark and watch list left as they are).
    #[arg(long)]
    dry_run: bool,
    /// Print JSON Lines: one object per recovered run (as `listen --json`), then the sweep's
    /// `{"kind":"reconcile_sweep",…}`.
    #[arg(long)]
    json: bool,
    /// Store the recovered runs in the inbox of --store, for the relay that forwards from it
    /// (`runhook listen --forward-to … --store` the same URL), instead of processing them here
    /// as `runhook listen` would (claimed in the idempotency store, one line each).
    #[arg(long)]
    inbox: bool,
}

/// Runs one sweep; exits 0 when it finished (also when another replica holds the lease and it
/// was skipped), 1 when it failed.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let client = crate::reconcile::client("runhook reconcile")?;
    let store_url = StoreUrl::parse(&args.store)?;
    let ask = crate::reconcile::ask(&client, Duration::ZERO);
    let lookback = args.since.unwrap_or(runhook::reconcile::DEFAULT_LOOKBACK);
    let lines = Lines::new(args.json);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let summaries = Summaries::default();
        let printer = Arc::clone(&lines);
        let printed = Arc::clone(&summaries);
        let (receiver, home) = if args.inbox {
            let config = ReceiverConfig::default();
            let (inbox, _maintenance, home) = store_url
                .open_relay_inbox(config.inbox.retention, Some(&ask))
                .await?;
            eprintln!(
                "runhook: recovered runs go into the inbox {}",
                store_url.describe()
            );
            // Only stored here: the relay's workers forward them.
            let inbox_config = config.inbox.clone().with_claim(false);
            let config = config.with_inbox(inbox_config);
            let receiver = Receiver::with_inbox(inbox, Arc::new(Handlers::new()))
                .config(config)
                .observer(move |report| printer.report(report, &printed))
                .build()
                .context("invalid receiver settings")?;
            (receiver, home)
        } else {
            let (store, _maintenance, home) = store_url.open(Some(&ask)).await?;
            eprintln!("runhook: idempotency store {}", store_url.describe());
            let receiver = Receiver::builder(summarizing_handler(summaries, Duration::ZERO))
                .store(store)
                .observer(move |report| printer.report(report, &printed))
                .build()
                .context("invalid receiver settings")?;
            (receiver, home)
        };
        let home = home.context("the store keeps no reconcile state")?;
        let reconciler = crate::reconcile::reconciler(client, home, receiver.clone(), lookback);
        let result = if args.dry_run {
            reconciler.dry_run().await
        } else {
            reconciler.sweep().await
        };
        receiver.shutdown(Duration::from_secs(10)).await;
        anyhow::Ok(result)
    });
    runtime.shutdown_timeout(Duration::from_millis(100));
    if let Ok(result) = &result
        && let Some(line) = crate::reconcile::sweep_line(result, args.json)
    {
        lines.emit(line);
    }
    // Every line printed so far reaches stdout before the process exits.
    lines.flush();
    let result = result?;
    if let Ok(report) = &result
        && report.skipped
        && !args.json
    {
        eprintln!("runhook: another replica holds the reconcile lease; nothing was swept");
    }
    Ok(if result.is_ok() {
        Exit::Success
    } else {
        Exit::Failure
    })
}

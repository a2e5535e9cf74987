//! What `runhook reconcile` and `listen --reconcile-every` share: the runs client from the
//! environment, the reconciler wired to the receiver and the store of `--store`, and the line
//! each sweep prints. The sweep itself is the library's `runhook_receiver::reconcile`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail};
use runhook::endpoint::redact_url;
use runhook_receiver::Receiver;
use runhook_receiver::reconcile::{ReconcileError, Reconciler, SweepReport};
use runhook_tinyfish::{BuildError, Client};
use serde_json::json;

use crate::store::{ReconcileAsk, ReconcileHome};
use crate::timefmt::rfc3339;

/// The longest one sweep of the CLI may take; the lease is held longer than this.
pub(crate) const SWEEP_TIMEOUT: Duration = Duration::from_secs(120);

/// The runs client of a reconciler, from `TINYFISH_API_KEY` and `TINYFISH_BASE_URL`; without
/// the key, a usage error naming the variable (`what` names the option that needs it).
pub(crate) fn client(what: &str) -> anyhow::Result<Client> {
    match Client::builder().build() {
        Ok(client) => Ok(client),
        Err(BuildError::MissingApiKey) => bail!(
            "{what} reads runs from the TinyFish API: set the environment variable {} to your \
             API key (and {} to sweep another API, such as `runhook emulate`)",
            Client::API_KEY_ENV,
            Client::BASE_URL_ENV
        ),
        Err(error) => Err(anyhow!("{what}: {error}")),
    }
}

/// What the reconciler asks of the store: a state scoped to the API it sweeps (its base URL,
/// without secrets), and a lease held for longer than a sweep may take plus the interval.
pub(crate) fn ask(client: &Client, every: Duration) -> ReconcileAsk {
    ReconcileAsk {
        scope: redact_url(client.base_url()),
        lease: SWEEP_TIMEOUT + every.saturating_mul(2),
    }
}

/// The reconciler of `client` over `receiver`, with its state and lease from `home`.
pub(crate) fn reconciler(
    client: Client,
    home: ReconcileHome,
    receiver: Receiver,
    lookback: Duration,
) -> Reconciler {
    let reconciler = Reconciler::new(Arc::new(client), home.state, receiver)
        .lookback(lookback)
        .timeout(SWEEP_TIMEOUT);
    match home.leader {
        Some(leader) => reconciler.leader(leader),
        None => reconciler,
    }
}

fn time(at: Option<SystemTime>) -> Option<String> {
    at.map(rfc3339)
}

/// The line of one sweep: `reconcile_sweep` (or `reconcile_failed`) as JSON, or a sentence. A
/// sweep skipped because another replica holds the lease prints only as JSON (it happens at
/// every interval on every other replica).
pub(crate) fn sweep_line(
    result: &Result<SweepReport, ReconcileError>,
    json: bool,
) -> Option<String> {
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            let error = redact_url(&error.to_string());
            return Some(if json {
                json!({ "kind": "reconcile_failed", "error": error, "pid": std::process::id() })
                    .to_string()
            } else {
                format!("reconcile: the sweep failed: {error}; trying again at the next")
            });
        }
    };
    if json {
        return Some(
            json!({
                "kind": "reconcile_sweep",
                "pid": std::process::id(),
                "skipped": report.skipped,
                "dry_run": report.dry_run,
                "started_at": time(report.started_at),
                "finished_at": time(report.finished_at),
                "listed_after": time(report.listed_after),
                "watermark": time(report.watermark),
                "listed": report.listed,
                "api_calls": report.api_calls,
                "seen": report.seen,
                "recovered": report.recovered,
                "duplicates": report.duplicates,
                "failed": report.failed,
                "rejected": report.rejected,
                "watched": report.watched,
                "unwatched": report.unwatched,
                "dropped": report.dropped,
                "watching": report.watching,
                "watch_full": report.watch_full,
            })
            .to_string(),
        );
    }
    if report.skipped {
        return None;
    }
    let verb = if report.dry_run {
        "would recover"
    } else {
        "recovered"
    };
    let mut line = format!(
        "reconcile: {verb} {} run(s); listed {}, seen {}, watching {}, {} API call(s)",
        report.recovered.len(),
        report.listed,
        report.seen,
        report.watching,
        report.api_calls
    );
    if report.duplicates > 0 {
        line.push_str(&format!(
            ", {} arrived by webhook meanwhile",
            report.duplicates
        ));
    }
    if !report.failed.is_empty() {
        line.push_str(&format!(
            ", {} not processed (tried again at the next sweep)",
            report.failed.len()
        ));
    }
    if !report.dropped.is_empty() {
        line.push_str(&format!(", {} given up", report.dropped.len()));
    }
    if report.watch_full {
        line.push_str(", the watch list is full");
    }
    if let Some(elapsed) = report.elapsed() {
        line.push_str(&format!(" in {} ms", elapsed.as_millis()));
    }
    Some(line)
}

//! The demo's reconciler: after the `recovered` run's webhook gave up (every attempt failed, as
//! when the receiver is down), one sweep of the runs API sends the run through the receiver,
//! and a second sweep must find nothing left to recover.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use runhook::endpoint::redact_url;
use runhook_receiver::Receiver;
use runhook_receiver::reconcile::{Reconciler, SweepReport};
use runhook_store::SqliteInbox;
use runhook_tinyfish::Client;

use super::timeline::Timeline;
use crate::reconcile::{ask, reconciler, sweep_line};
use crate::store::ReconcileHome;

/// How far back the first sweep lists runs: the demo's runs are all younger than a minute.
const LOOKBACK: Duration = Duration::from_secs(60);
/// Requests per second to the emulator (a sweep of the demo makes two or three).
const RATE: f64 = 50.0;
/// The longest one sweep may take.
const TIMEOUT: Duration = Duration::from_secs(10);

/// What the two sweeps reported, or why they failed (the error's text, URLs redacted).
pub(super) struct Sweeps {
    /// The sweep after the webhook gave up: it must recover the run.
    pub(super) first: Result<SweepReport, String>,
    /// The sweep after that one was processed: it must recover nothing.
    pub(super) second: Result<SweepReport, String>,
}

/// The reconciler of the demo: `client` as the runs source, its state on the demo's SQLite
/// inbox (scoped to the emulator's URL), sending through `receiver`.
pub(super) async fn reconciler_of(
    client: &Client,
    inbox: &SqliteInbox,
    receiver: Receiver,
) -> anyhow::Result<Reconciler> {
    // The lease's time to live is not used: the demo has no leader.
    let scope = ask(client, Duration::ZERO).scope;
    let state = inbox
        .reconcile_state(&scope)
        .await
        .context("cannot open the reconcile state in the SQLite inbox")?;
    let home = ReconcileHome {
        state: Arc::new(state),
        leader: None,
    };
    Ok(reconciler(client.clone(), home, receiver, LOOKBACK)
        .rate(RATE)
        .timeout(TIMEOUT))
}

/// One sweep, its line in the timeline (`reconcile recovered N run(s); …`).
pub(super) async fn sweep(
    timeline: &Timeline,
    reconciler: &Reconciler,
) -> Result<SweepReport, String> {
    let result = reconciler.sweep().await;
    if let Some(line) = sweep_line(&result, false) {
        let line = line.strip_prefix("reconcile: ").unwrap_or(&line);
        timeline.line(&format!("reconcile {line}"));
    }
    result.map_err(|error| redact_url(&error.to_string()))
}

//! `listen --forward-to URL`: the relay, wired from [`runhook_dispatch::relay`]. The receiver
//! runs in inbox mode: each delivery is authenticated, deduplicated and stored in the inbox of
//! `--store`, answered 200, and then forwarded to the app by the inbox workers through the
//! library's [`Forwarder`], retried on the relay's inbox policy until the app answers 2xx,
//! refuses it (a 4xx other than 404, 405, 408 and 429: dead), or 72 hours have passed. This file
//! checks the options and prints; the forwarding rules live in the library.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use runhook::inbox::InboxPolicy;
use runhook_dispatch::relay::{self, Forwarder, TargetHealth};
use runhook_dispatch::status_text;
use runhook_receiver::{Receiver, ReceiverBuilder, ReceiverConfig, RunConfirmer};
use runhook_store::Maintenance;

use super::Args;
use super::output::{Lines, Summaries};
use crate::store::{ReconcileAsk, ReconcileHome, StoreUrl};

/// A relay's settings, checked before anything starts.
#[derive(Debug)]
pub(super) struct Relay {
    forwarder: Forwarder,
    concurrency: Option<usize>,
    lease: Option<Duration>,
    policy: InboxPolicy,
}

impl Relay {
    /// The relay `--forward-to` asks for, if any; a refused URL, a target that is this relay
    /// itself, or a store that holds no inbox, is a usage error.
    pub(super) fn from_args(
        args: &Args,
        store: &StoreUrl,
        lines: &Arc<Lines>,
    ) -> anyhow::Result<Option<Relay>> {
        let Some(url) = &args.forward_to else {
            return Ok(None);
        };
        let timeout = args
            .forward_timeout_ms
            .map_or(relay::DEFAULT_FORWARD_TIMEOUT, Duration::from_millis);
        let base = Duration::from_millis(args.retry_base_ms.unwrap_or(1000));
        let policy = relay::policy(timeout, base)?;
        let concurrency = args
            .concurrency
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
        let connections = concurrency.unwrap_or(ReceiverConfig::default().inbox.concurrency);
        let forwarder = Forwarder::builder(url.trim())
            .timeout(timeout)
            .connections(connections)
            .policy(policy.retry.clone())
            .on_health_change({
                let lines = Arc::clone(lines);
                move |target, change| {
                    // Down, still down, up: on stdout with the other forward lines.
                    if !lines.target(&target.to_string(), change) {
                        eprintln!("{}", health_line(&target.without_query(), change));
                    }
                }
            })
            .build()
            .with_context(|| {
                format!(
                    "--forward-to {:?} is refused",
                    runhook::endpoint::redact_url(url)
                )
            })?;
        let target = forwarder.target();
        let path = super::normalize(&args.path)?;
        if relay::forwards_to_itself(target, args.addr, &path) {
            bail!(
                "--forward-to {} is this relay's own address and path (--addr {} --path {path}): \
                 it would answer its own forwards as duplicates and no app would ever get the \
                 events; point --forward-to at your app",
                target.without_query(),
                args.addr
            );
        }
        if matches!(store, StoreUrl::Redis(_)) {
            bail!(
                "--store {}: the inbox needs sqlite: or postgres:// (Redis keeps idempotency keys \
                 only)",
                store.describe()
            );
        }
        Ok(Some(Relay {
            forwarder,
            concurrency,
            lease: args.lease_ms.map(Duration::from_millis),
            policy,
        }))
    }

    /// Opens the inbox and prepares the receiver in inbox mode, its workers forwarding to the
    /// app and printing one line per attempt on `lines`, and the maintenance task that purges
    /// the inbox's done rows (the workers' own purge is off). Its settings are checked here;
    /// building it starts the workers.
    pub(super) async fn receiver(
        self,
        mut config: ReceiverConfig,
        store: &StoreUrl,
        lines: Arc<Lines>,
        confirmer: Option<Arc<dyn RunConfirmer>>,
        reconcile: Option<&ReconcileAsk>,
    ) -> anyhow::Result<(ReceiverBuilder, Maintenance, Option<ReconcileHome>)> {
        let (inbox, maintenance, home) = store
            .open_relay_inbox(config.inbox.retention, reconcile)
            .await?;
        eprintln!("runhook: inbox {}", store.describe());
        if matches!(store, StoreUrl::Memory) {
            eprintln!(
                "runhook: WARNING: --store memory keeps the inbox in this process: every event \
                 not yet forwarded is lost when it stops or crashes, and the sender will not send \
                 it again. Use --store sqlite:PATH or postgres://… to relay for real"
            );
        }
        eprintln!(
            "runhook: forwarding to {} ({} ms per attempt)",
            self.forwarder.target(),
            self.forwarder.timeout().as_millis()
        );
        if let Some(concurrency) = self.concurrency {
            config = config.with_inbox_concurrency(concurrency);
        }
        if let Some(lease) = self.lease {
            config = config.with_inbox_lease(lease);
        }
        config.inbox = config.inbox.with_purge(false);
        config.validate().context("invalid receiver settings")?;
        let receipts = Arc::clone(&lines);
        let summaries = Summaries::default();
        // Knowing the inbox, the forwarder makes the waiting rows due when the app is back.
        let forwarder = Arc::new(self.forwarder.with_inbox(Arc::clone(&inbox)));
        let target = Arc::clone(&forwarder);
        let builder = Receiver::with_inbox(inbox, forwarder)
            .config(config)
            .inbox_policy(self.policy)
            .observer(move |report| receipts.report(report, &summaries))
            .inbox_observer(move |report| lines.attempt(report, target.is_down()));
        Ok((super::confirm::with(builder, confirmer), maintenance, home))
    }
}

/// The one stderr line of a change in what the app's answers say about the relay's
/// configuration; `target` is the URL without its query.
fn health_line(target: &str, change: &TargetHealth) -> String {
    match change {
        TargetHealth::Misconfigured { status } => format!(
            "runhook: WARNING: {target} answered {}: --forward-to looks wrong (its path, its \
             method or the app); rows are kept and retried, not dead, until it answers otherwise",
            status_text(*status)
        ),
        TargetHealth::Answering { status } => format!(
            "runhook: {target} answers {} again: forwarding goes on normally",
            status_text(*status)
        ),
        other => format!("runhook: {target}: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_lines_name_the_target_and_the_status() {
        let target = "http://127.0.0.1:3000/wrong";
        assert_eq!(
            health_line(target, &TargetHealth::Misconfigured { status: 404 }),
            "runhook: WARNING: http://127.0.0.1:3000/wrong answered 404 Not Found: --forward-to \
             looks wrong (its path, its method or the app); rows are kept and retried, not dead, \
             until it answers otherwise"
        );
        assert_eq!(
            health_line(target, &TargetHealth::Answering { status: 200 }),
            "runhook: http://127.0.0.1:3000/wrong answers 200 OK again: forwarding goes on \
             normally"
        );
    }
}

//! `listen --forward-to URL`: the relay. The receiver runs in inbox mode: each delivery is
//! authenticated, deduplicated and stored in the inbox of `--store`, answered 200, and then
//! forwarded to the app by the inbox workers ([`crate::forward::Forwarder`]), retried on the
//! inbox policy until the app answers 2xx, refuses it (4xx: dead), or 72 hours have passed.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use runhook::RetryPolicy;
use runhook::inbox::InboxPolicy;
use runhook_receiver::{Receiver, ReceiverBuilder, ReceiverConfig, RunConfirmer};

use super::Args;
use super::output::{Lines, Summaries};
use crate::forward::{DEFAULT_FORWARD_TIMEOUT, ForwardTarget, Forwarder, Statuses};
use crate::store::StoreUrl;

/// How much longer than a forward attempt the worker waits before it stops the attempt itself:
/// the forwarder's own timeout always comes first, and names the app.
const WORKER_MARGIN: Duration = Duration::from_secs(5);

/// The longest wait between two attempts on one row: one hour.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// A relay's settings, checked before anything starts.
#[derive(Debug)]
pub(super) struct Relay {
    target: ForwardTarget,
    timeout: Duration,
    concurrency: Option<usize>,
    lease: Option<Duration>,
    policy: InboxPolicy,
}

impl Relay {
    /// The relay `--forward-to` asks for, if any; a refused URL, or a store that holds no inbox,
    /// is a usage error.
    pub(super) fn from_args(args: &Args, store: &StoreUrl) -> anyhow::Result<Option<Relay>> {
        let Some(url) = &args.forward_to else {
            return Ok(None);
        };
        let target = ForwardTarget::parse(url)?;
        if matches!(store, StoreUrl::Redis(_)) {
            bail!(
                "--store {}: the inbox needs sqlite: or postgres:// (Redis keeps idempotency keys \
                 only)",
                store.describe()
            );
        }
        let timeout = args
            .forward_timeout_ms
            .map_or(DEFAULT_FORWARD_TIMEOUT, Duration::from_millis);
        let base = Duration::from_millis(args.retry_base_ms.unwrap_or(1000));
        let retry = RetryPolicy::inbox()
            .to_builder()
            .exponential(base, 2.0, MAX_WAIT.max(base))
            .attempt_timeout(timeout + WORKER_MARGIN)
            .build()
            .context("invalid retry settings")?;
        Ok(Some(Relay {
            target,
            timeout,
            concurrency: args
                .concurrency
                .map(|n| usize::try_from(n).unwrap_or(usize::MAX)),
            lease: args.lease_ms.map(Duration::from_millis),
            policy: InboxPolicy::new(retry, InboxPolicy::DEFAULT_GIVE_UP_AFTER),
        }))
    }

    /// Opens the inbox and prepares the receiver in inbox mode, its workers forwarding to the
    /// app and printing one line per attempt on `lines`. Its settings are checked here; building
    /// it starts the workers.
    pub(super) async fn receiver(
        self,
        mut config: ReceiverConfig,
        store: &StoreUrl,
        lines: Arc<Lines>,
        confirmer: Option<Arc<dyn RunConfirmer>>,
    ) -> anyhow::Result<ReceiverBuilder> {
        let inbox = store.open_inbox().await?;
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
            runhook::endpoint::redact_url(self.target.url().as_str()),
            self.timeout.as_millis()
        );
        if let Some(concurrency) = self.concurrency {
            config = config.with_inbox_concurrency(concurrency);
        }
        if let Some(lease) = self.lease {
            config = config.with_inbox_lease(lease);
        }
        config.validate().context("invalid receiver settings")?;
        let statuses = Arc::new(Statuses::default());
        let forwarder = Forwarder::new(
            &self.target,
            self.timeout,
            config.inbox.concurrency,
            Arc::clone(&statuses),
        )?;
        let receipts = Arc::clone(&lines);
        let summaries = Summaries::default();
        let builder = Receiver::with_inbox(inbox, Arc::new(forwarder))
            .config(config)
            .inbox_policy(self.policy)
            .observer(move |report| receipts.report(report, &summaries))
            .inbox_observer(move |report| {
                let status = statuses.take(report.key.as_str(), report.attempt);
                lines.attempt(report, status);
            });
        Ok(super::confirm::with(builder, confirmer))
    }
}

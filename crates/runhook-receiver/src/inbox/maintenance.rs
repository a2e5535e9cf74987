//! The workers' chores beside processing: the inbox's depth for the metrics and, through the one
//! [`Maintenance`] task, the purge of done rows past their retention.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{MissedTickBehavior, interval, timeout};

use super::workers::Shared;
use crate::maintenance::Maintenance;
use crate::metrics;

/// How often the inbox's depth is published.
pub(super) const DEPTH_EVERY: Duration = Duration::from_secs(5);
/// How often done rows past their retention are purged.
pub(super) const PURGE_EVERY: Duration = Duration::from_secs(5 * 60);

/// Publishes the depth every [`DEPTH_EVERY`] and, unless the inbox settings hand the purge to
/// another task ([`InboxConfig::purge`](super::InboxConfig::purge)), runs a [`Maintenance`] of
/// the inbox every [`PURGE_EVERY`] (both at once at the start), until the workers stop claiming.
pub(super) async fn run(shared: Arc<Shared>) {
    let purge = async {
        if shared.config.inbox.purge {
            Maintenance::new()
                .inbox(
                    "inbox",
                    Arc::clone(&shared.inbox),
                    shared.config.inbox.retention,
                )
                .clock(Arc::clone(&shared.clock))
                .every(PURGE_EVERY)
                .run(shared.claiming.cancelled())
                .await;
        }
    };
    tokio::join!(publish_depth(&shared), purge);
}

/// Publishes the inbox's depth as the [`metrics::INBOX_DEPTH`] gauge every [`DEPTH_EVERY`],
/// until the workers stop claiming.
async fn publish_depth(shared: &Shared) {
    let mut ticks = interval(DEPTH_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            () = shared.claiming.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let now = shared.clock.now();
        let depth = async {
            match timeout(shared.config.store_timeout, shared.inbox.depth(now)).await {
                Ok(Ok(depth)) => metrics::inbox_depth(&depth),
                Ok(Err(error)) => tracing::warn!(%error, "could not read the inbox's depth"),
                Err(_) => tracing::warn!(
                    timeout = ?shared.config.store_timeout,
                    "the inbox did not report its depth in time"
                ),
            }
        };
        tokio::select! {
            biased;
            () = shared.claiming.cancelled() => return,
            () = depth => {}
        }
    }
}

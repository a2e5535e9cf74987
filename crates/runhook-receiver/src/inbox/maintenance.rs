//! The workers' maintenance: the inbox's depth for the metrics, and the purge of done rows past
//! their retention.

use std::sync::Arc;
use std::time::Duration;

use runhook::inbox::Purge;
use tokio::time::{MissedTickBehavior, interval, timeout};

use super::workers::Shared;
use crate::metrics;

/// How often the inbox's depth is published.
pub(super) const DEPTH_EVERY: Duration = Duration::from_secs(5);
/// How often done rows past their retention are purged.
pub(super) const PURGE_EVERY: Duration = Duration::from_secs(5 * 60);
/// The longest one purge may take; one that takes longer is abandoned until the next purge.
const PURGE_TIMEOUT: Duration = Duration::from_secs(30);

/// What the maintenance loop does next.
enum Chore {
    Depth,
    Purge,
}

/// Publishes the depth every [`DEPTH_EVERY`] and, unless the inbox settings hand the purge to
/// another task ([`InboxConfig::purge`](super::InboxConfig::purge)), purges every
/// [`PURGE_EVERY`] (both at once at the start), until the workers stop claiming.
pub(super) async fn run(shared: Arc<Shared>) {
    let mut depth = interval(DEPTH_EVERY);
    let mut purge = interval(PURGE_EVERY);
    depth.set_missed_tick_behavior(MissedTickBehavior::Delay);
    purge.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let chore = tokio::select! {
            biased;
            () = shared.claiming.cancelled() => return,
            _ = depth.tick() => Chore::Depth,
            _ = purge.tick() => Chore::Purge,
        };
        let work = async {
            match chore {
                Chore::Depth => shared.publish_depth().await,
                Chore::Purge if shared.config.inbox.purge => shared.purge_done().await,
                Chore::Purge => {}
            }
        };
        tokio::select! {
            biased;
            () = shared.claiming.cancelled() => return,
            () = work => {}
        }
    }
}

impl Shared {
    /// Publishes the inbox's depth as the [`metrics::INBOX_DEPTH`] gauge.
    async fn publish_depth(&self) {
        let now = self.clock.now();
        match timeout(self.config.store_timeout, self.inbox.depth(now)).await {
            Ok(Ok(depth)) => metrics::inbox_depth(&depth),
            Ok(Err(error)) => tracing::warn!(%error, "could not read the inbox's depth"),
            Err(_) => tracing::warn!(
                timeout = ?self.config.store_timeout,
                "the inbox did not report its depth in time"
            ),
        }
    }

    /// Deletes the done rows that finished more than the retention ago.
    async fn purge_done(&self) {
        let now = self.clock.now();
        let Some(before) = now.checked_sub(self.config.inbox.retention) else {
            return;
        };
        match timeout(PURGE_TIMEOUT, self.inbox.purge(Purge::Done, before)).await {
            Ok(Ok(0)) => {}
            Ok(Ok(purged)) => tracing::info!(purged, "purged done inbox rows past their retention"),
            Ok(Err(error)) => tracing::warn!(%error, "could not purge done inbox rows"),
            Err(_) => tracing::warn!(
                timeout = ?PURGE_TIMEOUT,
                "purging done inbox rows took too long; trying again at the next purge"
            ),
        }
    }
}

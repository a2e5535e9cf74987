//! [`Maintenance`]: the one periodic task that purges what stores and inboxes no longer need,
//! run by an inbox-mode [`Receiver`](crate::Receiver)'s workers for their inbox, and by a service
//! for its stores (`runhook-store` implements [`Purgeable`] for its stores and [`Leadership`] for
//! its PostgreSQL lease, and re-exports these three names).

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::inbox::{Inbox, Purge};
use runhook::store::StoreError;
use tokio::time::{Instant, MissedTickBehavior};

use crate::clock::{Clock, SystemClock};

/// Something [`Maintenance`] purges: a store's expired keys, or an inbox's finished rows.
#[async_trait]
pub trait Purgeable: Send + Sync {
    /// Removes what no answer depends on any more at `now`; how many rows went.
    async fn purge(&self, now: SystemTime) -> Result<u64, StoreError>;
}

/// Who may run [`Maintenance`] this interval: of many replicas, one.
#[async_trait]
pub trait Leadership: Send + Sync {
    /// Takes or renews the lead: `true` if this replica may run the task now.
    async fn lead(&self) -> Result<bool, StoreError>;
}

/// An inbox's done rows, purged once they finished more than `retention` ago (dead rows stay
/// until replayed or purged by hand: they wait for a person).
struct DoneRows {
    inbox: Arc<dyn Inbox>,
    retention: Duration,
}

#[async_trait]
impl Purgeable for DoneRows {
    async fn purge(&self, now: SystemTime) -> Result<u64, StoreError> {
        match now.checked_sub(self.retention) {
            Some(before) => self.inbox.purge(Purge::Done, before).await,
            None => Ok(0),
        }
    }
}

/// The one periodic task that purges stores and inboxes: a store's expired keys (PostgreSQL
/// keeps them until purged; SQLite purges after claims, so an idle process would keep them) and
/// an inbox's done rows past their retention. Redis expires its keys itself; the in-memory store
/// purges as it goes.
///
/// Every [`every`](Self::every) (one minute by default; the first time at once) it purges each
/// target in turn, each bounded by [`timeout`](Self::timeout) (30 s): a failure or a time-out is
/// logged at warn level and tried again at the next tick; nothing stops the task but its stop
/// signal. With a [`leader`](Self::leader) (such as `runhook_store::PostgresLease`), a tick
/// runs only on the replica that holds the lease, so many replicas sharing one database purge
/// once per interval, not once each.
///
/// With `runhook-store`, which re-exports this type as `runhook_store::Maintenance`:
///
/// ```text
/// let store = Arc::new(PostgresStore::connect("postgres://127.0.0.1/app").await?);
/// let lease = store.lease("runhook-maintenance", Duration::from_secs(120)).await?;
/// let maintenance = Maintenance::new().store("PostgreSQL", store.clone()).leader(Arc::new(lease));
/// ```
///
/// Run it beside the service and stop it at shutdown:
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use runhook::inbox::MemoryInbox;
/// use runhook_receiver::maintenance::Maintenance;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let inbox = Arc::new(MemoryInbox::new());
/// let maintenance = Maintenance::new().inbox("inbox", inbox, Duration::from_secs(24 * 3600));
/// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
/// let task = tokio::spawn(maintenance.run(async move {
///     let _ = stopped.await;
/// }));
/// // … serve; then, at shutdown:
/// let _ = stop.send(());
/// task.await.unwrap();
/// # }
/// ```
pub struct Maintenance {
    targets: Vec<(String, Arc<dyn Purgeable>)>,
    leader: Option<Arc<dyn Leadership>>,
    clock: Arc<dyn Clock>,
    every: Duration,
    timeout: Duration,
}

impl Maintenance {
    /// How often it purges by default: every minute.
    pub const DEFAULT_EVERY: Duration = Duration::from_secs(60);
    /// The longest one purge may take by default before it is abandoned until the next tick.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A task with nothing to purge yet, every [`DEFAULT_EVERY`](Self::DEFAULT_EVERY).
    pub fn new() -> Self {
        Maintenance {
            targets: Vec::new(),
            leader: None,
            clock: Arc::new(SystemClock),
            every: Self::DEFAULT_EVERY,
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Purges `store` (named `name` in the logs) at every tick.
    pub fn store(mut self, name: impl Into<String>, store: Arc<dyn Purgeable>) -> Self {
        self.targets.push((name.into(), store));
        self
    }

    /// Purges `inbox`'s done rows that finished more than `retention` ago, at every tick.
    pub fn inbox(
        mut self,
        name: impl Into<String>,
        inbox: Arc<dyn Inbox>,
        retention: Duration,
    ) -> Self {
        self.targets
            .push((name.into(), Arc::new(DoneRows { inbox, retention })));
        self
    }

    /// Runs a tick only while `leader` grants the lead (asked at every tick).
    pub fn leader(mut self, leader: Arc<dyn Leadership>) -> Self {
        self.leader = Some(leader);
        self
    }

    /// The wall clock whose `now` each purge is given (default [`SystemClock`]); the ticks run on
    /// tokio's clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How often it purges. Default one minute.
    pub fn every(mut self, every: Duration) -> Self {
        self.every = every.max(Duration::from_millis(1));
        self
    }

    /// The longest one purge (or one request for the lead) may take. Default 30 s.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Whether it has anything to purge.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Runs until `stop` resolves (a purge in progress then is dropped).
    pub async fn run(self, stop: impl Future<Output = ()>) {
        let Maintenance {
            targets,
            leader,
            clock,
            every,
            timeout,
        } = self;
        let targets = Arc::new(targets);
        repeat(
            every,
            move || {
                tick(
                    Arc::clone(&targets),
                    leader.clone(),
                    Arc::clone(&clock),
                    timeout,
                )
            },
            stop,
        )
        .await;
    }
}

/// One tick: the lead if a leader is set, then each target's purge, each bounded by `timeout`.
async fn tick(
    targets: Arc<Vec<(String, Arc<dyn Purgeable>)>>,
    leader: Option<Arc<dyn Leadership>>,
    clock: Arc<dyn Clock>,
    timeout: Duration,
) {
    if let Some(leader) = leader {
        match ask_lead(leader.as_ref(), timeout).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::debug!("another replica holds the maintenance lease; not purging");
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot take the maintenance lease; not purging");
                return;
            }
        }
    }
    for (name, target) in targets.iter() {
        match tokio::time::timeout(timeout, target.purge(clock.now())).await {
            Ok(Ok(0)) => tracing::debug!(target = %name, "nothing to purge"),
            Ok(Ok(purged)) => tracing::info!(target = %name, purged, "purged"),
            Ok(Err(error)) => tracing::warn!(target = %name, %error, "purging failed"),
            Err(_) => tracing::warn!(
                target = %name,
                ?timeout,
                "purging timed out; trying again at the next tick"
            ),
        }
    }
}

/// Asks `leader` for the lead within `timeout`: `true` if this replica may run its task now; a
/// lease that does not answer in time is an error.
pub(crate) async fn ask_lead(
    leader: &dyn Leadership,
    timeout: Duration,
) -> Result<bool, StoreError> {
    match tokio::time::timeout(timeout, leader.lead()).await {
        Ok(answer) => answer,
        Err(_) => Err(StoreError::Unavailable {
            message: format!("the lease did not answer within {timeout:?}"),
        }),
    }
}

/// Calls `work` at once and then every `interval` until `stop` resolves; work in progress when
/// `stop` resolves is dropped. A tick missed while work ran is taken late, not in a burst.
pub(crate) async fn repeat<F, Fut>(interval: Duration, mut work: F, stop: impl Future<Output = ()>)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut ticks = tokio::time::interval_at(Instant::now(), interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        tokio::select! {
            biased;
            () = &mut stop => return,
            () = work() => {}
        }
    }
}

impl Default for Maintenance {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Maintenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.targets.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Maintenance")
            .field("targets", &names)
            .field("leader", &self.leader.is_some())
            .field("every", &self.every)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod tests;

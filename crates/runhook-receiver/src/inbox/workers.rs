//! The inbox workers: a loop that claims due rows into a bounded number of attempt tasks, a
//! maintenance loop, and their shutdown.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use runhook::inbox::{Inbox, InboxClaim, InboxPolicy};
use tokio::sync::{Notify, Semaphore};
use tokio::time::{Instant, sleep, timeout, timeout_at};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{InboxObserver, InboxProcessor, InboxReport, maintenance};
use crate::supervisor::WIND_DOWN;
use crate::{Clock, ConfigError, ReceiverConfig, ShutdownSummary, SystemClock};

/// Workers that process an inbox's rows: they claim due rows (up to
/// [`InboxConfig::concurrency`](crate::InboxConfig::concurrency) at once), run the processor on each under the policy's
/// attempt timeout while renewing the row's lease, and settle it (done, retry later, or dead).
/// They also publish the inbox's depth every 5 s and purge done rows past
/// [`InboxConfig::retention`](crate::InboxConfig::retention) every 5 minutes.
///
/// A [`Receiver`](crate::Receiver) in inbox mode runs its own; spawn these directly to process an
/// inbox that something else fills (another process's receiver, say). Dropping them stops the
/// claiming; attempts in progress finish on their own.
pub struct InboxWorkers {
    shared: Arc<Shared>,
    /// The claim loop and the maintenance loop.
    loops: TaskTracker,
}

/// What the loops and the attempts share.
pub(super) struct Shared {
    pub(super) inbox: Arc<dyn Inbox>,
    pub(super) processor: Arc<dyn InboxProcessor>,
    pub(super) policy: InboxPolicy,
    pub(super) config: ReceiverConfig,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) observer: Option<Arc<dyn InboxObserver>>,
    /// Wakes the claim loop: an insert, a finished attempt, a shutdown.
    pub(super) wake: Notify,
    /// Cancelled when a shutdown starts (or the workers are dropped): no more claims.
    pub(super) claiming: CancellationToken,
    /// Cancelled at the end of a shutdown's grace period: attempts still running are stopped.
    pub(super) stop: CancellationToken,
    /// The attempts in progress.
    pub(super) attempts: TaskTracker,
    /// One permit per attempt that may run.
    slots: Arc<Semaphore>,
}

/// Builds [`InboxWorkers`]; see [`InboxWorkers::builder`].
#[must_use = "a builder does nothing until `spawn` is called"]
pub struct InboxWorkersBuilder {
    inbox: Arc<dyn Inbox>,
    processor: Arc<dyn InboxProcessor>,
    /// Set by [`InboxWorkersBuilder::policy`]: replaces `config.inbox.policy`.
    policy: Option<InboxPolicy>,
    config: ReceiverConfig,
    clock: Arc<dyn Clock>,
    observer: Option<Arc<dyn InboxObserver>>,
}

impl InboxWorkersBuilder {
    /// The retry policy: replaces the [configuration](Self::config)'s `inbox.policy`, whichever
    /// is set first (default: [`InboxPolicy::default`]).
    pub fn policy(mut self, policy: InboxPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The configuration: its [`inbox`](ReceiverConfig::inbox) settings and `store_timeout`
    /// apply (default: [`ReceiverConfig::default`]).
    pub fn config(mut self, config: ReceiverConfig) -> Self {
        self.config = config;
        self
    }

    /// The wall clock passed to the inbox (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The same, shared.
    pub(crate) fn shared_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Told how every attempt ended: a closure `Fn(&InboxReport)`, a
    /// `tokio::sync::mpsc::UnboundedSender<InboxReport>`, or a type implementing
    /// [`InboxObserver`] (default: none; `tracing` always logs).
    pub fn observer(mut self, observer: impl InboxObserver) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The same, shared.
    pub(crate) fn shared_observer(mut self, observer: Option<Arc<dyn InboxObserver>>) -> Self {
        self.observer = observer;
        self
    }

    /// Checks the configuration and spawns the workers on the current tokio runtime
    /// ([`ConfigError::NoRuntime`] outside one).
    pub fn spawn(mut self) -> Result<InboxWorkers, ConfigError> {
        if let Some(policy) = self.policy {
            self.config.inbox.policy = policy;
        }
        self.config.validate()?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let shared = Arc::new(Shared {
            slots: Arc::new(Semaphore::new(self.config.inbox.concurrency)),
            inbox: self.inbox,
            processor: self.processor,
            policy: self.config.inbox.policy.clone(),
            config: self.config,
            clock: self.clock,
            observer: self.observer,
            wake: Notify::new(),
            claiming: CancellationToken::new(),
            stop: CancellationToken::new(),
            attempts: TaskTracker::new(),
        });
        let loops = TaskTracker::new();
        if shared.config.inbox.claim {
            loops.spawn_on(claim_loop(Arc::clone(&shared)), &runtime);
            loops.spawn_on(maintenance::run(Arc::clone(&shared)), &runtime);
        }
        loops.close();
        Ok(InboxWorkers { shared, loops })
    }
}

impl InboxWorkers {
    /// A builder of workers that process `inbox`'s rows with `processor` (any
    /// [`Handler`](crate::Handler) is one).
    pub fn builder(
        inbox: Arc<dyn Inbox>,
        processor: Arc<dyn InboxProcessor>,
    ) -> InboxWorkersBuilder {
        InboxWorkersBuilder {
            inbox,
            processor,
            policy: None,
            config: ReceiverConfig::default(),
            clock: Arc::new(SystemClock),
            observer: None,
        }
    }

    /// Spawns workers with the default policy and no observer; see [`InboxWorkers::builder`].
    pub fn spawn(
        inbox: Arc<dyn Inbox>,
        processor: Arc<dyn InboxProcessor>,
        config: ReceiverConfig,
        clock: impl Clock,
    ) -> Result<Self, ConfigError> {
        Self::builder(inbox, processor)
            .config(config)
            .clock(clock)
            .spawn()
    }

    /// The inbox they process.
    pub fn inbox(&self) -> &Arc<dyn Inbox> {
        &self.shared.inbox
    }

    /// The retry policy.
    pub fn policy(&self) -> &InboxPolicy {
        &self.shared.policy
    }

    /// Makes idle workers look for due rows now rather than at their next poll (after an insert
    /// or a replay, say).
    pub fn wake(&self) {
        self.shared.wake.notify_one();
    }

    /// How many attempts are running now.
    pub fn running(&self) -> usize {
        self.shared.attempts.len()
    }

    /// Stops the workers: no more rows are claimed; attempts in progress may finish within
    /// `grace`; those still running then are cancelled (their context's
    /// [`is_cancelled`](crate::HandlerContext::is_cancelled)), given 1 s to return, and
    /// otherwise dropped unsettled: their rows are retried once their leases run out, here or
    /// by another process. Nothing is lost.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownSummary {
        let shared = &self.shared;
        let deadline = Instant::now() + grace;
        shared.claiming.cancel();
        shared.wake.notify_one();
        shared.attempts.close();
        let in_flight = shared.attempts.len();
        let finished = timeout_at(deadline, async {
            self.loops.wait().await;
            shared.attempts.wait().await;
        })
        .await;
        if finished.is_ok() {
            return ShutdownSummary {
                in_flight,
                stopped: 0,
            };
        }
        let stopped = shared.attempts.len();
        shared.stop.cancel();
        // Stopped attempts wind down, then settle whatever their processor returned in time.
        let settling = WIND_DOWN + shared.config.store_timeout * 2;
        let _ = timeout(settling, shared.attempts.wait()).await;
        ShutdownSummary {
            in_flight: in_flight.max(stopped),
            stopped,
        }
    }
}

impl Drop for InboxWorkers {
    fn drop(&mut self) {
        self.shared.claiming.cancel();
    }
}

impl fmt::Debug for InboxWorkers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxWorkers")
            .field("policy", &self.shared.policy)
            .field("running", &self.running())
            .field("claiming", &!self.shared.claiming.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for InboxWorkersBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboxWorkersBuilder")
            .field("policy", &self.policy)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Claims due rows into free slots until the workers stop: when fewer rows were due than slots
/// were free, it waits for a wake (an insert, a finished attempt) or the poll interval.
async fn claim_loop(shared: Arc<Shared>) {
    loop {
        let first = tokio::select! {
            biased;
            () = shared.claiming.cancelled() => return,
            permit = Arc::clone(&shared.slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let mut permits = vec![first];
        while let Ok(permit) = Arc::clone(&shared.slots).try_acquire_owned() {
            permits.push(permit);
        }
        let asked = permits.len();
        let claims = shared.claim_due(asked).await;
        let idle = claims.len() < asked;
        for claim in claims {
            let Some(permit) = permits.pop() else { break };
            let attempt = Arc::clone(&shared);
            shared.attempts.spawn(async move {
                attempt.attempt(claim).await;
                drop(permit);
                attempt.wake.notify_one();
            });
        }
        drop(permits);
        if idle {
            tokio::select! {
                biased;
                () = shared.claiming.cancelled() => return,
                () = shared.wake.notified() => {}
                () = sleep(shared.config.inbox.poll) => {}
            }
        }
    }
}

impl Shared {
    /// Claims up to `limit` due rows, within the store timeout; none if the inbox fails (logged).
    async fn claim_due(&self, limit: usize) -> Vec<InboxClaim> {
        let now = self.clock.now();
        let claiming = self.inbox.claim_due(now, self.config.inbox.lease, limit);
        match timeout(self.config.store_timeout, claiming).await {
            Ok(Ok(claims)) => claims,
            Ok(Err(error)) => {
                tracing::warn!(%error, "the inbox could not claim due rows; trying again");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(
                    timeout = ?self.config.store_timeout,
                    "the inbox did not answer a claim in time; trying again"
                );
                Vec::new()
            }
        }
    }

    /// Reports how an attempt ended, to the observer (if any) and the log.
    pub(super) fn report(&self, report: &InboxReport) {
        if let Some(observer) = &self.observer {
            observer.observe(report);
        }
        report.log();
    }
}

//! The reconciler: sweeps of the runs API that send every ended run whose webhook never arrived
//! down the same path as a webhook, so that a receiver that was down for longer than the
//! sender's retries still processes every run, once.
//!
//! A [`Reconciler`] is built from a [`RunSource`] (`runhook_tinyfish::Client`), a
//! [`ReconcileState`] for its watermark and watch list (`runhook-store`'s SQLite or PostgreSQL
//! state, or [`MemoryReconcileState`](runhook::reconcile::MemoryReconcileState)) and the
//! [`Receiver`] whose store or inbox decides what is new. A sweep:
//!
//! 1. checks the **watch list** in batches (`POST /v1/runs/batch`): a run that ended is sent, one
//!    watched for longer than the lookback is given up with a warning;
//! 2. lists the runs created after the **watermark** (`GET /v1/runs`, oldest first, with cursor
//!    pagination; the first sweep looks back [`lookback`](Reconciler::lookback), 72 h by default);
//! 3. sends every ended run the store or inbox has not seen, fetched in full, through
//!    [`Receiver::recover`]: marked [`Source::Reconciler`](runhook::Source::Reconciler) in the
//!    handler's context, the inbox row, the report and the metrics; a run in progress goes on
//!    the watch list;
//! 4. moves the watermark to the newest creation time it handled, less the
//!    [`overlap`](Reconciler::overlap), after each page.
//!
//! Requests are paced at [`rate`](Reconciler::rate) (5 per second by default); the source's own
//! retries honour 429 and `Retry-After`, and a sweep waits out a `Retry-After` once more before
//! it gives up. With a [`leader`](Reconciler::leader) (`runhook_store::PostgresLease`), one
//! replica sweeps at a time: the same lease the maintenance task uses.
//!
//! **Cost.** A sweep with nothing new makes one list request, plus one batch request per 100
//! watched runs; each 100 runs created since the last sweep cost one more list request, and each
//! 100 ended runs not yet seen one batch request.

mod report;
mod source;
mod sweep;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use runhook::reconcile::{DEFAULT_LOOKBACK, DEFAULT_OVERLAP, ReconcileState};

pub use report::{ReconcileError, SweepReport};
pub use source::{RunSource, RunsPage, SourceError};

use crate::clock::{Clock, SystemClock};
use crate::maintenance::Leadership;
use crate::{Receiver, metrics};

/// The settings of a [`Reconciler`].
#[derive(Debug, Clone)]
struct Settings {
    lookback: Duration,
    overlap: Duration,
    rate: f64,
    page_size: u32,
    batch_size: usize,
    max_watched: usize,
    timeout: Duration,
}

impl Settings {
    /// The time between two requests at the configured rate.
    fn request_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.rate)
    }

    fn max_watch_len(&self) -> u64 {
        u64::try_from(self.max_watched).unwrap_or(u64::MAX)
    }
}

/// Sweeps the runs API for runs whose webhooks never arrived, and sends them through a
/// [`Receiver`] (see the [module](self) docs).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use runhook::HandlerOutcome;
/// use runhook::reconcile::MemoryReconcileState;
/// use runhook_receiver::reconcile::{Reconciler, RunSource};
/// use runhook_receiver::{Handlers, Receiver};
///
/// # async fn example(client: Arc<dyn RunSource>) {
/// let receiver = Receiver::new(Handlers::new().on_completed(|run| async move {
///     if run.context().source().is_recovered() {
///         println!("{} recovered by a sweep", run.run_id);
///     }
///     HandlerOutcome::Ok
/// }));
/// let reconciler = Reconciler::new(client, Arc::new(MemoryReconcileState::new()), receiver)
///     .lookback(Duration::from_secs(24 * 3600));
/// let report = reconciler.sweep().await;
/// # let _ = report;
/// # }
/// ```
#[derive(Clone)]
pub struct Reconciler {
    source: Arc<dyn RunSource>,
    state: Arc<dyn ReconcileState>,
    receiver: Receiver,
    leader: Option<Arc<dyn Leadership>>,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl Reconciler {
    /// The default request rate: 5 requests per second.
    pub const DEFAULT_RATE: f64 = 5.0;
    /// The default size of a list page and of a batch read: 100 (the API's maximum).
    pub const DEFAULT_PAGE_SIZE: u32 = 100;
    /// The default bound of the watch list: 10 000 runs.
    pub const DEFAULT_MAX_WATCHED: usize = 10_000;
    /// The default time limit of one sweep: 5 minutes.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

    /// A reconciler that reads runs from `source`, keeps its watermark and watch list in
    /// `state`, and sends what it recovers through `receiver`; every setting at its default.
    pub fn new(
        source: Arc<dyn RunSource>,
        state: Arc<dyn ReconcileState>,
        receiver: Receiver,
    ) -> Self {
        Reconciler {
            source,
            state,
            receiver,
            leader: None,
            clock: Arc::new(SystemClock),
            settings: Settings {
                lookback: DEFAULT_LOOKBACK,
                overlap: DEFAULT_OVERLAP,
                rate: Self::DEFAULT_RATE,
                page_size: Self::DEFAULT_PAGE_SIZE,
                batch_size: usize::try_from(Self::DEFAULT_PAGE_SIZE).unwrap_or(100),
                max_watched: Self::DEFAULT_MAX_WATCHED,
                timeout: Self::DEFAULT_TIMEOUT,
            },
        }
    }

    /// How far back the first sweep lists runs, and how long a run may stay on the watch list
    /// (default 72 h, [`DEFAULT_LOOKBACK`]).
    pub fn lookback(mut self, lookback: Duration) -> Self {
        self.settings.lookback = lookback;
        self
    }

    /// How far behind the newest run handled the watermark is set (default 60 s,
    /// [`DEFAULT_OVERLAP`]): runs created in that margin are listed again by the next sweep
    /// (and skipped, being seen), since the list's order among runs created at the same time is
    /// not guaranteed.
    pub fn overlap(mut self, overlap: Duration) -> Self {
        self.settings.overlap = overlap;
        self
    }

    /// At most `per_second` requests to the runs API per second (default
    /// [`DEFAULT_RATE`](Self::DEFAULT_RATE); from 0.01 to 1000).
    pub fn rate(mut self, per_second: f64) -> Self {
        self.settings.rate = if per_second.is_finite() {
            per_second.clamp(0.01, 1000.0)
        } else {
            Self::DEFAULT_RATE
        };
        self
    }

    /// At most `runs` on the watch list (default [`DEFAULT_MAX_WATCHED`](Self::DEFAULT_MAX_WATCHED),
    /// at least 1). When it is full, the listing stops before the next run in progress and goes
    /// on from there at the next sweep.
    pub fn max_watched(mut self, runs: usize) -> Self {
        self.settings.max_watched = runs.max(1);
        self
    }

    /// The size of a list page and of a batch read (default 100, from 1 to 100).
    pub fn page_size(mut self, size: u32) -> Self {
        self.settings.page_size = size.clamp(1, 100);
        self.settings.batch_size = usize::try_from(self.settings.page_size).unwrap_or(100);
        self
    }

    /// The longest one sweep may take (default [`DEFAULT_TIMEOUT`](Self::DEFAULT_TIMEOUT)); what
    /// it did until then stays done. With a [`leader`](Self::leader), keep the lease's time to
    /// live longer than this, so that no other replica takes the lease during a sweep.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// Sweeps only while `leader` grants the lead (asked before each sweep), so that of many
    /// replicas one sweeps at a time: `runhook_store::PostgresLease`, the maintenance task's
    /// lease, under a task name of its own.
    pub fn leader(mut self, leader: Arc<dyn Leadership>) -> Self {
        self.leader = Some(leader);
        self
    }

    /// The wall clock of the watch list's times and the first sweep's lookback (default
    /// [`SystemClock`]); pacing and timeouts run on tokio's clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The receiver it sends recovered runs through.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }

    /// One sweep (see the [module](self) docs), if this replica holds the lead: otherwise a
    /// report with [`skipped`](SweepReport::skipped) set.
    pub async fn sweep(&self) -> Result<SweepReport, ReconcileError> {
        self.sweep_as(false).await
    }

    /// What a sweep would send, without sending anything or changing the state: the ended runs
    /// not yet seen are listed in [`recovered`](SweepReport::recovered). It does not ask for
    /// the lead.
    pub async fn dry_run(&self) -> Result<SweepReport, ReconcileError> {
        self.sweep_as(true).await
    }

    async fn sweep_as(&self, dry_run: bool) -> Result<SweepReport, ReconcileError> {
        if !dry_run && !self.lead().await? {
            metrics::reconcile_sweep("skipped");
            let now = self.clock.now();
            return Ok(SweepReport {
                started_at: Some(now),
                finished_at: Some(now),
                skipped: true,
                ..SweepReport::default()
            });
        }
        let mut sweep = sweep::Sweep::new(self, self.clock.now(), dry_run);
        let result = tokio::time::timeout(self.settings.timeout, sweep.run()).await;
        let mut report = sweep.report;
        report.finished_at = Some(self.clock.now());
        if !dry_run && let Ok(watching) = self.state.watch_len().await {
            report.watching = watching;
            metrics::reconcile_watched(watching);
        }
        match result {
            Ok(Ok(())) => {
                metrics::reconcile_sweep("done");
                Ok(report)
            }
            Ok(Err(error)) => {
                metrics::reconcile_sweep("failed");
                Err(error)
            }
            Err(_) => {
                metrics::reconcile_sweep("failed");
                Err(ReconcileError::TimedOut(self.settings.timeout))
            }
        }
    }

    /// Whether this replica may sweep now.
    async fn lead(&self) -> Result<bool, ReconcileError> {
        let Some(leader) = &self.leader else {
            return Ok(true);
        };
        let timeout = crate::maintenance::Maintenance::DEFAULT_TIMEOUT;
        crate::maintenance::ask_lead(leader.as_ref(), timeout)
            .await
            .map_err(ReconcileError::Lease)
    }

    /// Sweeps at once and then every `every` until `stop` resolves, handing each sweep's result
    /// to `observe` (a sweep in progress when `stop` resolves is dropped; what it did stays
    /// done). A failed sweep is tried again at the next tick.
    pub async fn run(
        self,
        every: Duration,
        stop: impl Future<Output = ()>,
        observe: impl Fn(&Result<SweepReport, ReconcileError>) + Send + Sync,
    ) {
        let reconciler = &self;
        let observe = &observe;
        crate::maintenance::repeat(
            every.max(Duration::from_millis(1)),
            move || async move {
                let result = reconciler.sweep().await;
                if let Err(error) = &result {
                    tracing::warn!(%error, "the reconcile sweep failed; trying again at the next");
                }
                observe(&result);
            },
            stop,
        )
        .await;
    }
}

impl fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reconciler")
            .field("settings", &self.settings)
            .field("leader", &self.leader.is_some())
            .field("receiver", &self.receiver)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;

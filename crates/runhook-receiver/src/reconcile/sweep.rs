//! One sweep: the watch list, then the runs created after the watermark.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use futures::future::BoxFuture;
use runhook::reconcile::{WatchedRun, advance, expired, list_from};
use runhook::{Event, ReceiveOutcome, Run, RunId};
use tokio::time::Interval;

use super::{ReconcileError, Reconciler, RunsPage, SourceError, SweepReport};

/// How many recovered runs are sent through the receiver at once.
const SENDING: usize = 8;
/// The longest wait a `Retry-After` of the API is honoured for, within a sweep.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// A sweep in progress.
pub(super) struct Sweep<'a> {
    reconciler: &'a Reconciler,
    pacer: Interval,
    now: SystemTime,
    pub(super) report: SweepReport,
}

/// How sending one run ended.
#[derive(Debug, Clone, Copy)]
enum Sent {
    /// Processed or stored as new.
    Recovered,
    /// Already processed or stored.
    Duplicate,
    /// Refused for good by the handler.
    Rejected,
    /// To be sent again.
    Failed,
}

impl<'a> Sweep<'a> {
    pub(super) fn new(reconciler: &'a Reconciler, now: SystemTime, dry_run: bool) -> Self {
        let mut pacer = tokio::time::interval(reconciler.settings.request_interval());
        pacer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Sweep {
            reconciler,
            pacer,
            now,
            report: SweepReport {
                started_at: Some(now),
                dry_run,
                ..SweepReport::default()
            },
        }
    }

    fn dry_run(&self) -> bool {
        self.report.dry_run
    }

    /// The whole sweep: the watch list first (runs that may have ended since), then the listing.
    pub(super) async fn run(&mut self) -> Result<(), ReconcileError> {
        self.watch_list().await?;
        self.listing().await
    }

    /// One read of the API, paced at the configured rate; an error that asks to wait
    /// (`Retry-After`, after the client's own retries) is waited out once, within bounds.
    async fn call<T>(
        &mut self,
        read: impl Fn() -> BoxFuture<'a, Result<T, SourceError>>,
    ) -> Result<T, ReconcileError> {
        let mut waited = false;
        loop {
            self.pacer.tick().await;
            self.report.api_calls += 1;
            crate::metrics::reconcile_api_call();
            match read().await {
                Ok(answer) => return Ok(answer),
                Err(error) => match error.retry_after {
                    Some(wait) if !waited => {
                        let wait = wait.min(MAX_RETRY_AFTER);
                        tracing::info!(?wait, %error, "the runs API asked to wait; waiting");
                        tokio::time::sleep(wait).await;
                        waited = true;
                    }
                    _ => return Err(error.into()),
                },
            }
        }
    }

    /// The runs `ids` in full.
    async fn fetch(&mut self, ids: Vec<RunId>) -> Result<Vec<Run>, ReconcileError> {
        let source = std::sync::Arc::clone(&self.reconciler.source);
        self.call(move || {
            let source = std::sync::Arc::clone(&source);
            let ids = ids.clone();
            Box::pin(async move { source.get_runs(&ids).await })
        })
        .await
    }

    /// One page of the listing.
    async fn page(
        &mut self,
        after: SystemTime,
        cursor: Option<String>,
    ) -> Result<RunsPage, ReconcileError> {
        let source = std::sync::Arc::clone(&self.reconciler.source);
        let limit = self.reconciler.settings.page_size;
        self.call(move || {
            let source = std::sync::Arc::clone(&source);
            let cursor = cursor.clone();
            Box::pin(async move {
                source
                    .list_created_after(after, cursor.as_deref(), limit)
                    .await
            })
        })
        .await
    }

    /// Checks the watched runs again, in batches: an ended run is sent (or found seen) and
    /// taken off the list; one watched for longer than the lookback, or unknown to the API, is
    /// given up with a warning.
    async fn watch_list(&mut self) -> Result<(), ReconcileError> {
        let settings = &self.reconciler.settings;
        let watched = self
            .reconciler
            .state
            .watched(settings.max_watched)
            .await
            .map_err(ReconcileError::State)?;
        for chunk in watched.chunks(settings.batch_size) {
            let ids: Vec<RunId> = chunk
                .iter()
                .filter_map(|watched| RunId::new(watched.run_id.clone()).ok())
                .collect();
            let runs = self.fetch(ids).await?;
            let found: HashSet<&str> = runs
                .iter()
                .filter_map(|run| run.run_id.as_ref().map(RunId::as_str))
                .collect();
            let mut done = Vec::new();
            for watched in chunk {
                if !found.contains(watched.run_id.as_str()) {
                    tracing::warn!(
                        run_id = %watched.run_id,
                        "a watched run is unknown to the runs API; it is no longer watched"
                    );
                    self.report.dropped.push(watched.run_id.clone());
                    done.push(watched.run_id.clone());
                }
            }
            let mut ended = Vec::new();
            for run in runs {
                let Some(run_id) = run.run_id.clone() else {
                    continue;
                };
                let since = chunk
                    .iter()
                    .find(|watched| watched.run_id == run_id.as_str())
                    .map_or(self.now, |watched| watched.since);
                let terminal = run
                    .status
                    .as_ref()
                    .is_some_and(|status| status.is_terminal());
                if terminal {
                    ended.push((run, since));
                } else if expired(since, self.now, settings.lookback) {
                    tracing::warn!(
                        run_id = %run_id,
                        lookback = ?settings.lookback,
                        "a run has been in progress for longer than the lookback; it is no \
                         longer watched, and its webhook is the only way it can still arrive"
                    );
                    self.report.dropped.push(run_id.to_string());
                    done.push(run_id.to_string());
                }
            }
            for (run, since) in ended {
                let run_id = run
                    .run_id
                    .as_ref()
                    .map(RunId::to_string)
                    .unwrap_or_default();
                let Some(event) = event_of(run) else {
                    done.push(run_id);
                    continue;
                };
                if self.seen(&event).await? {
                    self.report.seen += 1;
                    done.push(run_id);
                    continue;
                }
                match self.send_one(event).await {
                    Sent::Failed if expired(since, self.now, settings.lookback) => {
                        tracing::warn!(%run_id, "a run could not be sent within the lookback; given up");
                        self.report.dropped.push(run_id.clone());
                        done.push(run_id);
                    }
                    Sent::Failed => {}
                    _ => done.push(run_id),
                }
            }
            if !self.dry_run() && !done.is_empty() {
                self.report.unwatched += self
                    .reconciler
                    .state
                    .unwatch(&done)
                    .await
                    .map_err(ReconcileError::State)?;
            }
        }
        Ok(())
    }

    /// Lists the runs created after the watermark, page by page: each terminal run not seen is
    /// fetched in full and sent, each run in progress is watched, and the watermark follows the
    /// newest run handled, less the overlap.
    async fn listing(&mut self) -> Result<(), ReconcileError> {
        let reconciler = self.reconciler;
        let settings = &reconciler.settings;
        let stored = reconciler
            .state
            .watermark()
            .await
            .map_err(ReconcileError::State)?;
        let after = list_from(stored, self.now, settings.lookback);
        self.report.listed_after = Some(after);
        self.report.watermark = stored;
        let mut watermark = stored.unwrap_or(after);
        let mut watching = reconciler
            .state
            .watch_len()
            .await
            .map_err(ReconcileError::State)?;
        let mut cursor = None;
        loop {
            let page = self.page(after, cursor.take()).await?;
            self.report.listed += u64::try_from(page.runs.len()).unwrap_or(u64::MAX);
            let mut newest: Option<SystemTime> = None;
            let mut to_send = Vec::new();
            let mut to_watch = Vec::new();
            for run in page.runs {
                let Some(run_id) = run.run_id.clone() else {
                    continue;
                };
                let created = run
                    .created_at
                    .as_ref()
                    .map(|created| SystemTime::from(created.as_offset_date_time()));
                let terminal = run
                    .status
                    .as_ref()
                    .is_some_and(|status| status.is_terminal());
                if terminal {
                    let Some(event) = event_of(run.clone()) else {
                        continue;
                    };
                    if self.seen(&event).await? {
                        self.report.seen += 1;
                    } else {
                        to_send.push(run_id);
                    }
                } else if created.is_some_and(|at| expired(at, self.now, settings.lookback)) {
                    // Listed again through the overlap after it was given up: not watched again.
                    tracing::debug!(%run_id, "a run older than the lookback is still in progress");
                } else {
                    if watching >= settings.max_watch_len() {
                        tracing::warn!(
                            max = settings.max_watched,
                            "the watch list is full; the listing goes on at the next sweep"
                        );
                        self.report.watch_full = true;
                        break;
                    }
                    watching += 1;
                    to_watch.push(WatchedRun::new(run_id.to_string(), self.now));
                }
                if let Some(created) = created {
                    newest = Some(newest.map_or(created, |newest| newest.max(created)));
                }
            }
            if !self.dry_run() && !to_watch.is_empty() {
                reconciler
                    .state
                    .watch(&to_watch)
                    .await
                    .map_err(ReconcileError::State)?;
                self.report.watched += u64::try_from(to_watch.len()).unwrap_or(u64::MAX);
            }
            let failed = self.send_all(to_send).await?;
            if !self.dry_run() {
                if !failed.is_empty() {
                    reconciler
                        .state
                        .watch(&failed)
                        .await
                        .map_err(ReconcileError::State)?;
                    self.report.watched += u64::try_from(failed.len()).unwrap_or(u64::MAX);
                }
                if let Some(newest) = newest {
                    watermark = advance(watermark, newest, settings.overlap);
                    reconciler
                        .state
                        .set_watermark(watermark)
                        .await
                        .map_err(ReconcileError::State)?;
                    self.report.watermark = Some(watermark);
                }
            }
            match page.next_cursor {
                Some(next) if !self.report.watch_full => cursor = Some(next),
                _ => return Ok(()),
            }
        }
    }

    /// Fetches `ids` in full, in batches, and sends each; the runs whose sending failed, to
    /// watch.
    async fn send_all(&mut self, ids: Vec<RunId>) -> Result<Vec<WatchedRun>, ReconcileError> {
        let mut failed = Vec::new();
        for chunk in ids.chunks(self.reconciler.settings.batch_size) {
            if self.dry_run() {
                self.report
                    .recovered
                    .extend(chunk.iter().map(RunId::to_string));
                continue;
            }
            let runs = self.fetch(chunk.to_vec()).await?;
            let events: Vec<Event> = runs.into_iter().filter_map(event_of).collect();
            let receiver = &self.reconciler.receiver;
            let sent: Vec<(String, Sent)> = futures::stream::iter(events)
                .map(|event| async move {
                    let run_id = event.run_id().unwrap_or_default().to_owned();
                    (run_id, classify(receiver.recover(event).await.outcome))
                })
                .buffer_unordered(SENDING)
                .collect()
                .await;
            for (run_id, sent) in sent {
                if matches!(sent, Sent::Failed) {
                    failed.push(WatchedRun::new(run_id.clone(), self.now));
                }
                self.count(run_id, sent);
            }
        }
        Ok(failed)
    }

    /// Sends one event (or, in a dry run, counts it as to be sent).
    async fn send_one(&mut self, event: Event) -> Sent {
        let run_id = event.run_id().unwrap_or_default().to_owned();
        if self.dry_run() {
            self.report.recovered.push(run_id);
            return Sent::Recovered;
        }
        let sent = classify(self.reconciler.receiver.recover(event).await.outcome);
        self.count(run_id, sent);
        sent
    }

    fn count(&mut self, run_id: String, sent: Sent) {
        match sent {
            Sent::Recovered => self.report.recovered.push(run_id),
            Sent::Duplicate => self.report.duplicates += 1,
            Sent::Rejected => self.report.rejected.push(run_id),
            Sent::Failed => self.report.failed.push(run_id),
        }
    }

    /// Whether the receiver's store already holds the event's key.
    async fn seen(&self, event: &Event) -> Result<bool, ReconcileError> {
        self.reconciler
            .receiver
            .has_seen(event)
            .await
            .map_err(ReconcileError::State)
    }
}

/// The event of an ended run, as a webhook would carry it; `None` (logged) for a run that
/// cannot become one (no run id or status: the API answered something else).
fn event_of(run: Run) -> Option<Event> {
    let run_id = run.run_id.as_ref().map(RunId::to_string);
    Event::from_run(run)
        .inspect_err(|error| tracing::warn!(?run_id, %error, "a run cannot become an event"))
        .ok()
}

/// How the receiver's answer to a recovered event counts.
fn classify(outcome: ReceiveOutcome) -> Sent {
    match outcome {
        ReceiveOutcome::Accepted => Sent::Recovered,
        ReceiveOutcome::Duplicate => Sent::Duplicate,
        ReceiveOutcome::Rejected => Sent::Rejected,
        _ => Sent::Failed,
    }
}

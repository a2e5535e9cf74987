//! What a sweep did ([`SweepReport`]), and why one failed ([`ReconcileError`]).

use std::time::{Duration, SystemTime};

use runhook::store::StoreError;

use super::SourceError;

/// What one sweep did. A sweep that failed part-way keeps what it did until then (the
/// watermark it stored, the runs it sent), and reports its error instead.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SweepReport {
    /// When it started (the reconciler's clock).
    pub started_at: Option<SystemTime>,
    /// When it ended.
    pub finished_at: Option<SystemTime>,
    /// Another replica held the lease: this replica did not sweep.
    pub skipped: bool,
    /// A dry run: nothing was sent and the state was not changed.
    pub dry_run: bool,
    /// The creation time the listing started after.
    pub listed_after: Option<SystemTime>,
    /// The watermark at the end (unchanged by a dry run).
    pub watermark: Option<SystemTime>,
    /// Runs listed.
    pub listed: u64,
    /// Requests made to the runs API (list pages and batch reads).
    pub api_calls: u64,
    /// Terminal runs the store or inbox had already seen: not sent again.
    pub seen: u64,
    /// Runs sent and processed or stored as new: recovered (run ids). In a dry run, the runs
    /// that would be sent.
    pub recovered: Vec<String>,
    /// Runs sent that the store found already processed or stored meanwhile (their webhook
    /// won the race).
    pub duplicates: u64,
    /// Runs whose sending failed (the receiver answered 503: store down, handler asked for a
    /// retry, shutting down): kept on the watch list, sent again at the next sweep.
    pub failed: Vec<String>,
    /// Runs the handler rejected (422): not sent again, as a rejected webhook is not.
    pub rejected: Vec<String>,
    /// Runs put on the watch list (still in progress, or not sent).
    pub watched: u64,
    /// Runs taken off the watch list: sent, seen, or unknown to the API.
    pub unwatched: u64,
    /// Runs given up: watched for longer than the lookback, or unknown to the API (run ids).
    pub dropped: Vec<String>,
    /// Runs on the watch list at the end.
    pub watching: u64,
    /// The listing stopped before its end because the watch list is full; the rest is listed at
    /// the next sweep.
    pub watch_full: bool,
}

impl SweepReport {
    /// How long it took, if it finished.
    pub fn elapsed(&self) -> Option<Duration> {
        let (started, finished) = (self.started_at?, self.finished_at?);
        finished.duration_since(started).ok()
    }
}

/// Why a sweep failed. What it did before the failure stays done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReconcileError {
    /// The runs API failed, after its client's retries.
    #[error("the runs API failed: {0}")]
    Source(#[from] SourceError),
    /// The reconciler's state (watermark, watch list) failed.
    #[error("the reconcile state failed: {0}")]
    State(#[source] StoreError),
    /// The lease could not be asked for (the sweep did not run).
    #[error("cannot take the reconcile lease: {0}")]
    Lease(#[source] StoreError),
    /// The sweep took longer than its timeout and was stopped.
    #[error("the sweep did not finish within {0:?}; it goes on at the next sweep")]
    TimedOut(Duration),
}

//! What a reconciler keeps between sweeps: the [`ReconcileState`] trait and its in-memory
//! reference, [`MemoryReconcileState`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use async_trait::async_trait;

use crate::store::StoreError;

/// A run on the watch list: seen by a sweep while still in progress (or ended, but not yet
/// delivered), and checked again at each sweep until it is delivered or given up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WatchedRun {
    /// The run.
    pub run_id: String,
    /// When a sweep first put it on the list.
    pub since: SystemTime,
}

impl WatchedRun {
    /// `run_id`, watched since `since`.
    pub fn new(run_id: impl Into<String>, since: SystemTime) -> Self {
        WatchedRun {
            run_id: run_id.into(),
            since,
        }
    }
}

/// Where a reconciler keeps its state between sweeps, shared by every replica that sweeps the
/// same runs: the **watermark** (the creation time the next sweep lists runs after) and the
/// **watch list** (runs to check again).
///
/// Every operation is atomic on its own; a lease (`runhook_receiver::maintenance::Leadership`)
/// lets one replica sweep at a time, so operations of two sweeps do not interleave.
/// `runhook-store` keeps it in SQLite and PostgreSQL; [`MemoryReconcileState`] is the reference.
#[async_trait]
pub trait ReconcileState: Send + Sync {
    /// The watermark, if a sweep has set one.
    async fn watermark(&self) -> Result<Option<SystemTime>, StoreError>;

    /// Sets the watermark.
    async fn set_watermark(&self, watermark: SystemTime) -> Result<(), StoreError>;

    /// Puts `runs` on the watch list; a run already there keeps its `since`.
    async fn watch(&self, runs: &[WatchedRun]) -> Result<(), StoreError>;

    /// The watched runs, longest watched first (by `since`, then run id), at most `limit`.
    async fn watched(&self, limit: usize) -> Result<Vec<WatchedRun>, StoreError>;

    /// How many runs are on the watch list.
    async fn watch_len(&self) -> Result<u64, StoreError>;

    /// Takes `run_ids` off the watch list; returns how many were on it.
    async fn unwatch(&self, run_ids: &[String]) -> Result<u64, StoreError>;
}

/// A [`ReconcileState`] in memory, for one process: the reference semantics, for tests and
/// examples. A restart forgets the watermark (the next sweep looks back its full lookback) and
/// the watch list: use `runhook-store`'s SQLite or PostgreSQL state in production.
#[derive(Default)]
pub struct MemoryReconcileState {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    watermark: Option<SystemTime>,
    watched: BTreeMap<String, SystemTime>,
}

impl MemoryReconcileState {
    /// An empty state: no watermark, nothing watched.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for MemoryReconcileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryReconcileState")
            .field("watermark", &inner.watermark)
            .field("watched", &inner.watched.len())
            .finish()
    }
}

#[async_trait]
impl ReconcileState for MemoryReconcileState {
    async fn watermark(&self) -> Result<Option<SystemTime>, StoreError> {
        Ok(self.lock().watermark)
    }

    async fn set_watermark(&self, watermark: SystemTime) -> Result<(), StoreError> {
        self.lock().watermark = Some(watermark);
        Ok(())
    }

    async fn watch(&self, runs: &[WatchedRun]) -> Result<(), StoreError> {
        let mut inner = self.lock();
        for run in runs {
            inner.watched.entry(run.run_id.clone()).or_insert(run.since);
        }
        Ok(())
    }

    async fn watched(&self, limit: usize) -> Result<Vec<WatchedRun>, StoreError> {
        let inner = self.lock();
        let mut runs: Vec<WatchedRun> = inner
            .watched
            .iter()
            .map(|(run_id, since)| WatchedRun::new(run_id.clone(), *since))
            .collect();
        runs.sort_by(|a, b| (a.since, &a.run_id).cmp(&(b.since, &b.run_id)));
        runs.truncate(limit);
        Ok(runs)
    }

    async fn watch_len(&self) -> Result<u64, StoreError> {
        Ok(u64::try_from(self.lock().watched.len()).unwrap_or(u64::MAX))
    }

    async fn unwatch(&self, run_ids: &[String]) -> Result<u64, StoreError> {
        let mut inner = self.lock();
        let removed = run_ids
            .iter()
            .filter(|run_id| inner.watched.remove(run_id.as_str()).is_some())
            .count();
        Ok(u64::try_from(removed).unwrap_or(u64::MAX))
    }
}

//! [`SqliteReconcileState`]: a reconciler's state in the SQLite file of a store or an inbox.

pub(crate) mod ops;

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use runhook::reconcile::{ReconcileState, WatchedRun};
use runhook::store::StoreError;

use crate::millis::{millis_since_epoch, time_from_millis};
use crate::reconcile_row::{row_limit, watch_rows, watched_run};
use crate::sqlite::{self, Component, Writer};
use ops::{Op, Reply};

/// A [`ReconcileState`] in one SQLite file: the watermark and the watch list of one **scope**
/// (one reconciler's state; several reconcilers, e.g. one per API account, share a file, each
/// with a scope of its own and never seeing another's).
///
/// Get one with [`SqliteStore::reconcile_state`](crate::SqliteStore::reconcile_state) or
/// [`SqliteInbox::reconcile_state`](crate::SqliteInbox::reconcile_state): it is served by the
/// writer thread of that store or inbox (so its writes share their group commits), in tables of
/// its own, `runhook_reconcile (scope, watermark_ms)` and `runhook_reconcile_watch (scope,
/// run_id, since_ms)` with an index on `(scope, since_ms, run_id)`, versioned as the component
/// `reconcile` of `runhook_schema`.
///
/// Times are kept as integer milliseconds since the Unix epoch (a time before it is kept as the
/// epoch). Each operation is atomic: [`watch`](ReconcileState::watch) and
/// [`unwatch`](ReconcileState::unwatch) of many runs are one transaction (one savepoint of the
/// writer's group). Errors are [`StoreError::Unavailable`], naming the file.
///
/// Cloning is cheap and shares the writer thread.
#[derive(Clone)]
pub struct SqliteReconcileState {
    writer: Writer,
    scope: Arc<str>,
}

/// The reconcile state's tables in the file.
const RECONCILE: Component = Component::Reconcile;

impl SqliteReconcileState {
    /// The version of the reconcile state's tables this crate writes (its row in
    /// `runhook_schema`).
    pub const SCHEMA_VERSION: i64 = sqlite::version_of(RECONCILE);

    /// The state of `scope` on the file of `writer`, its tables created or migrated now.
    pub(crate) async fn sharing(writer: Writer, scope: &str) -> Result<Self, StoreError> {
        writer.migrate(RECONCILE).await.map_err(unavailable)?;
        Ok(SqliteReconcileState {
            writer,
            scope: scope.into(),
        })
    }

    /// The scope whose state this is.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.writer.path()
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        match self.writer.call(sqlite::Op::Reconcile(op)).await {
            Ok(sqlite::Reply::Reconcile(reply)) => Ok(reply),
            Ok(other) => Err(self.unexpected(&other)),
            Err(message) => Err(unavailable(message)),
        }
    }

    async fn count(&self, op: Op) -> Result<u64, StoreError> {
        match self.call(op).await? {
            Reply::Count(count) => Ok(count),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn done(&self, op: Op) -> Result<(), StoreError> {
        match self.call(op).await? {
            Reply::Done => Ok(()),
            other => Err(self.unexpected(&other)),
        }
    }

    fn unexpected(&self, reply: &dyn fmt::Debug) -> StoreError {
        unavailable(format!(
            "{}: unexpected reply {reply:?}",
            self.writer.name()
        ))
    }
}

/// A message of the writer (naming the file) as the reconcile state's error.
fn unavailable(message: String) -> StoreError {
    RECONCILE.error(message)
}

#[async_trait]
impl ReconcileState for SqliteReconcileState {
    async fn watermark(&self) -> Result<Option<SystemTime>, StoreError> {
        let scope = Arc::clone(&self.scope);
        match self.call(Op::Watermark { scope }).await? {
            Reply::Watermark(at) => Ok(at.map(time_from_millis)),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn set_watermark(&self, watermark: SystemTime) -> Result<(), StoreError> {
        let scope = Arc::clone(&self.scope);
        let at = millis_since_epoch(watermark);
        self.done(Op::SetWatermark { scope, at }).await
    }

    async fn watch(&self, runs: &[WatchedRun]) -> Result<(), StoreError> {
        if runs.is_empty() {
            return Ok(());
        }
        let runs = watch_rows(runs)
            .into_iter()
            .map(|(run_id, since)| (run_id.to_owned(), since))
            .collect();
        let scope = Arc::clone(&self.scope);
        self.done(Op::Watch { scope, runs }).await
    }

    async fn watched(&self, limit: usize) -> Result<Vec<WatchedRun>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let scope = Arc::clone(&self.scope);
        let limit = row_limit(limit);
        match self.call(Op::Watched { scope, limit }).await? {
            Reply::Watched(rows) => Ok(rows
                .into_iter()
                .map(|(run_id, since)| watched_run(run_id, since))
                .collect()),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn watch_len(&self) -> Result<u64, StoreError> {
        let scope = Arc::clone(&self.scope);
        self.count(Op::Len { scope }).await
    }

    async fn unwatch(&self, run_ids: &[String]) -> Result<u64, StoreError> {
        if run_ids.is_empty() {
            return Ok(0);
        }
        let scope = Arc::clone(&self.scope);
        let run_ids = run_ids.to_vec();
        self.count(Op::Unwatch { scope, run_ids }).await
    }
}

impl fmt::Debug for SqliteReconcileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteReconcileState")
            .field("path", &self.writer.path())
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

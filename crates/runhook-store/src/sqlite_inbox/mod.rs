//! [`SqliteInbox`]: a durable inbox in one SQLite file, embedded in the process.

mod browse;
mod console;
pub(crate) mod ops;
#[cfg(test)]
mod plans;
mod settle;

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::inbox::{
    ActivityMinute, ActivityWindow, BrowseQuery, Inbox, InboxAttempt, InboxClaim, InboxDepth,
    InboxEntry, InboxFilter, InboxState, Inserted, NewInboxEntry, Purge, RowFilter, Settlement,
};
use runhook::store::{ClaimToken, IdempotencyKey, StoreError};

use crate::inbox_row::{
    RawEntry, Recorded, claim_bounds, claims, drift_json, held_token, purged_state,
};
use crate::millis::{millis, millis_since_epoch};
use crate::sqlite::{self, Component, Open, SqliteConfig, Writer};
use ops::{End, Op, Reply};

/// An [`Inbox`] in one SQLite file (or in memory), for one process.
///
/// Each row of `runhook_inbox` holds the event (key, `run_id`, name, receipt time, body bytes,
/// drift problems as JSON) and how its processing stands (state, attempts, next attempt, lease
/// end, fencing token, last error, finish time), with indexes for claims (the pending rows by
/// `next_at, key`) and runs (`run_id, …`). Claims follow the in-memory inbox exactly: earliest
/// due first; only the oldest pending row of a `run_id` is due, and only while no other row of
/// that run is leased; each claim counts an attempt and takes a new token from a counter row, so
/// tokens are unique per database, across restarts.
///
/// **What a console reads.** Each settlement adds its attempt to `runhook_inbox_attempts` (the
/// newest [`ATTEMPT_HISTORY_LIMIT`](runhook::inbox::ATTEMPT_HISTORY_LIMIT) per row, deleted with
/// the row), in the settlement's savepoint. Pages newest first, activity per minute and the depth
/// are read from indexes (by receipt; by state and receipt; of retrying rows; of held rows; of
/// finished rows by finish time), never by a scan of the table.
///
/// **One file with [`SqliteStore`](crate::SqliteStore).** The inbox keeps its own tables; every
/// component of the file has its version in the `runhook_schema (component, version)` table, so
/// both can open the same file, and [`SqliteStore::inbox`](crate::SqliteStore::inbox) gives an
/// inbox served by the store's own writer thread.
///
/// **Which clock decides.** The caller's, as in memory: every time (receipt, due time, lease
/// end, finish) is the `now` or time passed in, stored as integer milliseconds since the epoch
/// (times are kept to the millisecond). One file used by one process has one clock: no skew.
///
/// **Threads and group commit.** The writer thread of [`SqliteStore`](crate::SqliteStore) (see
/// there): one connection fed through a queue of at most [`QUEUE`](crate::sqlite::QUEUE)
/// requests; whatever operations are queued when the thread is free (up to
/// [`BATCH_LIMIT`](crate::sqlite::BATCH_LIMIT)) run in one transaction, each under its own
/// savepoint, and each caller is answered once it commits. An operation that fails is undone
/// alone and answers its own error; if the commit fails, every operation of the group fails with
/// [`StoreError::Unavailable`] and none of them was written. With many concurrent callers, one
/// commit covers many inserts: the receiver acknowledges an event only once its insert is
/// committed, at a fraction of the cost of a commit per event.
///
/// **Durability.** WAL mode with `synchronous=FULL` by default ([`open`](Self::open)): every
/// commit, so every acknowledged event, survives a crash of the process and a power loss (an
/// fsync per group commit). [`open_with`](Self::open_with) and
/// [`SqliteConfig::synchronous_full`]`(false)` trade that for speed (`synchronous=NORMAL`: a
/// power loss or OS crash may lose the last commits before the next WAL checkpoint).
///
/// Cloning is cheap and shares the thread; it stops, closing the file, when the last clone is
/// dropped.
#[derive(Clone)]
pub struct SqliteInbox {
    writer: Writer,
}

impl SqliteInbox {
    /// The version of the inbox's tables this crate writes (its row in `runhook_schema`).
    pub const SCHEMA_VERSION: i64 = sqlite::version_of(INBOX);

    /// Opens (creating it if absent) the database at `path`, in WAL mode with
    /// `synchronous=FULL`, and creates or migrates the inbox's tables. Fails at once if the file
    /// cannot be opened or its inbox tables are of a newer version.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteConfig::default().synchronous_full(true)).await
    }

    /// Opens the database at `path` with `config`; see [`open`](Self::open).
    pub async fn open_with(
        path: impl AsRef<Path>,
        config: SqliteConfig,
    ) -> Result<Self, StoreError> {
        let writer = Writer::open(Some(path.as_ref()), Open::Create, config, INBOX).await?;
        Ok(SqliteInbox { writer })
    }

    /// Opens the database at `path` as [`open`](Self::open) does, but only if the file exists:
    /// a missing file is an error naming it, not a new empty inbox (for tools that inspect an
    /// inbox a relay keeps).
    pub async fn open_existing(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let config = SqliteConfig::default().synchronous_full(true);
        let writer = Writer::open(Some(path.as_ref()), Open::Existing, config, INBOX).await?;
        Ok(SqliteInbox { writer })
    }

    /// An inbox in a private in-memory database: nothing survives it (for tests).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let writer = Writer::open(None, Open::Memory, SqliteConfig::default(), INBOX).await?;
        Ok(SqliteInbox { writer })
    }

    /// An inbox on the file of `writer` (a store's), its tables created or migrated now.
    pub(crate) async fn sharing(writer: Writer) -> Result<Self, StoreError> {
        writer.migrate(INBOX).await.map_err(unavailable)?;
        Ok(SqliteInbox { writer })
    }

    /// The [`SqliteReconcileState`](crate::SqliteReconcileState) of `scope` on the same file,
    /// served by this inbox's writer thread; its tables are created or migrated now.
    pub async fn reconcile_state(
        &self,
        scope: &str,
    ) -> Result<crate::SqliteReconcileState, StoreError> {
        crate::SqliteReconcileState::sharing(self.writer.clone(), scope).await
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.writer.path()
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &SqliteConfig {
        self.writer.config()
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        match self.writer.call(sqlite::Op::Inbox(op)).await {
            Ok(sqlite::Reply::Inbox(reply)) => Ok(reply),
            Ok(other) => Err(self.unavailable(&format!("unexpected reply {other:?}"))),
            Err(message) => Err(unavailable(message)),
        }
    }

    async fn rows(&self, op: Op) -> Result<Vec<RawEntry>, StoreError> {
        match self.call(op).await? {
            Reply::Rows(rows) => Ok(rows),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn changed(&self, op: Op) -> Result<u64, StoreError> {
        match self.call(op).await? {
            Reply::Changed(rows) => Ok(rows),
            other => Err(self.unexpected(&other)),
        }
    }

    /// Runs a fenced update: `Ok` if `token` held `key`, `NotHeld` otherwise.
    async fn fenced(&self, key: &IdempotencyKey, op: Op) -> Result<(), StoreError> {
        let changed = self.changed(op).await?;
        runhook::store::fenced(key, changed > 0)
    }

    fn entry(&self, raw: RawEntry) -> Result<InboxEntry, StoreError> {
        raw.into_entry()
            .map_err(|message| self.unavailable(&message))
    }

    fn unavailable(&self, message: &str) -> StoreError {
        unavailable(format!("{}: {message}", self.writer.name()))
    }

    fn unexpected(&self, reply: &Reply) -> StoreError {
        self.unavailable(&format!("unexpected reply {reply:?}"))
    }
}

/// A message of the writer (naming the file) as the inbox's error.
fn unavailable(message: String) -> StoreError {
    INBOX.error(message)
}

/// The inbox's tables in the file.
const INBOX: Component = Component::Inbox;

#[async_trait]
impl Inbox for SqliteInbox {
    async fn insert(
        &self,
        record: NewInboxEntry,
        _now: SystemTime,
    ) -> Result<Inserted, StoreError> {
        let drift = drift_json(&record.drift).map_err(|message| self.unavailable(&message))?;
        let op = Op::Insert {
            key: record.key.as_str().to_owned(),
            run_id: record.run_id,
            event: record.event,
            received_at: millis_since_epoch(record.received_at),
            body: record.body,
            drift,
            source: record.source.as_str(),
        };
        match self.call(op).await? {
            Reply::Inserted(None) => Ok(Inserted::New),
            Reply::Inserted(Some(state)) => state
                .parse()
                .map(Inserted::Duplicate)
                .map_err(|message| self.unavailable(&message)),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn claim_due(
        &self,
        now: SystemTime,
        lease: Duration,
        limit: usize,
    ) -> Result<Vec<InboxClaim>, StoreError> {
        let Some(bounds) = claim_bounds(now, lease, limit) else {
            return Ok(Vec::new());
        };
        let rows = self.rows(Op::Claim(bounds)).await?;
        claims(rows, |raw| self.entry(raw))
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let op = Op::Renew {
            key: key.as_str().to_owned(),
            token: held_token(key, token)?,
            lease_until: millis_since_epoch(now).saturating_add(millis(lease)),
        };
        self.fenced(key, op).await
    }

    async fn settle(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        settlement: Settlement,
    ) -> Result<(), StoreError> {
        let token_value = held_token(key, token)?;
        let recorded = Recorded::of(&settlement, now);
        let end = match settlement {
            Settlement::Retry { at, error } => End::Retry {
                at: millis_since_epoch(at),
                error,
            },
            Settlement::Dead { error } => End::Dead { error },
            Settlement::Done => End::Done,
            other => return Err(self.unavailable(&format!("unknown settlement {other:?}"))),
        };
        let op = Op::Settle {
            key: key.as_str().to_owned(),
            token: token_value,
            now: millis_since_epoch(now),
            end,
            recorded,
        };
        self.fenced(key, op).await
    }

    async fn get(&self, key: &IdempotencyKey) -> Result<Option<InboxEntry>, StoreError> {
        let op = Op::Get {
            key: key.as_str().to_owned(),
        };
        let row = self.rows(op).await?.into_iter().next();
        row.map(|raw| self.entry(raw)).transpose()
    }

    async fn list(&self, filter: &InboxFilter) -> Result<Vec<InboxEntry>, StoreError> {
        if filter.limit == 0 {
            return Ok(Vec::new());
        }
        let op = Op::List {
            state: filter.state.map(InboxState::as_str),
            after: filter
                .after
                .as_ref()
                .map(|(at, key)| (millis_since_epoch(*at), key.as_str().to_owned())),
            limit: i64::try_from(filter.limit).unwrap_or(i64::MAX),
        };
        let rows = self.rows(op).await?;
        rows.into_iter().map(|raw| self.entry(raw)).collect()
    }

    async fn browse(&self, query: &BrowseQuery) -> Result<Vec<InboxEntry>, StoreError> {
        self.browse_rows(query).await
    }

    async fn activity(&self, window: ActivityWindow) -> Result<Vec<ActivityMinute>, StoreError> {
        self.activity_minutes(window).await
    }

    async fn attempts(&self, key: &IdempotencyKey) -> Result<Vec<InboxAttempt>, StoreError> {
        self.attempt_history(key).await
    }

    async fn replay(&self, key: &IdempotencyKey, now: SystemTime) -> Result<bool, StoreError> {
        self.revive(key, now, false).await
    }

    async fn replay_finished(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        self.revive(key, now, true).await
    }

    async fn replay_dead_matching(
        &self,
        filter: &RowFilter,
        now: SystemTime,
    ) -> Result<u64, StoreError> {
        self.replay_matching(filter, now).await
    }

    async fn retry_pending(&self, filter: &RowFilter, now: SystemTime) -> Result<u64, StoreError> {
        let op = Op::RetryPending {
            key: filter.key.as_ref().map(|key| key.as_str().to_owned()),
            run_id_prefix: filter.run_id_prefix.clone(),
            event: filter.event.clone(),
            now: millis_since_epoch(now),
        };
        self.changed(op).await
    }

    async fn purge(&self, which: Purge, before: SystemTime) -> Result<u64, StoreError> {
        let state = purged_state(which).map_err(|message| self.unavailable(&message))?;
        let op = Op::Purge {
            state,
            before: millis_since_epoch(before),
        };
        self.changed(op).await
    }

    async fn purge_key(&self, key: &IdempotencyKey) -> Result<bool, StoreError> {
        self.purge_one(key).await
    }

    async fn depth(&self, now: SystemTime) -> Result<InboxDepth, StoreError> {
        self.depth_counts(now).await
    }
}

impl fmt::Debug for SqliteInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteInbox")
            .field("path", &self.writer.path())
            .field("config", self.writer.config())
            .finish_non_exhaustive()
    }
}

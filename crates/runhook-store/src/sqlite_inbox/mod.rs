//! [`SqliteInbox`]: a durable inbox in one SQLite file, embedded in the process.

mod ops;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::inbox::{
    Inbox, InboxClaim, InboxDepth, InboxEntry, InboxFilter, InboxRecord, InboxState, Inserted,
    Purge, Settlement,
};
use runhook::store::{ClaimToken, IdempotencyKey, StoreError};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

use crate::inbox_row::{RawEntry, drift_json};
use crate::millis::{millis, millis_since_epoch};
use ops::{End, Op, Reply};
use writer::{Failure, QUEUE, Request, prepare, serve};

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
/// **One file with [`SqliteStore`](crate::SqliteStore).** The inbox keeps its own tables and
/// versions them in a `runhook_schema (component, version)` table, apart from the
/// `PRAGMA user_version` the idempotency store uses, so both can open the same file.
///
/// **Which clock decides.** The caller's, as in memory: every time (receipt, due time, lease
/// end, finish) is the `now` or time passed in, stored as integer milliseconds since the epoch
/// (times are kept to the millisecond). One file used by one process has one clock: no skew.
///
/// **Threads and group commit.** One connection, owned by a dedicated writer thread fed through
/// a bounded channel: SQLite never blocks the async runtime. Whatever operations are queued
/// when the thread is free (up to 1024) run in one transaction, and each caller is answered
/// once it commits; if the commit fails, every operation of the group fails with
/// [`StoreError::Unavailable`] and none of them was written. With many concurrent callers, one
/// commit covers many inserts: the receiver acknowledges an event only once its insert is
/// committed, at a fraction of the cost of a commit per event.
///
/// **Durability.** WAL mode with `synchronous=NORMAL`: a commit is atomic and survives a crash
/// of the process; a power loss or OS crash may lose the last transactions before the next WAL
/// checkpoint (never corrupt the file). An event lost that way was acknowledged: the inbox is as
/// durable as the file's last checkpoint against power loss, and fully against a crash.
///
/// Cloning is cheap and shares the thread; it stops, closing the file, when the last clone is
/// dropped.
#[derive(Clone)]
pub struct SqliteInbox {
    requests: mpsc::Sender<Request>,
    path: Option<Arc<Path>>,
}

impl SqliteInbox {
    /// The version of the inbox's tables this crate writes (its row in `runhook_schema`).
    pub const SCHEMA_VERSION: i64 = writer::SCHEMA_VERSION;

    /// Opens (creating it if absent) the database at `path`, in WAL mode, and creates or
    /// migrates the inbox's tables. Fails at once if the file cannot be opened or its inbox
    /// tables are of a newer version.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let opened = path.clone();
        Self::start(Some(path.into()), move || Connection::open(opened)).await
    }

    /// An inbox in a private in-memory database: nothing survives it (for tests).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        Self::start(None, || {
            Connection::open_with_flags(
                ":memory:",
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
            )
        })
        .await
    }

    /// The database file, or `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    async fn start(
        path: Option<Arc<Path>>,
        connect: impl FnOnce() -> rusqlite::Result<Connection> + Send + 'static,
    ) -> Result<Self, StoreError> {
        let name = display(path.as_deref());
        let (requests, receiver) = mpsc::channel(QUEUE);
        let (ready, started) = oneshot::channel();
        std::thread::Builder::new()
            .name("runhook-sqlite-inbox".to_owned())
            .spawn(
                move || match connect().map_err(Failure::from).and_then(prepare) {
                    Ok(connection) => {
                        if ready.send(Ok(())).is_ok() {
                            serve(connection, receiver);
                        }
                    }
                    Err(failure) => {
                        let _ = ready.send(Err(failure));
                    }
                },
            )
            .map_err(|error| StoreError::Unavailable {
                message: format!("SQLite inbox {name}: cannot start its thread: {error}"),
            })?;
        match started.await {
            Ok(Ok(())) => Ok(SqliteInbox { requests, path }),
            Ok(Err(Failure { message, .. })) => Err(StoreError::Unavailable {
                message: format!("SQLite inbox {name}: {message}"),
            }),
            Err(_) => Err(StoreError::Unavailable {
                message: format!("SQLite inbox {name}: its thread stopped while opening"),
            }),
        }
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || self.unavailable("its thread stopped");
        self.requests
            .send(Request { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(|failure| self.unavailable(&failure.message))
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
        match self.changed(op).await? {
            0 => Err(StoreError::NotHeld { key: key.clone() }),
            _ => Ok(()),
        }
    }

    fn entry(&self, raw: RawEntry) -> Result<InboxEntry, StoreError> {
        raw.into_entry()
            .map_err(|message| self.unavailable(&message))
    }

    fn unavailable(&self, message: &str) -> StoreError {
        StoreError::Unavailable {
            message: format!("SQLite inbox {}: {message}", display(self.path.as_deref())),
        }
    }

    fn unexpected(&self, reply: &Reply) -> StoreError {
        self.unavailable(&format!("unexpected reply {reply:?}"))
    }
}

#[async_trait]
impl Inbox for SqliteInbox {
    async fn insert(&self, record: InboxRecord, _now: SystemTime) -> Result<Inserted, StoreError> {
        let drift = drift_json(&record.drift).map_err(|message| self.unavailable(&message))?;
        let op = Op::Insert {
            key: record.key.as_str().to_owned(),
            run_id: record.run_id,
            event: record.event,
            received_at: millis_since_epoch(record.received_at),
            body: record.body,
            drift,
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
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = millis_since_epoch(now);
        let op = Op::Claim {
            now,
            lease_until: now.saturating_add(millis(lease)),
            limit: i64::try_from(limit).unwrap_or(i64::MAX),
        };
        let rows = self.rows(op).await?;
        rows.into_iter()
            .map(|raw| {
                let token = ClaimToken::new(raw.token.unsigned_abs());
                Ok(InboxClaim::new(self.entry(raw)?, token))
            })
            .collect()
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let Ok(token_value) = i64::try_from(token.get()) else {
            return Err(StoreError::NotHeld { key: key.clone() });
        };
        let op = Op::Renew {
            key: key.as_str().to_owned(),
            token: token_value,
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
        let Ok(token_value) = i64::try_from(token.get()) else {
            return Err(StoreError::NotHeld { key: key.clone() });
        };
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

    async fn replay(&self, key: &IdempotencyKey, now: SystemTime) -> Result<bool, StoreError> {
        let op = Op::Replay {
            key: Some(key.as_str().to_owned()),
            now: millis_since_epoch(now),
        };
        Ok(self.changed(op).await? > 0)
    }

    async fn replay_dead(&self, now: SystemTime) -> Result<u64, StoreError> {
        let op = Op::Replay {
            key: None,
            now: millis_since_epoch(now),
        };
        self.changed(op).await
    }

    async fn purge(&self, which: Purge, before: SystemTime) -> Result<u64, StoreError> {
        let state = match which {
            Purge::Done => InboxState::Done,
            Purge::Dead => InboxState::Dead,
            other => return Err(self.unavailable(&format!("unknown purge {other:?}"))),
        };
        let op = Op::Purge {
            state: state.as_str(),
            before: millis_since_epoch(before),
        };
        self.changed(op).await
    }

    async fn depth(&self, now: SystemTime) -> Result<InboxDepth, StoreError> {
        let op = Op::Depth {
            now: millis_since_epoch(now),
        };
        match self.call(op).await? {
            Reply::Depth([pending, in_flight, done, dead]) => {
                let mut depth = InboxDepth::default();
                depth.pending = pending;
                depth.in_flight = in_flight;
                depth.done = done;
                depth.dead = dead;
                Ok(depth)
            }
            other => Err(self.unexpected(&other)),
        }
    }
}

fn display(path: Option<&Path>) -> String {
    path.map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string())
}

impl fmt::Debug for SqliteInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteInbox")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

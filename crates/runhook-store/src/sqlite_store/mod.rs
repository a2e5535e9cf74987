//! [`SqliteStore`]: an idempotency store in one SQLite file, embedded in the process.

mod config;
mod ops;
mod schema;
#[cfg(test)]
mod tests;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

pub use config::SqliteStoreConfig;
use schema::{MIGRATIONS, prepare};
use writer::{Failure, Op, QUEUE, Reply, Request, Settle, display, serve};

use crate::millis::{millis, millis_since_epoch};

/// An [`IdempotencyStore`] in one SQLite file (or in memory), for one process, or a few
/// processes on one host sharing the file.
///
/// Each key is a row `(key, done, token, until_ms)`. Every operation is atomic, also against
/// other processes on the same file: it runs inside a `BEGIN IMMEDIATE` transaction (a claim's
/// read-then-write in a savepoint of its own). Tokens come from one counter row, so they are
/// unique per database, across restarts.
///
/// **Which clock decides.** The caller's, as in the in-memory store and `RedisStore`: lease
/// ends and retentions are the `now` passed in plus the lease or retention, stored as integer
/// milliseconds since the epoch. One file used by one process has one clock, so there is no
/// skew; processes on one host share its clock. (Processes on several hosts cannot share a
/// SQLite file safely: use Redis or PostgreSQL there.)
///
/// **Threads.** One connection, owned by a dedicated writer thread fed through a bounded channel
/// (replies by oneshot): SQLite never blocks the async runtime, writes are serialised without a
/// lock (SQLite has one writer anyway), prepared statements stay cached, and periodic pruning
/// runs on that thread between requests. Every statement waits at most 5 s (`busy_timeout`) for
/// another process's lock, then fails with [`StoreError::Unavailable`].
///
/// **Group commit.** The thread takes every request already queued, up to
/// [`BATCH_LIMIT`](Self::BATCH_LIMIT), and runs them in order in one transaction: each operation
/// stays atomic and sees the effects of those before it, and none is answered before the
/// transaction has committed. An operation that fails is undone alone and answers its own error;
/// a failed commit answers every operation of the batch with [`StoreError::Unavailable`]. One
/// caller at a time gets one transaction per operation, as without batching; many concurrent
/// callers share the cost of each commit.
///
/// **Durability.** WAL mode with `synchronous=NORMAL` by default: a commit is atomic and
/// survives a crash of the process; a power loss or OS crash may lose the last transactions
/// before the next WAL checkpoint (never corrupt the file). A lost completion means the key reads
/// as absent or in flight again, so at worst one event is processed twice after a power loss.
/// [`SqliteStoreConfig::synchronous_full`] makes every commit survive a power loss too
/// (`synchronous=FULL`, an fsync per commit), with [`open_with`](Self::open_with).
///
/// **Pruning.** Completed keys past their retention, and claims [`GC_MARGIN`](crate::GC_MARGIN) past their lease
/// (their holder can still complete one until then if nobody took it over), are deleted in
/// sweeps of at most [`SWEEP_LIMIT`](Self::SWEEP_LIMIT) rows, run after every
/// [`SWEEP_EVERY`](Self::SWEEP_EVERY)-th claim with that claim's `now`, or on demand with
/// [`prune`](Self::prune). Pruning never changes an answer.
///
/// Cloning is cheap and shares the thread; it stops, closing the file, when the last clone is
/// dropped.
#[derive(Clone)]
pub struct SqliteStore {
    requests: mpsc::Sender<Request>,
    path: Option<Arc<Path>>,
    config: SqliteStoreConfig,
}

impl SqliteStore {
    /// The schema version this store writes (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
    /// A pruning sweep runs after every this many claims.
    pub const SWEEP_EVERY: u64 = 100;
    /// The most rows one sweep deletes, so a sweep never holds the file for long.
    pub const SWEEP_LIMIT: u64 = 1_000;
    /// The most queued operations one transaction runs (group commit).
    pub const BATCH_LIMIT: usize = 128;

    /// Opens (creating it if absent) the database at `path`, in WAL mode, and creates or
    /// migrates its schema, with the default [`SqliteStoreConfig`] (`synchronous=NORMAL`).
    /// Fails at once if the file cannot be opened or has a newer schema.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteStoreConfig::default()).await
    }

    /// Opens the database at `path` with `config`; see [`open`](Self::open).
    pub async fn open_with(
        path: impl AsRef<Path>,
        config: SqliteStoreConfig,
    ) -> Result<Self, StoreError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let opened = path.clone();
        Self::start(Some(path.into()), config, move || Connection::open(opened)).await
    }

    /// A store in a private in-memory database: nothing survives the store (for tests).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        Self::start(None, SqliteStoreConfig::default(), || {
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

    /// The configuration it was opened with.
    pub fn config(&self) -> &SqliteStoreConfig {
        &self.config
    }

    /// Runs one pruning sweep at `now` (at most [`SWEEP_LIMIT`](Self::SWEEP_LIMIT) rows) and
    /// returns how many rows it deleted.
    pub async fn prune(&self, now: SystemTime) -> Result<u64, StoreError> {
        match self
            .call(Op::Prune {
                now: millis_since_epoch(now),
            })
            .await?
        {
            Reply::Count(count) => Ok(count),
            other => Err(self.unexpected(&other)),
        }
    }

    /// The rows it holds, expired ones included until a sweep deletes them.
    pub async fn row_count(&self) -> Result<u64, StoreError> {
        match self.call(Op::Count).await? {
            Reply::Count(count) => Ok(count),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn start(
        path: Option<Arc<Path>>,
        config: SqliteStoreConfig,
        connect: impl FnOnce() -> rusqlite::Result<Connection> + Send + 'static,
    ) -> Result<Self, StoreError> {
        let name = display(path.as_deref());
        let (requests, receiver) = mpsc::channel(QUEUE);
        let (ready, started) = oneshot::channel();
        std::thread::Builder::new()
            .name("runhook-sqlite".to_owned())
            .spawn(move || {
                match connect()
                    .map_err(Failure::from)
                    .and_then(|connection| prepare(connection, config))
                {
                    Ok(connection) => {
                        if ready.send(Ok(())).is_ok() {
                            serve(connection, receiver);
                        }
                    }
                    Err(failure) => {
                        let _ = ready.send(Err(failure));
                    }
                }
            })
            .map_err(|error| StoreError::Unavailable {
                message: format!("SQLite {name}: cannot start its thread: {error}"),
            })?;
        match started.await {
            Ok(Ok(())) => Ok(SqliteStore {
                requests,
                path,
                config,
            }),
            Ok(Err(Failure { message, .. })) => Err(StoreError::Unavailable {
                message: format!("SQLite {name}: {message}"),
            }),
            Err(_) => Err(StoreError::Unavailable {
                message: format!("SQLite {name}: its thread stopped while opening"),
            }),
        }
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || StoreError::Unavailable {
            message: format!("SQLite {}: its thread stopped", self.name()),
        };
        self.requests
            .send(Request { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(|Failure { message, .. }| StoreError::Unavailable {
                message: format!("SQLite {}: {message}", self.name()),
            })
    }

    async fn settle(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        span: Duration,
        kind: Settle,
    ) -> Result<(), StoreError> {
        let op = Op::Settle {
            key: key.as_str().to_owned(),
            token: token.get(),
            now: millis_since_epoch(now),
            span: millis(span),
            kind,
        };
        match self.call(op).await? {
            Reply::Settled(true) => Ok(()),
            Reply::Settled(false) => Err(StoreError::NotHeld { key: key.clone() }),
            other => Err(self.unexpected(&other)),
        }
    }

    fn name(&self) -> String {
        display(self.path.as_deref())
    }

    fn unexpected(&self, reply: &Reply) -> StoreError {
        StoreError::Unavailable {
            message: format!("SQLite {}: unexpected reply {reply:?}", self.name()),
        }
    }
}

#[async_trait]
impl IdempotencyStore for SqliteStore {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let op = Op::Claim {
            key: key.as_str().to_owned(),
            now: millis_since_epoch(now),
            lease: millis(lease),
        };
        match self.call(op).await? {
            Reply::Claim(claim) => Ok(claim),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        self.settle(key, token, now, retention, Settle::Complete)
            .await
    }

    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        self.settle(key, token, now, Duration::ZERO, Settle::Release)
            .await
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        self.settle(key, token, now, lease, Settle::Renew).await
    }

    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError> {
        let op = Op::State {
            key: key.as_str().to_owned(),
            now: millis_since_epoch(now),
        };
        match self.call(op).await? {
            Reply::State(state) => Ok(state),
            other => Err(self.unexpected(&other)),
        }
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

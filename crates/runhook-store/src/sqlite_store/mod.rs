//! [`SqliteStore`]: an idempotency store in one SQLite file, embedded in the process.

pub(crate) mod ops;

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};

use crate::millis::{millis, millis_since_epoch};
use crate::sqlite::{self, Component, Open, SqliteConfig, Writer};
use ops::{Op, Reply, Settle};

/// A purge runs after every this many claims.
pub(crate) const PURGE_EVERY: u64 = 100;
/// The most rows one purge deletes, so a purge never holds the file for long.
pub(crate) const PURGE_LIMIT: u64 = 1_000;

/// An [`IdempotencyStore`] in one SQLite file (or in memory), for one process, or a few
/// processes on one host sharing the file.
///
/// Each key is a row `(key, done, token, until_ms)`. Every operation is atomic, also against
/// other processes on the same file: it runs inside a `BEGIN IMMEDIATE` transaction, under a
/// savepoint of its own. Tokens come from one counter row, so they are unique per database,
/// across restarts.
///
/// **Which clock decides.** The caller's, as in the in-memory store and `RedisStore`: lease
/// ends and retentions are the `now` passed in plus the lease or retention, stored as integer
/// milliseconds since the epoch. One file used by one process has one clock, so there is no
/// skew; processes on one host share its clock. (Processes on several hosts cannot share a
/// SQLite file safely: use Redis or PostgreSQL there.)
///
/// **Threads.** One connection, owned by a dedicated writer thread fed through a queue of at
/// most [`QUEUE`](crate::sqlite::QUEUE) requests (replies by oneshot): SQLite never blocks the
/// async runtime, writes are serialised without a lock (SQLite has one writer anyway), prepared
/// statements stay cached, and periodic purges run on that thread between requests. The same
/// thread can serve a [`SqliteInbox`](crate::SqliteInbox) on the same file
/// ([`inbox`](Self::inbox)). Every statement waits at most 5 s (`busy_timeout`) for another
/// process's lock, then fails with [`StoreError::Unavailable`].
///
/// **Group commit.** The thread takes every request already queued, up to
/// [`BATCH_LIMIT`](Self::BATCH_LIMIT), and runs them in order in one transaction: each operation
/// stays atomic (its own savepoint) and sees the effects of those before it, and none is answered
/// before the transaction has committed. An operation that fails is undone alone and answers its
/// own error; a failed commit answers every operation of the batch with
/// [`StoreError::Unavailable`]. One caller at a time gets one transaction per operation, as
/// without batching; many concurrent callers share the cost of each commit.
///
/// **Durability.** WAL mode with `synchronous=NORMAL` by default: a commit is atomic and
/// survives a crash of the process; a power loss or OS crash may lose the last transactions
/// before the next WAL checkpoint (never corrupt the file). A lost completion means the key reads
/// as absent or in flight again, so at worst one event is processed twice after a power loss.
/// [`SqliteConfig::synchronous_full`] makes every commit survive a power loss too
/// (`synchronous=FULL`, an fsync per commit), with [`open_with`](Self::open_with).
///
/// **Purging.** Completed keys past their retention, and claims
/// [`PURGE_MARGIN`](crate::PURGE_MARGIN) past their lease (their holder can still complete one
/// until then if nobody took it over), are deleted in purges of at most
/// [`PURGE_LIMIT`](Self::PURGE_LIMIT) rows, run after every [`PURGE_EVERY`](Self::PURGE_EVERY)-th
/// claim with that claim's `now`, or on demand with [`purge`](Self::purge) (which
/// [`Maintenance`](crate::Maintenance) calls when the process is idle). Purging never changes an
/// answer.
///
/// Cloning is cheap and shares the thread; it stops, closing the file, when the last clone (and
/// the last inbox sharing it) is dropped.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Writer,
}

impl SqliteStore {
    /// The schema version of the store's tables this crate writes (the store's row in
    /// `runhook_schema`, also kept as `PRAGMA user_version`).
    pub const SCHEMA_VERSION: i64 = sqlite::version_of(STORE);
    /// A purge runs after every this many claims.
    pub const PURGE_EVERY: u64 = PURGE_EVERY;
    /// The most rows one purge deletes, so a purge never holds the file for long.
    pub const PURGE_LIMIT: u64 = PURGE_LIMIT;
    /// The former name of [`PURGE_EVERY`](Self::PURGE_EVERY).
    #[deprecated(note = "renamed PURGE_EVERY")]
    pub const SWEEP_EVERY: u64 = PURGE_EVERY;
    /// The former name of [`PURGE_LIMIT`](Self::PURGE_LIMIT).
    #[deprecated(note = "renamed PURGE_LIMIT")]
    pub const SWEEP_LIMIT: u64 = PURGE_LIMIT;
    /// The most queued operations one transaction runs (group commit), shared with the inbox.
    pub const BATCH_LIMIT: usize = sqlite::BATCH_LIMIT;

    /// Opens (creating it if absent) the database at `path`, in WAL mode, and creates or
    /// migrates the store's tables, with the default [`SqliteConfig`] (`synchronous=NORMAL`).
    /// Fails at once if the file cannot be opened or has a newer schema.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteConfig::default()).await
    }

    /// Opens the database at `path` with `config`; see [`open`](Self::open).
    pub async fn open_with(
        path: impl AsRef<Path>,
        config: SqliteConfig,
    ) -> Result<Self, StoreError> {
        let writer = Writer::open(Some(path.as_ref()), Open::Create, config, STORE).await?;
        Ok(SqliteStore { writer })
    }

    /// A store in a private in-memory database: nothing survives the store (for tests).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let writer = Writer::open(None, Open::Memory, SqliteConfig::default(), STORE).await?;
        Ok(SqliteStore { writer })
    }

    /// A [`SqliteInbox`](crate::SqliteInbox) on the same file, served by this store's writer
    /// thread (so the store's and the inbox's operations share its group commits); its tables
    /// are created or migrated now.
    pub async fn inbox(&self) -> Result<crate::SqliteInbox, StoreError> {
        crate::SqliteInbox::sharing(self.writer.clone()).await
    }

    /// The [`SqliteReconcileState`](crate::SqliteReconcileState) of `scope` on the same file,
    /// served by this store's writer thread; its tables are created or migrated now.
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

    /// Runs one purge at `now` (at most [`PURGE_LIMIT`](Self::PURGE_LIMIT) rows) and
    /// returns how many rows it deleted.
    pub async fn purge(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now = millis_since_epoch(now);
        match self.call(Op::Purge { now }).await? {
            Reply::Count(count) => Ok(count),
            other => Err(self.unexpected(&other)),
        }
    }

    /// The former name of [`purge`](Self::purge).
    #[deprecated(note = "renamed purge")]
    pub async fn prune(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.purge(now).await
    }

    /// The rows it holds, expired ones included until a purge deletes them.
    pub async fn row_count(&self) -> Result<u64, StoreError> {
        match self.call(Op::Count).await? {
            Reply::Count(count) => Ok(count),
            other => Err(self.unexpected(&other)),
        }
    }

    async fn call(&self, op: Op) -> Result<Reply, StoreError> {
        match self.writer.call(sqlite::Op::Store(op)).await {
            Ok(sqlite::Reply::Store(reply)) => Ok(reply),
            Ok(other) => Err(unavailable(format!(
                "{}: unexpected reply {other:?}",
                self.writer.name()
            ))),
            Err(message) => Err(unavailable(message)),
        }
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
            Reply::Settled(held) => runhook::store::fenced(key, held),
            other => Err(self.unexpected(&other)),
        }
    }

    fn unexpected(&self, reply: &Reply) -> StoreError {
        unavailable(format!(
            "{}: unexpected reply {reply:?}",
            self.writer.name()
        ))
    }
}

/// A message of the writer (naming the file) as the store's error.
fn unavailable(message: String) -> StoreError {
    STORE.error(message)
}

/// The store's tables in the file.
const STORE: Component = Component::Store;

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
            .field("path", &self.writer.path())
            .field("config", self.writer.config())
            .finish_non_exhaustive()
    }
}

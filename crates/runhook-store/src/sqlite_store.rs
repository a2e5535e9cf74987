//! [`SqliteStore`]: an idempotency store in one SQLite file, embedded in the process.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use crate::GC_MARGIN;

/// How long one statement waits for another connection's lock on the file before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests waiting for the writer thread; callers wait (asynchronously) beyond that.
const QUEUE: usize = 1024;

/// The schema, one migration per version: migration `i` takes `user_version` `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: keys (in flight: done = 0, the holder's token and the lease end; done: done = 1 and the
    // end of retention; times in ms since the epoch, by the caller's clock) and the token counter.
    "CREATE TABLE runhook_idempotency (
        key TEXT PRIMARY KEY NOT NULL,
        done INTEGER NOT NULL,
        token INTEGER NOT NULL,
        until_ms INTEGER NOT NULL
     ) WITHOUT ROWID;
     CREATE INDEX runhook_idempotency_expiry ON runhook_idempotency (done, until_ms);
     CREATE TABLE runhook_token (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
     INSERT INTO runhook_token (id, last) VALUES (1, 0);",
];

/// An [`IdempotencyStore`] in one SQLite file (or in memory), for one process, or a few
/// processes on one host sharing the file.
///
/// Each key is a row `(key, done, token, until_ms)`. Claims and settlements are single
/// transactions (`BEGIN IMMEDIATE` for a claim's read-then-write), so every operation is atomic,
/// also against other processes on the same file. Tokens come from one counter row, so they are
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
/// **Durability.** WAL mode with `synchronous=NORMAL`: a commit is atomic and survives a crash
/// of the process; a power loss or OS crash may lose the last transactions before the next WAL
/// checkpoint (never corrupt the file). A lost completion means the key reads as absent or in
/// flight again, so at worst one event is processed twice after a power loss.
///
/// **Pruning.** Completed keys past their retention, and claims [`GC_MARGIN`] past their lease
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
}

impl SqliteStore {
    /// The schema version this store writes (`PRAGMA user_version`).
    pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
    /// A pruning sweep runs after every this many claims.
    pub const SWEEP_EVERY: u64 = 100;
    /// The most rows one sweep deletes, so a sweep never holds the file for long.
    pub const SWEEP_LIMIT: u64 = 1_000;

    /// Opens (creating it if absent) the database at `path`, in WAL mode, and creates or
    /// migrates its schema. Fails at once if the file cannot be opened or has a newer schema.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path: PathBuf = path.as_ref().to_path_buf();
        let opened = path.clone();
        Self::start(Some(path.into()), move || Connection::open(opened)).await
    }

    /// A store in a private in-memory database: nothing survives the store (for tests).
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
        connect: impl FnOnce() -> rusqlite::Result<Connection> + Send + 'static,
    ) -> Result<Self, StoreError> {
        let name = display(path.as_deref());
        let (requests, receiver) = mpsc::channel(QUEUE);
        let (ready, started) = oneshot::channel();
        std::thread::Builder::new()
            .name("runhook-sqlite".to_owned())
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
                message: format!("SQLite {name}: cannot start its thread: {error}"),
            })?;
        match started.await {
            Ok(Ok(())) => Ok(SqliteStore { requests, path }),
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
            .finish_non_exhaustive()
    }
}

// --- The writer thread -------------------------------------------------------------------------

struct Request {
    op: Op,
    reply: oneshot::Sender<Result<Reply, Failure>>,
}

#[derive(Debug, Clone, Copy)]
enum Settle {
    Complete,
    Renew,
    Release,
}

#[derive(Debug)]
enum Op {
    Claim {
        key: String,
        now: i64,
        lease: i64,
    },
    Settle {
        key: String,
        token: u64,
        now: i64,
        span: i64,
        kind: Settle,
    },
    State {
        key: String,
        now: i64,
    },
    Prune {
        now: i64,
    },
    Count,
}

#[derive(Debug)]
enum Reply {
    Claim(Claim),
    Settled(bool),
    State(KeyState),
    Count(u64),
}

/// A SQLite error (or a refused schema), as text: the store adds the file's name.
#[derive(Debug)]
struct Failure {
    message: String,
    /// Another connection held a lock SQLite would not wait for (`SQLITE_BUSY`).
    busy: bool,
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Failure {
            busy: error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy),
            message: error.to_string(),
        }
    }
}

/// Configures a fresh connection and brings its schema to [`SqliteStore::SCHEMA_VERSION`].
///
/// Switching a new file to WAL needs an exclusive lock, for which SQLite does not wait when
/// another connection is opening the same file at that moment (`SQLITE_BUSY` at once): such
/// steps are retried every 10 ms for up to the busy timeout.
fn prepare(mut connection: Connection) -> Result<Connection, Failure> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    let started = Instant::now();
    loop {
        match configure(&mut connection) {
            Ok(()) => return Ok(connection),
            Err(failure) if failure.busy && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(failure) => return Err(failure),
        }
    }
}

fn configure(connection: &mut Connection) -> Result<(), Failure> {
    // In memory the answer is "memory": WAL applies to files only.
    let _mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(connection)
}

/// Runs the missing migrations in one `BEGIN IMMEDIATE` transaction: of two processes opening
/// one new file at once, the second waits for the first, then finds the schema current.
fn migrate(connection: &mut Connection) -> Result<(), Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > SqliteStore::SCHEMA_VERSION {
        return Err(Failure {
            message: format!(
                "the schema is version {version}, newer than this runhook-store's ({}): upgrade \
                 runhook-store",
                SqliteStore::SCHEMA_VERSION
            ),
            busy: false,
        });
    }
    let from = usize::try_from(version.max(0)).unwrap_or_default();
    for migration in &MIGRATIONS[from..] {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION)?;
    transaction.commit()?;
    Ok(())
}

/// Answers requests until every store handle is dropped, sweeping after every
/// [`SqliteStore::SWEEP_EVERY`]-th claim (after replying, so the claim does not wait for it).
fn serve(mut connection: Connection, mut requests: mpsc::Receiver<Request>) {
    let mut claims: u64 = 0;
    while let Some(Request { op, reply }) = requests.blocking_recv() {
        let mut sweep_at = None;
        let result = match op {
            Op::Claim { key, now, lease } => {
                claims += 1;
                if claims.is_multiple_of(SqliteStore::SWEEP_EVERY) {
                    sweep_at = Some(now);
                }
                claim(&mut connection, &key, now, lease).map(Reply::Claim)
            }
            Op::Settle {
                key,
                token,
                now,
                span,
                kind,
            } => settle(&connection, &key, token, now, span, kind).map(Reply::Settled),
            Op::State { key, now } => state(&connection, &key, now).map(Reply::State),
            Op::Prune { now } => prune(&connection, now).map(Reply::Count),
            Op::Count => count(&connection).map(Reply::Count),
        };
        // The caller may have given up waiting; the work is done either way.
        let _ = reply.send(result);
        if let Some(now) = sweep_at {
            // A failed sweep (the file busy) is retried by the next one.
            let _ = prune(&connection, now);
        }
    }
}

fn claim(connection: &mut Connection, key: &str, now: i64, lease: i64) -> Result<Claim, Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row: Option<(bool, i64)> = transaction
        .prepare_cached("SELECT done, until_ms FROM runhook_idempotency WHERE key = ?1")?
        .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if let Some((done, until)) = row
        && until > now
    {
        return Ok(if done {
            Claim::Done
        } else {
            Claim::InFlight {
                retry_after: Duration::from_millis((until - now).unsigned_abs()),
            }
        });
    }
    let token: i64 = transaction
        .prepare_cached("UPDATE runhook_token SET last = last + 1 WHERE id = 1 RETURNING last")?
        .query_row([], |row| row.get(0))?;
    transaction
        .prepare_cached(
            "INSERT INTO runhook_idempotency (key, done, token, until_ms) VALUES (?1, 0, ?2, ?3)
             ON CONFLICT (key) DO UPDATE
             SET done = 0, token = excluded.token, until_ms = excluded.until_ms",
        )?
        .execute(params![key, token, now.saturating_add(lease)])?;
    transaction.commit()?;
    Ok(Claim::Acquired(ClaimToken::new(token.unsigned_abs())))
}

/// Completes, renews or releases the claim `token` holds: `false` if it holds none (also after
/// a takeover, or once the key is done). One statement, so atomic without a transaction.
fn settle(
    connection: &Connection,
    key: &str,
    token: u64,
    now: i64,
    span: i64,
    kind: Settle,
) -> Result<bool, Failure> {
    let Ok(token) = i64::try_from(token) else {
        return Ok(false);
    };
    let until = now.saturating_add(span);
    let changed = match kind {
        Settle::Complete => connection
            .prepare_cached(
                "UPDATE runhook_idempotency SET done = 1, until_ms = ?3
                 WHERE key = ?1 AND done = 0 AND token = ?2",
            )?
            .execute(params![key, token, until])?,
        Settle::Renew => connection
            .prepare_cached(
                "UPDATE runhook_idempotency SET until_ms = ?3
                 WHERE key = ?1 AND done = 0 AND token = ?2",
            )?
            .execute(params![key, token, until])?,
        Settle::Release => connection
            .prepare_cached(
                "DELETE FROM runhook_idempotency WHERE key = ?1 AND done = 0 AND token = ?2",
            )?
            .execute(params![key, token])?,
    };
    Ok(changed == 1)
}

fn state(connection: &Connection, key: &str, now: i64) -> Result<KeyState, Failure> {
    let row: Option<(bool, i64)> = connection
        .prepare_cached("SELECT done, until_ms FROM runhook_idempotency WHERE key = ?1")?
        .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((true, until)) if until > now => KeyState::Done,
        Some((false, until)) if until > now => KeyState::InFlight,
        _ => KeyState::Absent,
    })
}

/// One sweep: completed keys past their retention, then claims [`GC_MARGIN`] past their lease,
/// at most [`SqliteStore::SWEEP_LIMIT`] rows in all (each an index range on `(done, until_ms)`).
fn prune(connection: &Connection, now: i64) -> Result<u64, Failure> {
    let limit = i64::try_from(SqliteStore::SWEEP_LIMIT).unwrap_or(i64::MAX);
    let sweep = |done: bool, before: i64, limit: i64| -> Result<i64, Failure> {
        let deleted = connection
            .prepare_cached(
                "DELETE FROM runhook_idempotency WHERE key IN (
                   SELECT key FROM runhook_idempotency
                   WHERE done = ?1 AND until_ms <= ?2 LIMIT ?3)",
            )?
            .execute(params![done, before, limit])?;
        Ok(i64::try_from(deleted).unwrap_or(i64::MAX))
    };
    let done = sweep(true, now, limit)?;
    let mut deleted = done;
    if done < limit {
        deleted += sweep(false, now.saturating_sub(millis(GC_MARGIN)), limit - done)?;
    }
    Ok(deleted.unsigned_abs())
}

fn count(connection: &Connection) -> Result<u64, Failure> {
    let rows: i64 =
        connection.query_row("SELECT COUNT(*) FROM runhook_idempotency", [], |row| {
            row.get(0)
        })?;
    Ok(rows.unsigned_abs())
}

fn display(path: Option<&Path>) -> String {
    path.map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string())
}

/// A span in ms, capped so that adding it to any time since the epoch cannot overflow.
fn millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX / 4)
}

fn millis_since_epoch(now: SystemTime) -> i64 {
    millis(now.duration_since(UNIX_EPOCH).unwrap_or_default())
}

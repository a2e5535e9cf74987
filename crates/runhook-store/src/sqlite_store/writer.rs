//! The writer thread: one SQLite connection, the requests it serves, and the schema.

use std::path::Path;
use std::time::{Duration, Instant};

use runhook::store::{Claim, ClaimToken, KeyState};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::{mpsc, oneshot};

use super::SqliteStore;
use crate::GC_MARGIN;
pub(super) use crate::millis::{millis, millis_since_epoch};

/// How long one statement waits for another connection's lock on the file before it fails.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests waiting for the writer thread; callers wait (asynchronously) beyond that.
pub(super) const QUEUE: usize = 1024;

/// The schema, one migration per version: migration `i` takes `user_version` `i` to `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
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

pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<Reply, Failure>>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Settle {
    Complete,
    Renew,
    Release,
}

#[derive(Debug)]
pub(super) enum Op {
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
pub(super) enum Reply {
    Claim(Claim),
    Settled(bool),
    State(KeyState),
    Count(u64),
}

/// A SQLite error (or a refused schema), as text: the store adds the file's name.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) message: String,
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
pub(super) fn prepare(mut connection: Connection) -> Result<Connection, Failure> {
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

pub(super) fn configure(connection: &mut Connection) -> Result<(), Failure> {
    // In memory the answer is "memory": WAL applies to files only.
    let _mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(connection)
}

/// Runs the missing migrations in one `BEGIN IMMEDIATE` transaction: of two processes opening
/// one new file at once, the second waits for the first, then finds the schema current.
pub(super) fn migrate(connection: &mut Connection) -> Result<(), Failure> {
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
pub(super) fn serve(mut connection: Connection, mut requests: mpsc::Receiver<Request>) {
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

pub(super) fn claim(
    connection: &mut Connection,
    key: &str,
    now: i64,
    lease: i64,
) -> Result<Claim, Failure> {
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
pub(super) fn settle(
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

pub(super) fn state(connection: &Connection, key: &str, now: i64) -> Result<KeyState, Failure> {
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
pub(super) fn prune(connection: &Connection, now: i64) -> Result<u64, Failure> {
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

pub(super) fn count(connection: &Connection) -> Result<u64, Failure> {
    let rows: i64 =
        connection.query_row("SELECT COUNT(*) FROM runhook_idempotency", [], |row| {
            row.get(0)
        })?;
    Ok(rows.unsigned_abs())
}

pub(super) fn display(path: Option<&Path>) -> String {
    path.map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string())
}

//! The writer thread: one SQLite connection and the requests it serves, several per transaction
//! (group commit).

use std::path::Path;

use runhook::store::{Claim, KeyState};
use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{SqliteStore, ops};

/// Requests waiting for the writer thread; callers wait (asynchronously) beyond that.
pub(super) const QUEUE: usize = 1024;

/// One caller's operation and where its answer goes.
pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<Reply, Failure>>,
}

/// What a settlement does to the claim its token holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum Settle {
    Complete,
    Renew,
    Release,
}

/// An operation, with times in ms since the epoch.
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

impl Op {
    /// Whether it may write (so its transaction takes the write lock at `BEGIN`).
    fn writes(&self) -> bool {
        matches!(
            self,
            Op::Claim { .. } | Op::Settle { .. } | Op::Prune { .. }
        )
    }
}

/// An operation's answer.
#[derive(Debug)]
pub(super) enum Reply {
    Claim(Claim),
    Settled(bool),
    State(KeyState),
    Count(u64),
}

/// A SQLite error (or a refused schema), as text: the store adds the file's name.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) message: String,
    /// Another connection held a lock SQLite would not wait for (`SQLITE_BUSY`).
    pub(super) busy: bool,
}

impl Failure {
    pub(super) fn new(message: String) -> Self {
        Failure {
            message,
            busy: false,
        }
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(error: rusqlite::Error) -> Self {
        Failure {
            busy: error.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy),
            message: error.to_string(),
        }
    }
}

/// An operation's answer, held until its transaction commits.
type Answer = (
    oneshot::Sender<Result<Reply, Failure>>,
    Result<Reply, Failure>,
);

/// Answers requests until every store handle is dropped.
///
/// **Group commit.** The thread takes whatever is queued, up to
/// [`SqliteStore::BATCH_LIMIT`] requests (at least one, waiting for it), and runs them in order
/// in one transaction, so their commit (and with `synchronous=FULL` its fsync) is shared. Each
/// operation sees the effects of those before it, and answers only once the transaction has
/// committed, so no caller hears of a write that could still be undone.
///
/// A pruning sweep follows every [`SqliteStore::SWEEP_EVERY`]-th claim, after the batch holding
/// it is answered (so no claim waits for it).
pub(super) fn serve(connection: Connection, mut requests: mpsc::Receiver<Request>) {
    let mut claims: u64 = 0;
    let mut batch = Vec::with_capacity(SqliteStore::BATCH_LIMIT);
    while requests.blocking_recv_many(&mut batch, SqliteStore::BATCH_LIMIT) > 0 {
        let mut sweep_at = None;
        for request in &batch {
            if let Op::Claim { now, .. } = request.op {
                claims += 1;
                if claims.is_multiple_of(SqliteStore::SWEEP_EVERY) {
                    sweep_at = Some(now);
                }
            }
        }
        for (reply, result) in run_batch(&connection, &mut batch) {
            // The caller may have given up waiting; the work is done either way.
            let _ = reply.send(result);
        }
        if let Some(now) = sweep_at {
            // A failed sweep (the file busy) is retried by the next one.
            let _ = ops::prune(&connection, now);
        }
    }
}

/// Runs the requests of `batch` in order in one transaction (`BEGIN IMMEDIATE` if any may
/// write) and returns their answers, to be sent now that it has committed (or failed).
///
/// An operation that fails is undone alone (by its savepoint, or by SQLite's own undo of a
/// failed statement) and answers its error; the others go on. If SQLite rolled the whole
/// transaction back on that error (I/O error, disk full), the operations before it answer an
/// error too, and the rest run in a new transaction. If `BEGIN` or `COMMIT` fails, every
/// operation of that transaction answers an error.
pub(super) fn run_batch(connection: &Connection, batch: &mut Vec<Request>) -> Vec<Answer> {
    let begin = if batch.iter().any(|request| request.op.writes()) {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN DEFERRED"
    };
    let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
    let mut requests = batch.drain(..);
    while requests.len() > 0 {
        // One transaction, until the requests run out or SQLite rolls it back.
        let first = answers.len();
        if let Err(failure) = execute(connection, begin) {
            let failure = Failure::new(format!("cannot begin a transaction: {}", failure.message));
            answers.extend(
                requests
                    .by_ref()
                    .map(|request| (request.reply, Err(failure.clone()))),
            );
            break;
        }
        let mut rolled_back = false;
        for Request { op, reply } in requests.by_ref() {
            let result = apply(connection, op);
            rolled_back = result.is_err() && connection.is_autocommit();
            answers.push((reply, result));
            if rolled_back {
                break;
            }
        }
        if rolled_back {
            // The failing operation's own answer is its error; those before it were undone.
            let last = answers.len().saturating_sub(1);
            let cause = answers
                .last()
                .and_then(|(_, result)| result.as_ref().err())
                .map_or_else(String::new, |failure| failure.message.clone());
            let undone = Failure::new(format!(
                "rolled back with its transaction on another operation's error: {cause}"
            ));
            for (_, result) in &mut answers[first..last] {
                if result.is_ok() {
                    *result = Err(undone.clone());
                }
            }
            continue;
        }
        if let Err(failure) = execute(connection, "COMMIT") {
            if !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            let failed = Failure::new(format!(
                "the commit of {} operations failed: {}",
                answers.len() - first,
                failure.message
            ));
            for (_, result) in &mut answers[first..] {
                *result = Err(failed.clone());
            }
        }
        break;
    }
    answers
}

/// Runs one operation inside the open transaction.
fn apply(connection: &Connection, op: Op) -> Result<Reply, Failure> {
    match op {
        Op::Claim { key, now, lease } => {
            atomically(connection, || ops::claim(connection, &key, now, lease)).map(Reply::Claim)
        }
        Op::Settle {
            key,
            token,
            now,
            span,
            kind,
        } => ops::settle(connection, &key, token, now, span, kind).map(Reply::Settled),
        Op::State { key, now } => ops::state(connection, &key, now).map(Reply::State),
        Op::Prune { now } => {
            atomically(connection, || ops::prune(connection, now)).map(Reply::Count)
        }
        Op::Count => ops::count(connection).map(Reply::Count),
    }
}

/// Runs `body` (several statements) in a savepoint: all of it or, on an error, none of it,
/// while the transaction goes on. If even the savepoint cannot be rolled back, the whole
/// transaction is, so nothing half done is ever committed.
fn atomically<T>(
    connection: &Connection,
    body: impl FnOnce() -> Result<T, Failure>,
) -> Result<T, Failure> {
    execute(connection, "SAVEPOINT runhook_op")?;
    let result = body().and_then(|value| {
        execute(connection, "RELEASE runhook_op")?;
        Ok(value)
    });
    if result.is_err()
        && !connection.is_autocommit()
        && connection
            .execute_batch("ROLLBACK TO runhook_op; RELEASE runhook_op")
            .is_err()
    {
        let _ = connection.execute_batch("ROLLBACK");
    }
    result
}

/// Runs one statement that returns no rows, prepared once.
fn execute(connection: &Connection, sql: &str) -> Result<(), Failure> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}

/// The file's name for messages: its path, or `:memory:`.
pub(super) fn display(path: Option<&Path>) -> String {
    path.map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string())
}

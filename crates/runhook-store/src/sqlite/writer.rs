//! The writer thread: one SQLite connection and the requests it serves, several per transaction
//! (group commit), each operation under its own savepoint.

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{BATCH_LIMIT, Op, Reply, Request};
use crate::sqlite_store;

/// A SQLite error (or a refused schema), as text: the store or inbox adds the file's name.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) message: String,
    /// Another connection held a lock SQLite would not wait for (`SQLITE_BUSY`).
    pub(crate) busy: bool,
}

impl Failure {
    pub(crate) fn new(message: String) -> Self {
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
pub(crate) type Answer = (
    oneshot::Sender<Result<Reply, Failure>>,
    Result<Reply, Failure>,
);

/// Answers requests until every handle on the writer is dropped.
///
/// **Group commit.** The thread takes whatever is queued, up to [`BATCH_LIMIT`] requests (at
/// least one, waiting for it), and runs them in order in one transaction, so their commit (and
/// with `synchronous=FULL` its fsync) is shared. Each operation sees the effects of those before
/// it, and answers only once the transaction has committed, so no caller hears of a write that
/// could still be undone.
///
/// A store purge follows every [`SqliteStore::PURGE_EVERY`](crate::SqliteStore)-th
/// claim, after the batch holding it is answered (so no claim waits for it).
pub(crate) fn serve(connection: Connection, mut requests: mpsc::Receiver<Request>) {
    let mut claims: u64 = 0;
    let mut batch = Vec::with_capacity(BATCH_LIMIT);
    while requests.blocking_recv_many(&mut batch, BATCH_LIMIT) > 0 {
        let mut purge_at = None;
        for request in &batch {
            if let Op::Store(op) = &request.op
                && let Some(now) = op.claimed_at()
            {
                claims += 1;
                if claims.is_multiple_of(sqlite_store::PURGE_EVERY) {
                    purge_at = Some(now);
                }
            }
        }
        for (reply, result) in run_batch(&connection, &mut batch) {
            // The caller may have given up waiting; the work is done either way.
            let _ = reply.send(result);
        }
        if let Some(now) = purge_at {
            // A failed purge (the file busy) is retried by the next one.
            let _ = sqlite_store::ops::purge(&connection, now);
        }
    }
}

/// Runs the requests of `batch` in order in one transaction (`BEGIN IMMEDIATE` if any may
/// write) and returns their answers, to be sent now that it has committed (or failed).
///
/// Each operation runs under its own savepoint: one that fails is undone alone and answers its
/// error; the others go on. If SQLite rolled the whole transaction back on that error (I/O
/// error, disk full), the operations before it answer an error too, and the rest run in a new
/// transaction. If `BEGIN` or `COMMIT` fails, every operation of that transaction answers an
/// error.
pub(crate) fn run_batch(connection: &Connection, batch: &mut Vec<Request>) -> Vec<Answer> {
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
            let result = atomically(connection, |connection| op.run(connection));
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

/// Runs `body` in a savepoint: all of it or, on an error, none of it, while the transaction goes
/// on. If even the savepoint cannot be rolled back, the whole transaction is, so nothing half
/// done is ever committed.
fn atomically<T>(
    connection: &Connection,
    body: impl FnOnce(&Connection) -> Result<T, Failure>,
) -> Result<T, Failure> {
    execute(connection, "SAVEPOINT runhook_op")?;
    let result = body(connection).and_then(|value| {
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
pub(crate) fn execute(connection: &Connection, sql: &str) -> Result<(), Failure> {
    connection.prepare_cached(sql)?.execute([])?;
    Ok(())
}

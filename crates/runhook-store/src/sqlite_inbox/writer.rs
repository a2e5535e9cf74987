//! The writer thread of [`SqliteInbox`](super::SqliteInbox): one connection, the schema, and
//! group commit.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::ops::{self, Op, Reply};

/// How long one statement waits for another connection's lock on the file before it fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Requests waiting for the writer thread; callers wait (asynchronously) beyond that.
pub(super) const QUEUE: usize = 4096;
/// The most operations one transaction groups.
pub(super) const MAX_GROUP: usize = 1024;

/// The inbox's name in `runhook_schema`, the version table of components that share a file.
const COMPONENT: &str = "inbox";

/// The schema, one migration per version: migration `i` takes the inbox from version `i` to
/// `i + 1`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the rows (times in ms since the epoch, by the caller's clock; drift as JSON text),
    // their indexes for claims and runs, and the token counter.
    "CREATE TABLE runhook_inbox (
        key TEXT PRIMARY KEY NOT NULL,
        run_id TEXT,
        event TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        body BLOB NOT NULL,
        drift TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
        attempts INTEGER NOT NULL,
        next_at INTEGER NOT NULL,
        lease_until INTEGER,
        token INTEGER NOT NULL,
        last_error TEXT,
        finished_at INTEGER
     );
     CREATE INDEX runhook_inbox_due ON runhook_inbox (state, next_at);
     CREATE INDEX runhook_inbox_run ON runhook_inbox (run_id, state, received_at, key);
     CREATE TABLE runhook_inbox_token (id INTEGER PRIMARY KEY CHECK (id = 1), last INTEGER NOT NULL);
     INSERT INTO runhook_inbox_token (id, last) VALUES (1, 0);",
    // 2: claims walk the pending rows in the order they are due and stop at the limit, whatever
    // the backlog (the index of version 1 made every claim sort every pending row); purges find
    // finished rows by state and finish time.
    "DROP INDEX runhook_inbox_due;
     CREATE INDEX runhook_inbox_pending ON runhook_inbox (next_at, key) WHERE state = 'pending';
     CREATE INDEX runhook_inbox_finished ON runhook_inbox (state, finished_at)
       WHERE finished_at IS NOT NULL;",
];

/// The schema version this inbox writes.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// An operation and where its answer goes.
pub(super) struct Request {
    pub(super) op: Op,
    pub(super) reply: oneshot::Sender<Result<Reply, Failure>>,
}

/// A SQLite error (or a refused schema), as text: the inbox adds the file's name.
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub(super) message: String,
    /// Another connection held a lock SQLite would not wait for (`SQLITE_BUSY`).
    busy: bool,
}

impl Failure {
    fn new(message: String) -> Self {
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

/// Configures a fresh connection (WAL, `synchronous=NORMAL`) and brings the inbox's schema to
/// [`SCHEMA_VERSION`]. Steps that SQLite refuses at once with `SQLITE_BUSY` (switching a new
/// file to WAL while another connection opens it) are retried every 10 ms for up to the busy
/// timeout.
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

fn configure(connection: &mut Connection) -> Result<(), Failure> {
    // In memory the answer is "memory": WAL applies to files only.
    let _mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    migrate(connection)
}

/// Runs the missing migrations in one `BEGIN IMMEDIATE` transaction. The inbox's version is its
/// row in `runhook_schema (component, version)`, not `PRAGMA user_version` (which
/// [`SqliteStore`](crate::SqliteStore) keeps for its own tables), so both can share one file.
fn migrate(connection: &mut Connection) -> Result<(), Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    transaction.execute_batch(
        "CREATE TABLE IF NOT EXISTS runhook_schema (
            component TEXT PRIMARY KEY NOT NULL,
            version INTEGER NOT NULL
         ) WITHOUT ROWID",
    )?;
    let version: i64 = transaction
        .query_row(
            "SELECT version FROM runhook_schema WHERE component = ?1",
            [COMPONENT],
            |row| row.get(0),
        )
        .optional()?
        .unwrap_or(0);
    if version > SCHEMA_VERSION {
        return Err(Failure::new(format!(
            "the inbox schema is version {version}, newer than this runhook-store's \
             ({SCHEMA_VERSION}): upgrade runhook-store"
        )));
    }
    let from = usize::try_from(version.max(0)).unwrap_or_default();
    for migration in &MIGRATIONS[from..] {
        transaction.execute_batch(migration)?;
    }
    transaction.execute(
        "INSERT INTO runhook_schema (component, version) VALUES (?1, ?2)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version",
        rusqlite::params![COMPONENT, SCHEMA_VERSION],
    )?;
    transaction.commit()?;
    Ok(())
}

/// Answers requests until every inbox handle is dropped. Group commit: whatever is queued when
/// the thread is free (up to [`MAX_GROUP`] operations) runs in one transaction, and each caller
/// is answered once it commits.
pub(super) fn serve(mut connection: Connection, mut requests: mpsc::Receiver<Request>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = requests.blocking_recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let results = match run_group(&mut connection, &group) {
            Ok(results) => results,
            Err(failure) => group.iter().map(|_| Err(failure.clone())).collect(),
        };
        for (request, result) in group.drain(..).zip(results) {
            // The caller may have given up waiting; the work is done either way.
            let _ = request.reply.send(result);
        }
    }
}

/// Runs `group` in one transaction: each operation's answer, or one failure for all of them if
/// the transaction could not start, was rolled back by a failing operation, or did not commit
/// (then nothing of the group was written).
fn run_group(
    connection: &mut Connection,
    group: &[Request],
) -> Result<Vec<Result<Reply, Failure>>, Failure> {
    let count = group.len();
    let mut transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut results = Vec::with_capacity(count);
    for request in group {
        let result = ops::execute(&mut transaction, &request.op);
        if let Err(failure) = &result
            && transaction.is_autocommit()
        {
            // SQLite rolled the whole transaction back (an I/O error, a full disk…).
            return Err(Failure::new(format!(
                "a transaction of {count} operations was rolled back: {}",
                failure.message
            )));
        }
        results.push(result);
    }
    transaction.commit().map_err(|error| {
        Failure::new(format!(
            "the commit of a transaction of {count} operations failed: {error}"
        ))
    })?;
    Ok(results)
}

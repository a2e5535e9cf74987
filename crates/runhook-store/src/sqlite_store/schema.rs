//! The schema of a store's file, and how a fresh connection is configured and migrated.

use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::writer::Failure;
use super::{SqliteStore, SqliteStoreConfig};

/// How long one statement waits for another connection's lock on the file before it fails.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Room for every statement the writer prepares (the store's SQL and its transaction control).
const STATEMENT_CACHE: usize = 32;

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

/// Configures a fresh connection and brings its schema to [`SqliteStore::SCHEMA_VERSION`].
///
/// Switching a new file to WAL needs an exclusive lock, for which SQLite does not wait when
/// another connection is opening the same file at that moment (`SQLITE_BUSY` at once): such
/// steps are retried every 10 ms for up to the busy timeout.
pub(super) fn prepare(
    mut connection: Connection,
    config: SqliteStoreConfig,
) -> Result<Connection, Failure> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let started = Instant::now();
    loop {
        match configure(&mut connection, config) {
            Ok(()) => return Ok(connection),
            Err(failure) if failure.busy && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(failure) => return Err(failure),
        }
    }
}

fn configure(connection: &mut Connection, config: SqliteStoreConfig) -> Result<(), Failure> {
    // In memory the answer is "memory": WAL applies to files only.
    let _mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    let synchronous = if config.synchronous_full {
        "FULL"
    } else {
        "NORMAL"
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    migrate(connection)
}

/// Runs the missing migrations in one `BEGIN IMMEDIATE` transaction: of two processes opening
/// one new file at once, the second waits for the first, then finds the schema current.
fn migrate(connection: &mut Connection) -> Result<(), Failure> {
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let version: i64 = transaction.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if version > SqliteStore::SCHEMA_VERSION {
        return Err(Failure::new(format!(
            "the schema is version {version}, newer than this runhook-store's ({}): upgrade \
             runhook-store",
            SqliteStore::SCHEMA_VERSION
        )));
    }
    let from = usize::try_from(version.max(0)).unwrap_or_default();
    for migration in &MIGRATIONS[from..] {
        transaction.execute_batch(migration)?;
    }
    transaction.pragma_update(None, "user_version", SqliteStore::SCHEMA_VERSION)?;
    transaction.commit()?;
    Ok(())
}

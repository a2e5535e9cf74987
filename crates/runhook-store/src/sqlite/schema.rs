//! How a fresh connection is configured, and the one migrator of every SQLite component's
//! tables: migrations are the `.sql` files under `migrations/sqlite/<component>/`, and each
//! component's version is its row in `runhook_schema (component, version)`.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension, params};

use super::SqliteConfig;
use super::writer::Failure;

/// How long one statement waits for another connection's lock on the file before it fails.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Room for every statement the writer prepares (the store's and inbox's SQL and the
/// transaction control).
const STATEMENT_CACHE: usize = 64;

/// A set of tables that share a file, each with its own version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Component {
    /// [`SqliteStore`](crate::SqliteStore)'s tables.
    Store,
    /// [`SqliteInbox`](crate::SqliteInbox)'s tables.
    Inbox,
    /// [`SqliteReconcileState`](crate::SqliteReconcileState)'s tables (every scope's).
    Reconcile,
}

/// The idempotency store's migrations: migration `i` takes it from version `i` to `i + 1`.
const STORE: &[&str] = &[include_str!("../../migrations/sqlite/store/0001_keys.sql")];

/// The inbox's migrations.
const INBOX: &[&str] = &[
    include_str!("../../migrations/sqlite/inbox/0001_rows.sql"),
    include_str!("../../migrations/sqlite/inbox/0002_pending_index.sql"),
    include_str!("../../migrations/sqlite/inbox/0003_source.sql"),
    include_str!("../../migrations/sqlite/inbox/0004_console.sql"),
];

/// The reconcile state's migrations.
const RECONCILE: &[&str] = &[include_str!(
    "../../migrations/sqlite/reconcile/0001_state.sql"
)];

impl Component {
    /// Its name in `runhook_schema`, and in messages.
    fn name(self) -> &'static str {
        match self {
            Component::Store => "store",
            Component::Inbox => "inbox",
            Component::Reconcile => "reconcile",
        }
    }

    /// A message of the writer (naming the file) as this component's error.
    pub(crate) fn error(self, message: String) -> runhook::StoreError {
        let component = match self {
            Component::Store => "SQLite",
            Component::Inbox => "SQLite inbox",
            Component::Reconcile => "SQLite reconcile state",
        };
        runhook::StoreError::Unavailable {
            message: format!("{component} {message}"),
        }
    }

    fn migrations(self) -> &'static [&'static str] {
        match self {
            Component::Store => STORE,
            Component::Inbox => INBOX,
            Component::Reconcile => RECONCILE,
        }
    }
}

/// The version of `component`'s tables this crate writes.
pub(crate) const fn version_of(component: Component) -> i64 {
    match component {
        Component::Store => STORE.len() as i64,
        Component::Inbox => INBOX.len() as i64,
        Component::Reconcile => RECONCILE.len() as i64,
    }
}

/// Configures a fresh connection: busy timeout, WAL, the durability of `config`.
///
/// Switching a new file to WAL needs an exclusive lock, for which SQLite does not wait when
/// another connection is opening the same file at that moment (`SQLITE_BUSY` at once): this is
/// retried every 10 ms for up to the busy timeout.
pub(crate) fn prepare(connection: Connection, config: SqliteConfig) -> Result<Connection, Failure> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let started = Instant::now();
    loop {
        match configure(&connection, config) {
            Ok(()) => return Ok(connection),
            Err(failure) if failure.busy && started.elapsed() < BUSY_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(failure) => return Err(failure),
        }
    }
}

fn configure(connection: &Connection, config: SqliteConfig) -> Result<(), Failure> {
    // In memory the answer is "memory": WAL applies to files only.
    let _mode: String =
        connection.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    let synchronous = if config.synchronous_full {
        "FULL"
    } else {
        "NORMAL"
    };
    connection.pragma_update(None, "synchronous", synchronous)?;
    Ok(())
}

/// Runs `component`'s missing migrations, in the writer's open `BEGIN IMMEDIATE` transaction: of
/// two processes opening one new file at once, the second waits for the first, then finds the
/// schema current. Refuses tables of a newer version.
///
/// The store's version before `runhook_schema` held it was `PRAGMA user_version`: the later of
/// its row and `user_version` counts, and both are written, so that an older runhook-store
/// reading the file finds its version.
pub(crate) fn migrate(connection: &Connection, component: Component) -> Result<(), Failure> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS runhook_schema (
            component TEXT PRIMARY KEY NOT NULL,
            version INTEGER NOT NULL
         ) WITHOUT ROWID",
    )?;
    let recorded: Option<i64> = connection
        .query_row(
            "SELECT version FROM runhook_schema WHERE component = ?1",
            [component.name()],
            |row| row.get(0),
        )
        .optional()?;
    let mut version = recorded.unwrap_or(0);
    if component == Component::Store {
        // The later of the two: a file an earlier release wrote has only `user_version`.
        let user_version: i64 =
            connection.query_row("PRAGMA user_version", [], |row| row.get(0))?;
        version = version.max(user_version);
    }
    let current = version_of(component);
    if version > current {
        return Err(Failure::new(format!(
            "the {} schema is version {version}, newer than this runhook-store's ({current}): \
             upgrade runhook-store",
            component.name()
        )));
    }
    let from = usize::try_from(version.max(0)).unwrap_or_default();
    for migration in component.migrations().get(from..).unwrap_or_default() {
        connection.execute_batch(migration)?;
    }
    connection.execute(
        "INSERT INTO runhook_schema (component, version) VALUES (?1, ?2)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version",
        params![component.name(), current],
    )?;
    if component == Component::Store {
        connection.pragma_update(None, "user_version", current)?;
    }
    Ok(())
}

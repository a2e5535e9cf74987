//! What the SQLite store and inbox share: one writer thread per opened file, its group commit,
//! the file's configuration and its migrator.

mod config;
mod schema;
#[cfg(test)]
mod tests;
mod writer;

use std::path::Path;
use std::sync::Arc;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::{mpsc, oneshot};

pub use config::SqliteConfig;
#[allow(deprecated)]
pub use config::SqliteStoreConfig;
#[cfg(test)]
pub(crate) use schema::migrate;
pub(crate) use schema::{Component, version_of};
pub(crate) use writer::Failure;

use crate::{sqlite_inbox, sqlite_reconcile, sqlite_store};

/// Requests waiting for the writer thread, at most; a caller beyond that waits (asynchronously)
/// for room.
pub const QUEUE: usize = 4096;

/// The most queued operations the writer runs in one transaction (group commit).
pub const BATCH_LIMIT: usize = 256;

/// An operation of the store, the inbox or a reconcile state, or a migration, with its times in
/// milliseconds.
#[derive(Debug)]
pub(crate) enum Op {
    Store(sqlite_store::ops::Op),
    Inbox(sqlite_inbox::ops::Op),
    Reconcile(sqlite_reconcile::ops::Op),
    /// Brings a component's tables to the version this crate writes.
    Migrate(Component),
}

/// An operation's answer.
#[derive(Debug)]
pub(crate) enum Reply {
    Store(sqlite_store::ops::Reply),
    Inbox(sqlite_inbox::ops::Reply),
    Reconcile(sqlite_reconcile::ops::Reply),
    Migrated,
}

impl Op {
    /// Whether it may write (so its transaction takes the write lock at `BEGIN`).
    fn writes(&self) -> bool {
        match self {
            Op::Store(op) => op.writes(),
            Op::Inbox(op) => op.writes(),
            Op::Reconcile(op) => op.writes(),
            Op::Migrate(_) => true,
        }
    }

    /// Runs it inside the writer's open transaction (and its own savepoint).
    fn run(self, connection: &Connection) -> Result<Reply, Failure> {
        match self {
            Op::Store(op) => sqlite_store::ops::apply(connection, op).map(Reply::Store),
            Op::Inbox(op) => sqlite_inbox::ops::apply(connection, op).map(Reply::Inbox),
            Op::Reconcile(op) => sqlite_reconcile::ops::apply(connection, op).map(Reply::Reconcile),
            Op::Migrate(component) => {
                schema::migrate(connection, component).map(|()| Reply::Migrated)
            }
        }
    }
}

/// One caller's operation and where its answer goes.
pub(crate) struct Request {
    pub(crate) op: Op,
    pub(crate) reply: oneshot::Sender<Result<Reply, Failure>>,
}

/// A handle on the writer thread of one opened file: cheap to clone; the thread stops, closing
/// the file, when the last handle is dropped.
#[derive(Clone)]
pub(crate) struct Writer {
    requests: mpsc::Sender<Request>,
    path: Option<Arc<Path>>,
    config: SqliteConfig,
}

/// How the file is opened.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Open {
    /// Created if absent.
    Create,
    /// An error if absent.
    Existing,
    /// A private in-memory database.
    Memory,
}

impl Writer {
    /// Opens the file at `path` (`None` with [`Open::Memory`]) on a new writer thread, with
    /// `config`, and migrates `component`'s tables; a failure is
    /// [`StoreError::Unavailable`](runhook::StoreError::Unavailable), naming the component and
    /// the file.
    pub(crate) async fn open(
        path: Option<&Path>,
        open: Open,
        config: SqliteConfig,
        component: Component,
    ) -> Result<Self, runhook::StoreError> {
        Self::start(path, open, config, component)
            .await
            .map_err(|message| component.error(message))
    }

    async fn start(
        path: Option<&Path>,
        open: Open,
        config: SqliteConfig,
        component: Component,
    ) -> Result<Self, String> {
        let path: Option<Arc<Path>> = path.map(Arc::from);
        let name = display(path.as_deref());
        if let (Open::Existing, Some(path)) = (open, path.as_deref())
            && !path.exists()
        {
            return Err(format!("{name}: no such file"));
        }
        let opened = path.clone();
        let connect = move || -> rusqlite::Result<Connection> {
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            match (open, opened.as_deref()) {
                (Open::Existing, Some(path)) => Connection::open_with_flags(path, flags),
                (Open::Create, Some(path)) => {
                    Connection::open_with_flags(path, flags | OpenFlags::SQLITE_OPEN_CREATE)
                }
                _ => Connection::open_with_flags(
                    ":memory:",
                    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
                ),
            }
        };
        let (requests, receiver) = mpsc::channel(QUEUE);
        let (ready, started) = oneshot::channel();
        std::thread::Builder::new()
            .name("runhook-sqlite".to_owned())
            .spawn(move || {
                match connect()
                    .map_err(Failure::from)
                    .and_then(|connection| schema::prepare(connection, config))
                {
                    Ok(connection) => {
                        if ready.send(Ok(())).is_ok() {
                            writer::serve(connection, receiver);
                        }
                    }
                    Err(failure) => {
                        let _ = ready.send(Err(failure));
                    }
                }
            })
            .map_err(|error| format!("{name}: cannot start its thread: {error}"))?;
        match started.await {
            Ok(Ok(())) => {}
            Ok(Err(failure)) => return Err(format!("{name}: {}", failure.message)),
            Err(_) => return Err(format!("{name}: its thread stopped while opening")),
        }
        let writer = Writer {
            requests,
            path,
            config,
        };
        writer.migrate(component).await?;
        Ok(writer)
    }

    /// Brings `component`'s tables to the version this crate writes, on this writer's thread.
    pub(crate) async fn migrate(&self, component: Component) -> Result<(), String> {
        match self.call(Op::Migrate(component)).await? {
            Reply::Migrated => Ok(()),
            other => Err(format!("{}: unexpected reply {other:?}", self.name())),
        }
    }

    /// Runs `op` once its group has committed; an error's message names the file.
    pub(crate) async fn call(&self, op: Op) -> Result<Reply, String> {
        let (reply, answer) = oneshot::channel();
        let stopped = || format!("{}: its thread stopped", self.name());
        self.requests
            .send(Request { op, reply })
            .await
            .map_err(|_| stopped())?;
        answer
            .await
            .map_err(|_| stopped())?
            .map_err(|failure| format!("{}: {}", self.name(), failure.message))
    }

    /// The database file, or `None` in memory.
    pub(crate) fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The configuration the file was opened with.
    pub(crate) fn config(&self) -> &SqliteConfig {
        &self.config
    }

    /// The file's name for messages: its path, or `:memory:`.
    pub(crate) fn name(&self) -> String {
        display(self.path.as_deref())
    }
}

/// A file's name for messages: its path, or `:memory:`.
fn display(path: Option<&Path>) -> String {
    path.map_or_else(|| ":memory:".to_owned(), |path| path.display().to_string())
}

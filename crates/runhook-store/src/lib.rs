//! # runhook-store
//!
//! Durable idempotency stores and durable inboxes for runhook receivers.
//!
//! **Idempotency stores**, behind the core's
//! [`IdempotencyStore`](runhook::store::IdempotencyStore) trait, each with exactly the semantics
//! of the in-memory store (claim with a lease and a fencing token; renew, complete and release
//! refused to a token that lost its claim; retention of completed keys; state look-up):
//!
//! - [`SqliteStore`] (feature `sqlite`): one SQLite file embedded in the process (WAL mode, group
//!   commit, [`SqliteConfig`]), for one process or a few on one host; survives restarts,
//!   needs no server.
//! - [`RedisStore`] (feature `redis`): for many replicas when Redis is what the service already
//!   runs.
//! - [`PostgresStore`] (feature `postgres`): for many replicas sharing one PostgreSQL database;
//!   a pooled `tokio-postgres` client ([`PostgresConfig`]), TLS by rustls as the URL's
//!   `sslmode` says, tables created and migrated by the store itself.
//!
//! **Inboxes**, behind the core's [`Inbox`](runhook::inbox::Inbox) trait (acknowledge an event
//! once it is stored, then process it with leases, retries and fencing), each with exactly the
//! semantics of [`MemoryInbox`](runhook::inbox::MemoryInbox):
//!
//! - [`SqliteInbox`] (feature `sqlite`): one SQLite file, for one process (it can share the
//!   file, and its writer thread, with a [`SqliteStore`]); group commit, `synchronous=FULL`.
//! - [`PostgresInbox`] (feature `postgres`): for many replicas; claims with
//!   `FOR UPDATE SKIP LOCKED`, and [`PostgresInbox::transactional`] for exactly-once side
//!   effects: a [`TransactionalHandler`] writes through the transaction that also marks the row
//!   done.
//!
//! **Reconcile states**, behind the core's
//! [`ReconcileState`](runhook::reconcile::ReconcileState) trait (a reconciler's watermark and
//! watch list, kept between sweeps), each with exactly the semantics of
//! [`MemoryReconcileState`](runhook::reconcile::MemoryReconcileState), each for one **scope**
//! (one reconciler's state; several share a database, e.g. one per API account, without seeing
//! one another's):
//!
//! - [`SqliteReconcileState`] (feature `sqlite`): from
//!   [`SqliteStore::reconcile_state`] or [`SqliteInbox::reconcile_state`], on the same file and
//!   writer thread.
//! - [`PostgresReconcileState`] (feature `postgres`): from
//!   [`PostgresStore::reconcile_state`] or [`PostgresInbox::reconcile_state`], on the same pool
//!   and schema, for every replica that sweeps.
//!
//! **One writer, one migrator.** The SQLite store, inbox and reconcile state share one writer thread
//! implementation (one per opened file, at most [`sqlite::QUEUE`] queued operations, at most
//! [`sqlite::BATCH_LIMIT`] per transaction, each under its own savepoint). Every table's schema
//! comes from the `.sql` files under the crate's `migrations/` folder, run by one migrator per
//! database kind, with one version row per table.
//!
//! **Maintenance.** [`Maintenance`] (features `sqlite` or `postgres`) is the one periodic task
//! that purges what stores and inboxes no longer need; on PostgreSQL a [`PostgresLease`] lets one
//! replica run it per interval.
//!
//! Redis stays a ledger only: there is no Redis inbox. An inbox keeps every event's body until
//! it is processed, for as long as retries take (days), and Redis keeps its data in memory with
//! persistence that is asynchronous by default: use SQLite or PostgreSQL for the inbox.
//!
//! With the `testing` feature, `testing::run_store_conformance`,
//! `testing::run_inbox_conformance` and `testing::run_reconcile_state_conformance` check any
//! store, inbox or reconcile state against the shared semantics (for stores, written-out cases and
//! generated operation sequences compared with a reference model, `testing::run_store_model`);
//! this crate runs them against the in-memory reference and every backend.
//!
//! ```no_run
//! # async fn example() -> Result<(), runhook::StoreError> {
//! use std::sync::Arc;
//! use runhook_store::RedisStore;
//!
//! let store = RedisStore::connect("redis://127.0.0.1:6379").await?;
//! // runhook_receiver::Receiver::builder(handlers).store(Arc::new(store)) …
//! # let _ = Arc::new(store);
//! # Ok(()) }
//! ```

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod inbox_console;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod inbox_row;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod maintenance;
mod margin;
#[cfg(any(feature = "sqlite", feature = "postgres", feature = "redis"))]
mod millis;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_inbox;
#[cfg(feature = "postgres")]
mod postgres_reconcile;
#[cfg(feature = "postgres")]
mod postgres_store;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod reconcile_row;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_inbox;
#[cfg(feature = "sqlite")]
mod sqlite_reconcile;
#[cfg(feature = "sqlite")]
mod sqlite_store;

#[cfg(feature = "testing")]
pub mod testing;

/// The transaction a [`TransactionalHandler`] writes through: `deadpool-postgres`'s, re-exported
/// so an application needs no `deadpool-postgres` dependency of its own, pinned to this one's.
#[cfg(feature = "postgres")]
pub use deadpool_postgres::Transaction;
#[allow(deprecated)]
pub use margin::GC_MARGIN;
pub use margin::PURGE_MARGIN;
#[allow(deprecated)]
#[cfg(feature = "postgres")]
pub use postgres::PostgresStoreConfig;
#[cfg(feature = "postgres")]
pub use postgres::{PostgresConfig, PostgresLease};
#[cfg(feature = "postgres")]
pub use postgres_inbox::{PostgresInbox, Transactional, TransactionalHandler};
#[cfg(feature = "postgres")]
pub use postgres_reconcile::PostgresReconcileState;
#[cfg(feature = "postgres")]
pub use postgres_store::PostgresStore;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use runhook_receiver::maintenance::{Leadership, Maintenance, Purgeable};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteConfig;
#[allow(deprecated)]
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteStoreConfig;
#[cfg(feature = "sqlite")]
pub use sqlite_inbox::SqliteInbox;
#[cfg(feature = "sqlite")]
pub use sqlite_reconcile::SqliteReconcileState;
#[cfg(feature = "sqlite")]
pub use sqlite_store::SqliteStore;

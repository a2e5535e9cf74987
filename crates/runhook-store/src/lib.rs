//! # runhook-store
//!
//! Durable idempotency stores for runhook receivers, behind the core's
//! [`IdempotencyStore`](runhook::store::IdempotencyStore) trait, each with exactly the semantics
//! of the in-memory store (claim with a lease and a fencing token; renew, complete and release
//! refused to a token that lost its claim; retention of completed keys; state look-up):
//!
//! - [`SqliteStore`] (feature `sqlite`): one SQLite file embedded in the process (WAL mode, group
//!   commit, [`SqliteStoreConfig`]), for one process or a few on one host; survives restarts,
//!   needs no server.
//! - [`RedisStore`] (feature `redis`): for many replicas when Redis is what the service already
//!   runs.
//! - [`PostgresStore`] (feature `postgres`): for many replicas sharing one PostgreSQL database;
//!   a pooled `tokio-postgres` client ([`PostgresStoreConfig`]), TLS by rustls as the URL's
//!   `sslmode` says, tables created and migrated by the store itself, [`PostgresStore::prune`]
//!   for a periodic clean-up task.
//!
//! With the
//! `testing` feature, `testing::run_store_conformance` checks any store against the shared
//! semantics; this crate runs it against the in-memory store and every backend.
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

mod gc;
mod millis;
#[cfg(feature = "postgres")]
mod postgres_store;
#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "sqlite")]
mod sqlite_store;

#[cfg(feature = "testing")]
pub mod testing;

pub use gc::GC_MARGIN;
#[cfg(feature = "postgres")]
pub use postgres_store::{PostgresStore, PostgresStoreConfig};
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite_store::{SqliteStore, SqliteStoreConfig};

//! # runhook-store
//!
//! Durable idempotency stores for runhook receivers, behind the core's
//! [`IdempotencyStore`](runhook::store::IdempotencyStore) trait, each with exactly the semantics
//! of the in-memory store (claim with a lease and a fencing token; renew, complete and release
//! refused to a token that lost its claim; retention of completed keys; state look-up):
//!
//! - [`SqliteStore`] (feature `sqlite`): one SQLite file embedded in the process (WAL mode), for
//!   one process or a few on one host; survives restarts, needs no server.
//! - [`RedisStore`] (feature `redis`): for many replicas when Redis is what the service already
//!   runs.
//!
//! A PostgreSQL backend is next. With the
//! `testing` feature, [`testing::run_store_conformance`] checks any store against the shared
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

use std::time::Duration;

#[cfg(feature = "redis")]
mod redis_store;
#[cfg(feature = "sqlite")]
mod sqlite_store;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
#[cfg(feature = "sqlite")]
pub use sqlite_store::SqliteStore;

/// How long a durable store keeps a key past the time the store's own logic needs it: the
/// garbage-collection margin (one hour) of Redis's key TTLs and of the SQLite store's pruning of
/// abandoned claims, so clock skew between callers never removes a key early, and a holder past
/// its lease that nobody took over can still complete within the margin.
pub const GC_MARGIN: Duration = Duration::from_secs(60 * 60);

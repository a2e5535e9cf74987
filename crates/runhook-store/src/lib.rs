//! # runhook-store
//!
//! Durable idempotency stores for runhook receivers, behind the core's
//! [`IdempotencyStore`](runhook::store::IdempotencyStore) trait, each with exactly the semantics
//! of the in-memory store (claim with a lease and a fencing token; renew, complete and release
//! refused to a token that lost its claim; retention of completed keys; state look-up):
//!
//! - [`RedisStore`] (feature `redis`): for many replicas when Redis is what the service already
//!   runs.
//!
//! SQLite (embedded, the default of `runhook listen`) and PostgreSQL backends are next. With the
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

#[cfg(feature = "redis")]
mod redis_store;

#[cfg(feature = "testing")]
pub mod testing;

#[cfg(feature = "redis")]
pub use redis_store::{GC_MARGIN, RedisStore};

//! # runhook-dispatch
//!
//! The sending side of TinyFish-style run webhooks: a [`Sender`] makes one attempt under
//! runhook's rules, and a [`Dispatcher`] drives many [`runhook::delivery::Delivery`] state
//! machines at once on top of it. With the `relay` feature, `relay` forwards
//! the rows of a receiver's inbox to an app with the same sender.
//!
//! What the [`Sender`] owns, for every sender in runhook:
//! - HTTPS with rustls; redirects are never followed; no proxy is ever used.
//! - The address rules of docs/protocol.md §4.2 are applied after DNS resolution, to every address
//!   the connector is given ([`HostLookup`] resolves, the sender filters), so DNS rebinding
//!   cannot reach loopback, private or metadata addresses. IP-literal URLs are checked before
//!   sending ([`Sender::target`]). Local addresses and plain `http://` to loopback are explicit
//!   opt-ins.
//! - One deadline covers connect, TLS, request, response head and body; at most 64 KiB of the
//!   body is read (configurable).
//! - One classification of client errors ([`SendError`]), TLS included.
//!
//! What the [`Dispatcher`] adds: retries on the core's policy, bounded concurrency overall and
//! per host, a bound on the deliveries it holds
//! ([`max_pending`](DispatcherBuilder::max_pending)), one timer queue for every pending retry,
//! and an [`AttemptReport`] per attempt, also logged with `tracing`.
//!
//! ```no_run
//! use bytes::Bytes;
//! use runhook::RetryPolicy;
//! use runhook_dispatch::DispatcherBuilder;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let dispatcher = DispatcherBuilder::new().build()?;
//! let mut reports = dispatcher.subscribe();
//! let body = Bytes::from_static(br#"{"event":"run.cancelled","run_id":"r1","status":"CANCELLED","data":{}}"#);
//! let handle = dispatcher.submit("https://hooks.example.com/tinyfish", body, RetryPolicy::tinyfish())?;
//! tokio::spawn(async move {
//!     while let Ok(report) = reports.recv().await {
//!         println!("attempt {}/{}: {:?} {:?}", report.attempt, report.max_attempts, report.status, report.error);
//!     }
//! });
//! let outcome = handle.outcome().await;
//! println!("delivered: {}", outcome.is_delivered());
//! dispatcher.shutdown(std::time::Duration::from_secs(5)).await;
//! # Ok(()) }
//! ```

mod attempt;
mod builder;
mod classify;
mod dispatcher;
mod driver;
mod error;
#[cfg(feature = "relay")]
pub mod relay;
mod report;
mod resolver;
mod sender;
mod slots;

pub use builder::{DEFAULT_MAX_PENDING, DispatcherBuilder};
pub use classify::{SendError, status_text};
pub use dispatcher::{DeliveryHandle, Dispatcher};
pub use error::{AddressRefused, BuildError, SubmitError};
pub use report::{AttemptReport, DeliveryId, DispatchOutcome, ShutdownReport};
pub use resolver::{HostLookup, LookupFuture, StaticLookup, SystemLookup};
pub use sender::{
    DEFAULT_BODY_LIMIT, DEFAULT_TIMEOUT, Exchange, Post, Sender, SenderBuilder, Target,
    TargetError, USER_AGENT,
};

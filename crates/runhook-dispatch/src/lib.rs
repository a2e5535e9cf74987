//! # runhook-dispatch
//!
//! The sending side of TinyFish-style run webhooks: a [`Dispatcher`] drives many
//! [`runhook::delivery::Delivery`] state machines at once with a real HTTP client.
//!
//! - HTTPS with rustls; redirects are never followed; no proxy is ever used.
//! - The address rules of docs/protocol.md §4.2 are applied after DNS resolution, to every address
//!   the connector is given ([`HostLookup`] resolves, the dispatcher filters), so DNS rebinding
//!   cannot reach loopback, private or metadata addresses. IP-literal URLs are checked before
//!   sending. Local addresses and plain `http://` to loopback are explicit opt-ins.
//! - One attempt's deadline (from the retry policy) covers connect, TLS, request, response head
//!   and body; at most 64 KiB of the body is read.
//! - Bounded concurrency overall and per host; one timer queue holds every pending retry.
//! - Every attempt is published as an [`AttemptReport`] and logged with `tracing`.
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
mod dispatcher;
mod driver;
mod error;
mod report;
mod resolver;
mod slots;

pub use builder::{DEFAULT_BODY_LIMIT, DispatcherBuilder, USER_AGENT};
pub use dispatcher::{DeliveryHandle, Dispatcher};
pub use error::{AddressRefused, BuildError, SubmitError};
pub use report::{AttemptReport, DeliveryId, DispatchOutcome, ShutdownReport};
pub use resolver::{HostLookup, LookupFuture, StaticLookup, SystemLookup};

//! # runhook-axum
//!
//! Receive TinyFish-style agent-run webhooks in [axum](https://docs.rs/axum) 0.8. A thin adapter:
//! the protocol lives in [`runhook`] (checks, status codes) and [`runhook_receiver`]
//! (deduplication, deadline, handler contract); this crate only moves requests and responses
//! between them and axum. See `docs/receiving.md` for what each status code means.
//!
//! - [`webhook_route`]: a route for one [`Receiver`]: every method,
//!   the body read with the receiver's limit, the event deduplicated by `run_id` and handed to
//!   your handler, the status the sender needs (200, 503 to retry, 4xx for good).
//!   [`webhook_handler`] is the same as a handler taking `State<Receiver>`, for a receiver kept in
//!   the router's state.
//! - [`Webhook`]: an extractor for a validated [`Event`], for handlers that
//!   deduplicate on their own; a refused request is answered by [`WebhookRejection`].
//! - [`serve`]: `axum::serve` with header and idle timeouts, a connection limit, bounded HTTP/2
//!   and a graceful shutdown with a grace period ([`ServerLimits`]): what a receiver reachable
//!   from outside needs.
//!
//! ```no_run
//! use runhook_axum::webhook_route;
//! use runhook_receiver::{HandlerOutcome, Receiver, Handlers};
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let receiver = Receiver::new(Handlers::new().on_completed(|run| async move {
//!     println!("{} finished: {:?}", run.run_id, run.data.result.value());
//!     HandlerOutcome::Ok
//! }));
//! let app = axum::Router::new().route("/webhooks/tinyfish", webhook_route(receiver));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! runhook_axum::serve(listener, app).await
//! # }
//! ```

mod extract;
mod rejection;
mod route;
mod serve;

pub use extract::{Webhook, WebhookRejection};
pub use route::{webhook_handler, webhook_route, webhook_route_with_state};
pub use serve::serve;

// What a user names in the five-line use, so one dependency is enough.
pub use runhook_receiver::adapter::prelude::*;

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

/// The workspace README's examples (the core, and this crate's Slack example in full), compiled
/// here because this crate's dev-dependencies can build them all.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct WorkspaceReadmeDoctests;

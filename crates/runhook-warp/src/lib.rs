//! # runhook-warp
//!
//! Receive TinyFish-style agent-run webhooks in [warp]: a thin adapter over [`runhook`] (the
//! checks of [`runhook::receive()`]) and [`runhook_receiver`] (deduplication, handler deadline,
//! the status codes of docs/protocol.md §4.3). The request body is handed over as the raw bytes
//! received, never re-encoded.
//!
//! - [`webhook_route`]: the whole route. Every method, header and body byte goes to
//!   [`Receiver::receive_body`](runhook_receiver::Receiver::receive_body), which answers 200,
//!   405, 413, 415, 400, 422 or 503 as the protocol says.
//! - [`webhook()`] (or [`webhook_with`]): a filter extracting a validated [`Webhook`] for a handler
//!   of your own, with no deduplication; a refused request becomes a [`WebhookRejection`], which
//!   [`recover`] turns into its status and reason.
//! - [`serve`]: the filter on a server with header and idle timeouts, a connection limit,
//!   bounded HTTP/2 and a graceful shutdown with a grace period ([`ServerLimits`]), which
//!   `warp::serve` lacks.
//!
//! ```no_run
//! use runhook_receiver::{HandlerOutcome, Receiver, Handlers};
//! use warp::Filter;
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let receiver = Receiver::new(Handlers::new().on_completed(|run| async move {
//!     println!("{}: {:?}", run.run_id, run.data.result.value());
//!     HandlerOutcome::Ok
//! }));
//! let routes = warp::path!("webhooks" / "tinyfish").and(runhook_warp::webhook_route(receiver));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! runhook_warp::serve(listener, routes).await
//! # }
//! ```

mod filter;
mod rejection;
mod route;
mod serve;

pub use filter::{Webhook, WebhookRejection, webhook, webhook_with};
pub use rejection::recover;
pub use route::webhook_route;
pub use serve::serve;

// What a user names in the five-line use, so one dependency is enough.
pub use runhook_receiver::adapter::prelude::*;

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

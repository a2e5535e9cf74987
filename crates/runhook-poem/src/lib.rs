//! # runhook-poem
//!
//! Receive TinyFish-style agent-run webhooks in [poem]: a thin adapter over [`runhook`] (the
//! checks of [`runhook::receive()`]) and [`runhook_receiver`] (deduplication, handler deadline,
//! the status codes of docs/protocol.md §4.3). The request body is handed over as the raw bytes
//! received, never re-encoded.
//!
//! - [`webhook_route`]: a [`WebhookEndpoint`] for the whole route. Every method, header and body
//!   byte goes to [`Receiver::receive_body`](runhook_receiver::Receiver::receive_body), which
//!   answers 200, 405, 413, 415, 400, 422 or 503 as the protocol says.
//! - [`Webhook`]: an extractor of a validated event for a handler of your own, with no
//!   deduplication; a refused request is answered by [`WebhookRejection`] (status and reason).
//! - [`serve`]: the endpoint on a server with header and idle timeouts, a connection limit,
//!   bounded HTTP/2 and a graceful shutdown with a grace period ([`ServerLimits`]), which
//!   `poem::Server` lacks in part.
//!
//! ```no_run
//! use poem::Route;
//! use runhook_receiver::{HandlerOutcome, Receiver, Handlers};
//!
//! # #[tokio::main] async fn main() -> std::io::Result<()> {
//! let receiver = Receiver::new(Handlers::new().on_completed(|run| async move {
//!     println!("{}: {:?}", run.run_id, run.data.result.value());
//!     HandlerOutcome::Ok
//! }));
//! let app = Route::new().at("/webhooks/tinyfish", runhook_poem::webhook_route(receiver));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! runhook_poem::serve(listener, app).await
//! # }
//! ```

mod endpoint;
mod extract;
mod rejection;
mod serve;

pub use endpoint::{WebhookEndpoint, webhook_route};
pub use extract::{Webhook, WebhookRejection};
pub use serve::{EndpointService, serve};

// What a user names in the five-line use, so one dependency is enough.
pub use runhook_receiver::adapter::prelude::*;

/// The README's example, compiled as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

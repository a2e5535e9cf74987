//! # runhook-receiver
//!
//! Receives TinyFish-style agent-run webhooks on tokio, correctly under retries, concurrency and
//! slow handlers: the orchestration every web-framework adapter calls, so adapters hold no
//! protocol logic (see `docs/receiving.md`).
//!
//! A [`Receiver`] takes the raw request (method, headers, body bytes) and:
//! 1. runs [`runhook::receive()`] (405, 413, 401, 415, 400 for bad requests);
//! 2. claims the event's idempotency key in an [`IdempotencyStore`](runhook::IdempotencyStore)
//!    (a duplicate gets 200 without a call, one still in flight 503 + `Retry-After`, a store
//!    failure 503: never processed without deduplication);
//! 3. calls the [`Handler`] under a deadline (8 s by default): polled once in the request, then
//!    in a task of its own if it has not finished;
//! 4. completes or releases the claim and answers from the handler's [`HandlerOutcome`]:
//!    `Ok` 200, `Retry` 503, `Reject` 422; a panic or a passed deadline 503.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Method, header::CONTENT_TYPE};
//! use runhook::HandlerOutcome;
//! use runhook_receiver::{Receiver, Handlers};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! let receiver = Receiver::new(Handlers::new().on_completed(|run| async move {
//!     println!("{}: {:?}", run.run_id, run.data.result.value());
//!     HandlerOutcome::Ok
//! }));
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
//! let body = r#"{"event":"run.completed","run_id":"r1","status":"COMPLETED",
//!               "data":{"result":{"title":"Example Domain"}}}"#;
//!
//! let uri = "/webhooks/tinyfish".parse().unwrap();
//! let first = receiver.receive(&Method::POST, &uri, &headers, body.into()).await;
//! assert_eq!(first.status, 200);
//! let again = receiver.receive(&Method::POST, &uri, &headers, body.into()).await;
//! assert_eq!(again.status, 200); // a duplicate: the handler is not called twice
//! # }
//! ```
//!
//! **Inbox mode** ([`Receiver::with_inbox`]): steps 3 and 4 give way to an insert into a
//! durable [`Inbox`](runhook::inbox::Inbox), answered 200 once stored; [`inbox::InboxWorkers`]
//! then run the handler (or any [`inbox::InboxProcessor`]) with the inbox policy's retries, one
//! event at a time per run, in order (see the [`inbox`] module), under the same supervisor as
//! inline mode: a handler whose lease is lost is stopped (see `docs/receiving.md`). Both modes record [`metrics`] through the `metrics` facade.
//!
//! The body reader, [`read_body`], reads a body within a size limit, a timeout and the
//! process-wide [`BodyBudget`]: the receiver reads every body with it, and so do the adapters'
//! `Webhook` extractors, through [`WebhookChecks::check`] (one order of checks, one
//! [`Refusal`]).
//!
//! [`reconcile::Reconciler`] sweeps the runs API for runs whose webhooks never arrived (the
//! receiver was down for longer than the sender's retries) and sends them through
//! [`Receiver::recover`], marked as recovered; a run that arrives both ways is processed once.
//!
//! [`maintenance::Maintenance`] is the one periodic task that purges stores and inboxes (with
//! a leader lease, one replica per interval); inbox-mode workers run one for their inbox.
//!
//! With the `server` feature, `server::serve` is the HTTP server `runhook listen` runs, with
//! header and idle timeouts, a connection limit, bounded HTTP/2 and a graceful shutdown with a
//! grace period (`server::ServerLimits`); each adapter's `serve` is built on it.
//!
//! With the `testing` feature, `testing::run_conformance_suite` checks an adapter over real
//! HTTP against the shared table of cases (`vectors/receive.json` in this crate).

pub mod adapter;
mod body;
mod budget;
mod builder;
mod clock;
mod config;
pub mod confirm;
mod context;
mod dead_letter;
mod error;
mod extract;
mod handler;
mod handlers;
pub mod inbox;
pub mod maintenance;
pub mod metrics;
mod observe;
mod pipeline;
mod receiver;
pub mod reconcile;
mod response;
mod supervisor;

#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "testing")]
pub mod testing;

pub use body::{BodyLimits, Collected, collect as read_body};
pub use budget::{BodyBudget, BodyCharge};
pub use builder::ReceiverBuilder;
pub use clock::{Clock, SystemClock};
pub use config::ReceiverConfig;
pub use confirm::{ConfirmError, RunConfirmer};
pub use context::{HandlerContext, PathParams, Received};
pub use dead_letter::DeadLetter;
pub use error::ConfigError;
pub use extract::{Refusal, WebhookChecks};
pub use handler::{Handler, HandlerFn, handler_fn};
pub use handlers::Handlers;
pub use inbox::InboxConfig;
pub use observe::{Observer, Report};
pub use receiver::{Receiver, ShutdownSummary};
pub use response::WebhookResponse;

pub use runhook::HandlerOutcome;

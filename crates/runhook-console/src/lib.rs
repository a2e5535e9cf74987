//! # runhook-console
//!
//! A web console for runhook, as an [`axum::Router`]: serve it on its own, or nest it in your
//! service behind your own authentication.
//!
//! - [`Console::over_inbox`]: over an [`Inbox`](runhook::inbox::Inbox): the rows by state and
//!   the last hour's activity; the events table (filters, pages, live updates); each event's
//!   run, raw body and attempt history; replay (one event, or every dead event matching the
//!   filters, after a confirmation) and purge.
//! - [`Console::over_inspector`]: over an [`Inspector`], for a receiver without an inbox: the
//!   deliveries it got (headers with their secrets hidden, bodies, answers, latency), live, and
//!   "send again" through the receiver.
//!
//! Pages are rendered on the server, every value escaped; a small embedded script only swaps in
//! live rows and shows local times. Nothing is loaded from the network. Every response carries a
//! strict `Content-Security-Policy`; every form carries a CSRF token; a GET never changes
//! anything. With [`ConsoleBuilder::token`], every page needs the token (as a bearer token, or
//! through the login page's session cookie).
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use runhook::inbox::MemoryInbox;
//! use runhook_console::Console;
//!
//! # async fn run() -> std::io::Result<()> {
//! let inbox = Arc::new(MemoryInbox::new());
//! let console = Console::over_inbox(inbox)
//!     .token("a long random token")
//!     .mounted_at("/console")
//!     .router();
//! let app: Router = Router::new()
//!     .route("/health", get(|| async { "ok" }))
//!     .nest("/console", console);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

mod assets;
mod auth;
mod builder;
mod chart;
mod csrf;
mod cursor;
mod headers;
mod inspector;
mod layout;
mod pages;
mod routes;
mod state;
mod stream;
mod text;
mod timefmt;

pub use builder::{
    Console, ConsoleBuilder, DEFAULT_MAX_STREAMS, DEFAULT_PAGE_SIZE, DEFAULT_STREAM_INTERVAL,
    MAX_PAGE_SIZE, STREAM_LIFETIME,
};
pub use inspector::{InspectLayer, InspectService, InspectedDelivery, Inspector, InspectorLimits};

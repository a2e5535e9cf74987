//! Load benchmark target: serves, on 127.0.0.1, the webhook route beside the same framework's bare
//! route, for a load generator (`cargo xtask bench --only adapters` runs wrk against them).
//!
//! ```sh
//! cargo bench -p runhook-axum --bench load -- --port 18080 [--workers 1]
//! ```
//!
//! - `POST /bare`: reads the body, answers 200 `OK`.
//! - `/parse`: reads the body and runs [`runhook::receive()`] on it (method, headers, body, the
//!   receiver's `RequestChecks`: parse and duplicate-key pass), nothing else (no store, no
//!   handler, no task); 200 `OK` for an accepted event, the rejection's status otherwise: the
//!   ceiling for any route that must parse.
//! - `/webhook`: `webhook_route` with an in-memory store and a no-op handler.
//!
//! The command line, runtime, counting receiver, listener and shutdown (Ctrl-C or SIGTERM, then
//! `webhook outcomes: accepted=N duplicate=N other=N` on stderr) are the shared harness
//! [`runhook_receiver::testing::run_load_bench`]; this file holds only the axum routes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench binary: a failed setup should panic

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use runhook_axum::webhook_route;
use runhook_receiver::testing::run_load_bench;

fn main() -> std::io::Result<()> {
    run_load_bench("axum", |receiver, listener, shutdown| async move {
        let config = Arc::new(receiver.config().receive.clone());
        let parse = move |method: Method, headers: HeaderMap, body: Bytes| async move {
            let verdict = runhook::receive(
                &method,
                &axum::http::Uri::from_static("/parse"),
                &headers,
                &body,
                &config,
            );
            (StatusCode::from_u16(verdict.status()).unwrap(), "OK")
        };
        let app = axum::Router::new()
            .route("/bare", post(|_body: Bytes| async { "OK" }))
            .route("/parse", post(parse))
            .route("/webhook", webhook_route(receiver));
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    })
}

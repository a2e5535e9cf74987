//! Load benchmark target: serves, on 127.0.0.1, the webhook route beside the same framework's bare
//! route, for a load generator (`cargo xtask bench --only adapters` runs wrk against them).
//!
//! ```sh
//! cargo bench -p runhook-warp --bench load -- --port 18080 [--workers 1]
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
//! [`runhook_receiver::testing::run_load_bench`]; this file holds only the warp routes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench binary: a failed setup should panic

use std::sync::Arc;

use bytes::Bytes;
use runhook_receiver::testing::run_load_bench;
use runhook_warp::webhook_route;
use warp::Filter;
use warp::http::{HeaderMap, Method, StatusCode};

fn main() -> std::io::Result<()> {
    run_load_bench("warp", |receiver, listener, shutdown| async move {
        let bare = warp::post()
            .and(warp::path!("bare"))
            .and(warp::body::bytes())
            .map(|_body: Bytes| "OK");
        let config = Arc::new(receiver.config().receive.clone());
        let parse = warp::path!("parse")
            .and(warp::method())
            .and(warp::header::headers_cloned())
            .and(warp::body::bytes())
            .map(move |method: Method, headers: HeaderMap, body: Bytes| {
                let verdict = runhook::receive(
                    &method,
                    &warp::http::Uri::from_static("/parse"),
                    &headers,
                    &body,
                    &config,
                );
                let status = StatusCode::from_u16(verdict.status()).unwrap();
                warp::reply::with_status("OK", status)
            });
        let routes = bare
            .or(parse)
            .or(warp::path!("webhook").and(webhook_route(receiver)));
        warp::serve(routes)
            .incoming(listener)
            .graceful(shutdown)
            .run()
            .await;
        Ok(())
    })
}

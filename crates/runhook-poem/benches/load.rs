//! Load benchmark target: serves, on 127.0.0.1, the webhook route beside the same framework's bare
//! route, for a load generator (`cargo xtask bench --only adapters` runs wrk against them).
//!
//! ```sh
//! cargo bench -p runhook-poem --bench load -- --port 18080 [--workers 1]
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
//! [`runhook_receiver::testing::run_load_bench`]; this file holds only the poem routes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench binary: a failed setup should panic

use bytes::Bytes;
use poem::http::StatusCode;
use poem::listener::TcpAcceptor;
use poem::{Endpoint, Request, Response, Route, Server, handler, post};
use runhook::receive::RequestChecks;
use runhook_poem::webhook_route;
use runhook_receiver::testing::run_load_bench;

/// `POST /bare`: the body read, nothing else.
#[handler]
async fn bare(_body: Bytes) -> &'static str {
    "OK"
}

/// `POST /parse`: the body read and run through [`runhook::receive()`], nothing else.
struct Parse {
    config: RequestChecks,
}

impl Endpoint for Parse {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        let body = request.take_body().into_bytes().await?;
        let verdict = runhook::receive(
            request.method(),
            request.uri(),
            request.headers(),
            &body,
            &self.config,
        );
        let status = StatusCode::from_u16(verdict.status()).unwrap();
        Ok(Response::builder().status(status).body("OK"))
    }
}

fn main() -> std::io::Result<()> {
    run_load_bench("poem", |receiver, listener, shutdown| async move {
        let parse = Parse {
            config: receiver.config().receive.clone(),
        };
        let app = Route::new()
            .at("/bare", post(bare))
            .at("/parse", post(parse))
            .at("/webhook", webhook_route(receiver));
        Server::new_with_acceptor(TcpAcceptor::from_tokio(listener)?)
            .run_with_graceful_shutdown(app, shutdown, None)
            .await
    })
}

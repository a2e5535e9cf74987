//! The receive conformance suite (`fixtures/vectors/receive.json`) against `webhook_route`,
//! served by `runhook_warp::serve` on 127.0.0.1 and spoken to over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io;

use runhook_receiver::Receiver;
use runhook_receiver::testing::{HttpIntegration, TestServer, run_conformance_suite};
use runhook_warp::webhook_route;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use warp::Filter;

struct Warp;

impl HttpIntegration for Warp {
    async fn start(receiver: Receiver) -> io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhooks/tinyfish", listener.local_addr()?);
        let routes = warp::path!("webhooks" / "tinyfish").and(webhook_route(receiver));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = runhook_warp::serve(listener, routes).with_graceful_shutdown(async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        Ok(TestServer::new(url, stop, task))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warp_passes_the_conformance_suite() {
    run_conformance_suite::<Warp>().await;
}

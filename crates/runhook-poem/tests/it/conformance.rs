//! The receive conformance suite (`fixtures/vectors/receive.json`) against `webhook_route`,
//! served by `runhook_poem::serve` on 127.0.0.1 and spoken to over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io;
use std::time::Duration;

use poem::Route;
use runhook_poem::{ServerLimits, webhook_route};
use runhook_receiver::Receiver;
use runhook_receiver::testing::{HttpIntegration, TestServer, run_conformance_suite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

struct Poem;

impl HttpIntegration for Poem {
    async fn start(receiver: Receiver) -> io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/webhooks/tinyfish", listener.local_addr()?);
        let app = Route::new().at("/webhooks/tinyfish", webhook_route(receiver));
        let (stop, stopped) = oneshot::channel::<()>();
        let server = runhook_poem::serve(listener, app)
            .limits(ServerLimits::default().with_grace(Duration::from_secs(1)))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            });
        let task = tokio::spawn(async move {
            let _ = server.await;
        });
        Ok(TestServer::new(url, stop, task))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poem_passes_the_conformance_suite() {
    run_conformance_suite::<Poem>().await;
}

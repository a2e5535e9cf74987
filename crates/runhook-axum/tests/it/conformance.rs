//! The receive conformance suite over real HTTP: `webhook_route` served by `runhook_axum::serve` on
//! 127.0.0.1, and `webhook_handler` with the receiver in the router's state.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io;

use axum::extract::FromRef;
use axum::routing::any;
use runhook_axum::{webhook_handler, webhook_route};
use runhook_receiver::Receiver;
use runhook_receiver::testing::{HttpIntegration, TestServer, run_conformance_suite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const PATH: &str = "/webhooks/tinyfish";

/// Serves `app` on 127.0.0.1:0 until the test server is stopped.
async fn serve(app: axum::Router) -> io::Result<TestServer> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}{PATH}", listener.local_addr()?);
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let _ = runhook_axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
    });
    Ok(TestServer::new(url, stop, task))
}

/// `webhook_route(receiver)` in a stateless router.
struct Route;

impl HttpIntegration for Route {
    async fn start(receiver: Receiver) -> io::Result<TestServer> {
        serve(axum::Router::new().route(PATH, webhook_route(receiver))).await
    }
}

/// `webhook_handler` with the receiver taken from the application's state.
struct FromState;

#[derive(Clone)]
struct AppState {
    receiver: Receiver,
}

impl FromRef<AppState> for Receiver {
    fn from_ref(state: &AppState) -> Receiver {
        state.receiver.clone()
    }
}

impl HttpIntegration for FromState {
    async fn start(receiver: Receiver) -> io::Result<TestServer> {
        let app = axum::Router::new()
            .route(PATH, any(webhook_handler))
            .with_state(AppState { receiver });
        serve(app).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_route_passes_the_conformance_suite() {
    run_conformance_suite::<Route>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_handler_with_state_passes_the_conformance_suite() {
    run_conformance_suite::<FromState>().await;
}

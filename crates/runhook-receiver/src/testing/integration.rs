//! What an adapter implements to run the conformance suite.

use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::Receiver;

/// Serves a [`Receiver`] over real HTTP, the way an adapter does in production.
///
/// An adapter implements it in its tests (juniper's `HttpIntegration` idea) and calls
/// [`run_conformance_suite`](super::run_conformance_suite):
///
/// ```ignore
/// struct Axum;
/// impl HttpIntegration for Axum {
///     async fn start(receiver: Receiver) -> std::io::Result<TestServer> {
///         let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
///         let url = format!("http://{}/webhooks/tinyfish", listener.local_addr()?);
///         let app = axum::Router::new()
///             .route("/webhooks/tinyfish", runhook_axum::webhook(receiver));
///         let (stop, stopped) = tokio::sync::oneshot::channel();
///         let task = tokio::spawn(async move {
///             let _ = axum::serve(listener, app)
///                 .with_graceful_shutdown(async { let _ = stopped.await; })
///                 .await;
///         });
///         Ok(TestServer::new(url, stop, task))
///     }
/// }
///
/// #[tokio::test(flavor = "multi_thread")]
/// async fn conformance() {
///     run_conformance_suite::<Axum>().await;
/// }
/// ```
pub trait HttpIntegration {
    /// Starts a server on `127.0.0.1:0` that hands every request on the returned URL's path
    /// (whatever the query string) to `receiver`, method, headers and raw body as received.
    fn start(receiver: Receiver) -> impl Future<Output = io::Result<TestServer>> + Send;
}

/// A running server: its webhook URL, and how to stop it.
#[derive(Debug)]
pub struct TestServer {
    url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server reachable at `url` (e.g. `http://127.0.0.1:41234/webhook`, no query string),
    /// whose `task` ends soon after `shutdown` fires.
    pub fn new(
        url: impl Into<String>,
        shutdown: oneshot::Sender<()>,
        task: JoinHandle<()>,
    ) -> Self {
        TestServer {
            url: url.into(),
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// The webhook URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Signals shutdown and waits (up to 5 s) for the server task to end; aborts it otherwise.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

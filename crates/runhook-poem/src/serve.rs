//! [`serve`]: a poem endpoint on the server of `runhook listen`, and [`EndpointService`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::combinators::BoxBody;
use hyper::body::Incoming;
use poem::endpoint::BoxEndpoint;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, IntoEndpoint};
use runhook_receiver::server::{PeerAddr, Serve};
use tokio::net::TcpListener;

/// Serves `endpoint` on `listener` with header and idle timeouts, a connection limit, bounded
/// HTTP/2 and a graceful shutdown that waits at most a grace period:
/// [`ServerLimits::default`](crate::ServerLimits), changed with [`Serve::limits`]. HTTP/1.1
/// and h2c (prior knowledge).
///
/// `poem::Server` has an idle timeout and HTTP/2 stream limits, but no header timeout (a
/// connection that dribbles a request head stays open), no connection limit and no bound on
/// its graceful shutdown unless given one: use this instead of
/// `Server::new(TcpListener::bind(addr)).run(app)`. Awaiting it gives `std::io::Result<()>`.
///
/// ```no_run
/// use poem::Route;
/// use runhook_poem::{HandlerOutcome, Handlers, Receiver};
///
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// let receiver = Receiver::new(Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok }));
/// let app = Route::new().at("/webhooks/tinyfish", runhook_poem::webhook_route(receiver));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// runhook_poem::serve(listener, app)
///     .with_graceful_shutdown(async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .await
/// # }
/// ```
pub fn serve<E>(listener: TcpListener, endpoint: E) -> Serve<EndpointService>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let local = listener.local_addr().ok();
    let service = EndpointService {
        endpoint: Arc::new(endpoint.into_endpoint().map_to_response().boxed()),
        local: LocalAddr(local.map_or_else(Addr::default, Addr::SocketAddr)),
    };
    runhook_receiver::server::serve(listener, service)
}

/// A poem endpoint as the tower service [`serve`] runs: each request gets the connection's
/// local and remote addresses, as under `poem::Server`.
#[derive(Clone)]
pub struct EndpointService {
    endpoint: Arc<BoxEndpoint<'static>>,
    local: LocalAddr,
}

impl std::fmt::Debug for EndpointService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointService")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

/// The answer of [`EndpointService`].
type Answer = http::Response<BoxBody<bytes::Bytes, std::io::Error>>;

impl tower_service::Service<http::Request<Incoming>> for EndpointService {
    type Response = Answer;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Answer, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Incoming>) -> Self::Future {
        let remote = match request.extensions().get::<PeerAddr>() {
            Some(peer) => RemoteAddr(Addr::SocketAddr(peer.0)),
            None => RemoteAddr(Addr::default()),
        };
        let request =
            poem::Request::from((request, self.local.clone(), remote, http::uri::Scheme::HTTP));
        let endpoint = Arc::clone(&self.endpoint);
        Box::pin(async move { Ok(Answer::from(endpoint.get_response(request).await)) })
    }
}

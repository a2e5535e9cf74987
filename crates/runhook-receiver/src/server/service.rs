//! [`HttpService`]: what [`serve`](super::serve) runs, and [`PeerAddr`], what it tells it.

use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tower_service::Service;

/// The error type a service or a response body may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A service's error, or its response body's, as the server sees it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ServiceError(pub BoxError);

/// The body of a response as the server sends it: any service's body, boxed.
pub type ResponseBody = UnsyncBoxBody<Bytes, ServiceError>;

/// The future of one request handled by an [`HttpService`].
pub type ResponseFuture =
    Pin<Box<dyn Future<Output = Result<Response<ResponseBody>, ServiceError>> + Send>>;

/// A service [`serve`](super::serve) can run: any [`tower_service::Service`] of
/// `http::Request<hyper::body::Incoming>` that is `Clone + Send + Sync`, answers with an
/// `http::Response` of a `Send` body of `Bytes`, and fails with an error
/// convertible to [`BoxError`] (an `axum::Router`, `warp::service(filter)`, a `tower` stack).
/// Implemented for all of them; not meant to be implemented by hand.
pub trait HttpService: Clone + Send + Sync + 'static {
    /// Waits until the service is ready, then handles `request`.
    fn handle(self, request: Request<Incoming>) -> ResponseFuture;
}

impl<S, B> HttpService for S
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn handle(mut self, request: Request<Incoming>) -> ResponseFuture {
        Box::pin(async move {
            let failed = |error: S::Error| ServiceError(error.into());
            poll_fn(|cx| self.poll_ready(cx)).await.map_err(failed)?;
            let response = self.call(request).await.map_err(failed)?;
            Ok(response.map(|body| {
                body.map_err(|error| ServiceError(error.into()))
                    .boxed_unsync()
            }))
        })
    }
}

/// A service with its type erased, as each connection holds it.
pub(super) type Handler = Arc<dyn Fn(Request<Incoming>) -> ResponseFuture + Send + Sync>;

/// `service` with its type erased.
pub(super) fn handler<S: HttpService>(service: S) -> Handler {
    Arc::new(move |request| service.clone().handle(request))
}

/// A connection's byte stream once set up: the TCP stream itself, or what a
/// [`Serve::with_connection_setup`](super::Serve::with_connection_setup) made of it (a TLS
/// stream).
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// The future of a connection's setup.
pub type SetupFuture = Pin<Box<dyn Future<Output = std::io::Result<Box<dyn Io>>> + Send>>;

/// Sets up an accepted connection (e.g. a TLS handshake), with its type erased.
pub(super) type Setup = Arc<dyn Fn(TcpStream) -> SetupFuture + Send + Sync>;

/// The address of the client a request came from, in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerAddr(pub SocketAddr);

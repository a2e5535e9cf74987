//! The HTTP server (feature `server`): HTTP/1.1 and h2c (prior knowledge) on hyper-util, with
//! the timeouts and limits a server exposed to hostile clients needs. `runhook listen` runs it,
//! and each adapter's `serve` (`runhook_axum::serve`, `runhook_warp::serve`,
//! `runhook_poem::serve`) is this server for its framework.
//!
//! `axum::serve` and `warp::serve` set no header or idle timeout and no connection limit: a
//! slowloris or silent connection, a stalled body or a few HTTP/2 connections with hundreds of
//! stalled streams could hold sockets and memory for ever, and a graceful shutdown waited for
//! them. [`serve`] bounds each of those with [`ServerLimits`]. How long a *body* may take and
//! how many body bytes are buffered at once is the body reader's job
//! ([`read_body`](crate::read_body)), which the receiver and the adapters' extractors use.
//!
//! ```no_run
//! use std::time::Duration;
//!
//! use runhook_receiver::server::{HttpService, ServerLimits, serve};
//!
//! // `service`: an `axum::Router`, `warp::service(filter)`, any tower service of hyper requests.
//! async fn run(service: impl HttpService) -> std::io::Result<()> {
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//!     serve(listener, service)
//!         .limits(ServerLimits::default().with_header_timeout(Duration::from_secs(5)))
//!         .with_graceful_shutdown(async {
//!             let _ = tokio::signal::ctrl_c().await;
//!         })
//!         .await
//! }
//! ```

mod connection;
mod limits;
mod run;
mod service;

use std::future::{Future, IntoFuture, Pending, pending};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;

use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};

pub use limits::ServerLimits;
pub use service::{
    BoxError, HttpService, Io, PeerAddr, ResponseBody, ResponseFuture, ServiceError, SetupFuture,
};

use service::Setup;

/// Serves `service` on `listener`: HTTP/1.1 and h2c, within [`ServerLimits::default`] (change
/// them with [`Serve::limits`]), until the future is dropped or, with
/// [`Serve::with_graceful_shutdown`], the signal completes. Await it (it is
/// [`IntoFuture`]); it resolves to `Ok(())` once shut down. Errors accepting a connection (the
/// peer gave up, out of file descriptors) never end it: it waits briefly and accepts again.
///
/// Each request carries the client's [`PeerAddr`] in its extensions.
pub fn serve<S: HttpService>(listener: TcpListener, service: S) -> Serve<S> {
    Serve {
        listener,
        service,
        setup: None,
        limits: ServerLimits::default(),
        signal: pending(),
    }
}

/// A server being set up by [`serve`]; await it to run it.
#[must_use = "a server does nothing until awaited"]
pub struct Serve<S, F = Pending<()>> {
    listener: TcpListener,
    service: S,
    setup: Option<Setup>,
    limits: ServerLimits,
    signal: F,
}

impl<S, F> Serve<S, F> {
    /// This server with other limits.
    pub fn limits(mut self, limits: ServerLimits) -> Self {
        self.limits = limits;
        self
    }

    /// This server setting up each accepted connection with `setup` before serving HTTP on
    /// what it gives, e.g. a TLS handshake with `tokio_rustls::TlsAcceptor::accept`. The setup
    /// counts against the header timeout: a connection not set up within it is closed, as is
    /// one whose setup fails.
    pub fn with_connection_setup<G, Fut, I>(mut self, setup: G) -> Self
    where
        G: Fn(TcpStream) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = io::Result<I>> + Send + 'static,
        I: Io,
    {
        self.setup = Some(Arc::new(move |stream| -> SetupFuture {
            let setting_up = setup(stream);
            Box::pin(async move { Ok(Box::new(setting_up.await?) as Box<dyn Io>) })
        }));
        self
    }

    /// The limits this server will run with.
    pub fn server_limits(&self) -> &ServerLimits {
        &self.limits
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl<S> Serve<S> {
    /// This server with a graceful shutdown: when `signal` completes, it stops accepting,
    /// finishes the connections' requests in progress (closing each connection after its
    /// answer) for up to [`ServerLimits::grace`], then drops the connections still open
    /// (partial requests included) and returns. Unlike `axum::serve`'s, the shutdown never
    /// waits longer than the grace period.
    pub fn with_graceful_shutdown<F>(self, signal: F) -> Serve<S, F>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        Serve {
            listener: self.listener,
            service: self.service,
            setup: self.setup,
            limits: self.limits,
            signal,
        }
    }
}

impl<S, F> std::fmt::Debug for Serve<S, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Serve")
            .field("listener", &self.listener)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl<S, F> IntoFuture for Serve<S, F>
where
    S: HttpService,
    F: Future<Output = ()> + Send + 'static,
{
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            run::run(
                self.listener,
                self.service,
                self.setup,
                self.limits,
                self.signal,
            )
            .await;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests;

//! The HTTP server behind `runhook listen`: HTTP/1.1 and h2c (prior knowledge) on hyper-util's
//! auto builder, with the timeouts and limits a server exposed to hostile clients needs.
//!
//! `axum::serve` sets no timeouts: a slowloris or silent connection, a stalled body or a few
//! HTTP/2 connections with hundreds of stalled streams could hold sockets and memory for ever,
//! and a graceful shutdown waited for them. [`serve`] bounds each of those with
//! [`ServerLimits`]; bounding how long a *body* may take and how many body bytes may be buffered
//! is the receiver's job (`runhook_receiver`), not the server's.

mod connection;

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use self::connection::Timeouts;

/// The timeouts and limits of [`serve`]. `Default` holds the values `runhook listen` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerLimits {
    /// How long a client may take to send a complete request head, counted from the moment the
    /// connection waits for one (accept, or the end of the previous request). 10 s: a sender on
    /// a slow network sends a few hundred bytes of head in well under a second, while a
    /// slowloris or silent connection is cut before it holds a socket for long. For HTTP/1,
    /// hyper starts this timer as soon as the connection waits for the next request, so it
    /// also bounds the idle time between keep-alive requests.
    pub(crate) header_timeout: Duration,
    /// How long a connection that has served a request may stay open with no request in
    /// progress. 30 s: long enough for an HTTP/2 sender to reuse its connection across
    /// deliveries a few seconds apart, short enough that idle connections do not pile up
    /// towards `max_connections`. HTTP/1 connections are closed sooner, by `header_timeout`.
    pub(crate) idle_timeout: Duration,
    /// How many connections are served at once. 4096: far more than one webhook sender opens,
    /// few enough that the sockets, buffers and tasks stay within a small process (keep it
    /// below `ulimit -n`). When reached, accepting waits until a connection closes; new
    /// connections wait in the kernel's backlog instead of being reset.
    pub(crate) max_connections: usize,
    /// How long in-flight requests may take to finish once shutdown starts; then the remaining
    /// connections (partial requests included) are dropped. 10 s: above the receiver's default
    /// 8 s deadline, so a request being handled gets its answer.
    pub(crate) grace: Duration,
    /// HTTP/1: the largest read buffer of a connection, which also caps the request head.
    /// 16 KiB: a webhook's head is well under 1 KiB, and 4096 connections then buffer at most
    /// 64 MiB in hyper (hyper's own default is about 400 KiB per connection).
    pub(crate) h1_max_buf_size: usize,
    /// HTTP/2: the streams one connection may have open at once. 32: a webhook sender needs a
    /// handful, and fewer streams per connection leave more of the receiver's body budget to
    /// other connections (hyper's default is 200).
    pub(crate) h2_max_concurrent_streams: u32,
    /// HTTP/2: the initial flow-control window of each stream. 256 KiB: enough to keep a
    /// loopback or LAN upload moving, and what hyper buffers at most per stream before the
    /// handler reads it.
    pub(crate) h2_stream_window: u32,
    /// HTTP/2: the initial flow-control window of a connection, shared by its streams. 1 MiB:
    /// bounds what hyper buffers per connection to 1 MiB whatever the number of streams.
    pub(crate) h2_connection_window: u32,
    /// HTTP/2: the largest header list accepted (decoded). 16 KiB, as for HTTP/1.
    pub(crate) h2_max_header_list_size: u32,
    /// HTTP/2: how often to ping a connection to detect a dead peer. 20 s.
    pub(crate) h2_keep_alive_interval: Duration,
    /// HTTP/2: how long to wait for the ping's acknowledgement before closing. 10 s.
    pub(crate) h2_keep_alive_timeout: Duration,
    /// HTTP/2: streams the peer may open and reset before the server accepts them (the "rapid
    /// reset" attack, CVE-2023-44487). 20, hyper's default, kept explicit.
    pub(crate) h2_max_pending_accept_reset_streams: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_connections: 4096,
            grace: Duration::from_secs(10),
            h1_max_buf_size: 16 * 1024,
            h2_max_concurrent_streams: 32,
            h2_stream_window: 256 * 1024,
            h2_connection_window: 1024 * 1024,
            h2_max_header_list_size: 16 * 1024,
            h2_keep_alive_interval: Duration::from_secs(20),
            h2_keep_alive_timeout: Duration::from_secs(10),
            h2_max_pending_accept_reset_streams: 20,
        }
    }
}

/// The smallest read buffer hyper accepts (it panics below).
const HYPER_MIN_BUF_SIZE: usize = 8192;

/// How long to wait before accepting again after an error such as "too many open files".
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `app` on `listener` (HTTP/1.1 and h2c) within `limits` until `shutdown` completes;
/// then stops accepting, lets in-flight requests finish for up to `limits.grace`, drops the
/// connections still open and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let builder = Arc::new(builder(&limits));
    let timeouts = Timeouts {
        header: limits.header_timeout,
        idle: limits.idle_timeout,
    };
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = accept(&listener, &permits) => {
                let Some((stream, permit)) = accepted else {
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                };
                connections.spawn(connection::run(
                    stream,
                    app.clone(),
                    Arc::clone(&builder),
                    timeouts,
                    stopping.clone(),
                    permit,
                ));
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(limits.grace, drained).await;
    connections.shutdown().await;
}

/// Waits for a connection permit, then for a connection. `None` after an accept error that is
/// not about the one connection (e.g. out of file descriptors): the caller backs off.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> Option<(TcpStream, OwnedSemaphorePermit)> {
    // The semaphore is never closed, so this only fails if it were.
    let permit = Arc::clone(permits).acquire_owned().await.ok()?;
    loop {
        match listener.accept().await {
            Ok((stream, _)) => return Some((stream, permit)),
            // The peer gave up before we accepted: nothing wrong with the listener.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(_) => return None,
        }
    }
}

/// hyper-util's auto builder (HTTP/1.1, and HTTP/2 on the prior-knowledge preface) set up
/// from `limits`.
fn builder(limits: &ServerLimits) -> Builder<TokioExecutor> {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(limits.h1_max_buf_size.max(HYPER_MIN_BUF_SIZE));
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .initial_stream_window_size(limits.h2_stream_window)
        .initial_connection_window_size(limits.h2_connection_window)
        .max_header_list_size(limits.h2_max_header_list_size)
        .keep_alive_interval(limits.h2_keep_alive_interval)
        .keep_alive_timeout(limits.h2_keep_alive_timeout)
        .max_pending_accept_reset_streams(limits.h2_max_pending_accept_reset_streams);
    builder
}

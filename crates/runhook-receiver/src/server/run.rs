//! The accept loop of [`serve`](super::serve): a connection limit, one task per connection, and
//! the graceful shutdown with its grace period.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;

use super::HttpService;
use super::ServerLimits;
use super::connection::{self, Connection, Timeouts};
use super::service::{Setup, handler};

/// The smallest read buffer hyper accepts (it panics below).
const HYPER_MIN_BUF_SIZE: usize = 8192;

/// How long to wait before accepting again after an error such as "too many open files".
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `service` on `listener` within `limits` until `shutdown` completes; then stops
/// accepting, lets in-flight requests finish for up to `limits.grace`, drops the connections
/// still open and returns.
pub(super) async fn run<S>(
    listener: TcpListener,
    service: S,
    setup: Option<Setup>,
    limits: ServerLimits,
    shutdown: impl Future<Output = ()>,
) where
    S: HttpService,
{
    let service = handler(service);
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
                connections.spawn(connection::run(Connection {
                    stream,
                    service: Arc::clone(&service),
                    setup: setup.clone(),
                    builder: Arc::clone(&builder),
                    timeouts,
                    stopping: stopping.clone(),
                    permit,
                }));
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

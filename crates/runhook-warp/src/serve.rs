//! [`serve`]: a warp filter on the server of `runhook listen`.

use runhook_receiver::server::{HttpService, Serve};
use tokio::net::TcpListener;
use warp::Filter;

/// Serves `filter` on `listener` with header and idle timeouts, a connection limit, bounded
/// HTTP/2 and a graceful shutdown that waits at most a grace period:
/// [`ServerLimits::default`](crate::ServerLimits), changed with [`Serve::limits`]. HTTP/1.1
/// and h2c (prior knowledge). `warp::serve` sets none of these.
///
/// Use it instead of `warp::serve(routes).incoming(listener).run()`; keep a shutdown signal
/// with `.with_graceful_shutdown(signal)`. Awaiting it gives `std::io::Result<()>`.
///
/// ```no_run
/// use runhook_warp::{HandlerOutcome, Handlers, Receiver};
/// use warp::Filter;
///
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// let receiver = Receiver::new(Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok }));
/// let routes = warp::path!("webhooks" / "tinyfish").and(runhook_warp::webhook_route(receiver));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// runhook_warp::serve(listener, routes)
///     .with_graceful_shutdown(async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .await
/// # }
/// ```
pub fn serve<F>(listener: TcpListener, filter: F) -> Serve<impl HttpService>
where
    F: Filter<Error = warp::Rejection> + Clone + Send + Sync + 'static,
    F::Extract: warp::Reply,
{
    runhook_receiver::server::serve(listener, warp::service(filter))
}

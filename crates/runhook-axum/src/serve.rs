//! [`serve`]: `axum::serve` with the timeouts and limits of `runhook listen`.

use runhook_receiver::server::Serve;
use tokio::net::TcpListener;

/// Serves `router` on `listener` like `axum::serve(listener, router)`, with header and idle
/// timeouts, a connection limit, bounded HTTP/2 and a graceful shutdown that waits at most a
/// grace period: [`ServerLimits::default`](crate::ServerLimits), changed with
/// [`Serve::limits`]. HTTP/1.1 and h2c (prior knowledge).
///
/// Replace `axum::serve(listener, app)` with `runhook_axum::serve(listener, app)`; keep
/// `.with_graceful_shutdown(signal)`; awaiting it gives `std::io::Result<()>`. Each request
/// carries the client's address as an extension,
/// [`PeerAddr`](runhook_receiver::server::PeerAddr) (`Extension<PeerAddr>` in a handler).
///
/// ```no_run
/// use std::time::Duration;
///
/// use runhook_axum::{HandlerOutcome, Handlers, Receiver, ServerLimits, webhook_route};
///
/// # #[tokio::main] async fn main() -> std::io::Result<()> {
/// let receiver = Receiver::new(Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok }));
/// let app = axum::Router::new().route("/webhooks/tinyfish", webhook_route(receiver));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// runhook_axum::serve(listener, app)
///     .limits(ServerLimits::default().with_grace(Duration::from_secs(5)))
///     .with_graceful_shutdown(async {
///         let _ = tokio::signal::ctrl_c().await;
///     })
///     .await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: axum::Router) -> Serve<axum::Router> {
    runhook_receiver::server::serve(listener, router)
}

//! Stopping on a signal: SIGINT (Ctrl-C) or SIGTERM.

use std::future::Future;

/// A future that ends on SIGINT (Ctrl-C) or SIGTERM, the handlers installed now.
#[cfg(unix)]
pub(crate) fn stop_signals() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = terminate.recv() => {}
            _ = interrupt.recv() => {}
        }
    })
}

/// A future that ends on Ctrl-C.
#[cfg(not(unix))]
pub(crate) fn stop_signals() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

//! The web console beside a command (`runhook console`, `listen --console`, `demo --console`):
//! who may connect, and serving the library's router (`runhook_console`) on its own address.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, bail};
use runhook_console::ConsoleBuilder;
use tokio::net::TcpListener;

/// The console's default address: loopback only.
pub(crate) const DEFAULT_CONSOLE_ADDR: &str = "127.0.0.1:4040";

/// The token of `--console-token-env VAR` for a console on `addr`. A loopback address needs
/// none; any other address needs one, and is a usage error (exit 2) without it: the console
/// replays and purges events, so it is never opened to the network unauthenticated. Checked
/// before anything is bound.
pub(crate) fn console_token(
    addr: SocketAddr,
    token_env: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let Some(var) = token_env else {
        if addr.ip().is_loopback() {
            return Ok(None);
        }
        bail!(
            "the console would listen on {addr}, which is not a loopback address, without a \
             token: pass --console-token-env VAR (VAR holding a secret token, e.g. `export \
             VAR=$(openssl rand -hex 32)`), or listen on 127.0.0.1"
        );
    };
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(Some(value.trim().to_owned())),
        _ => bail!(
            "--console-token-env {var}: the environment variable {var} is unset or empty; set it \
             to a secret token (e.g. `export {var}=$(openssl rand -hex 32)`)"
        ),
    }
}

/// `builder` with the token, if there is one.
pub(crate) fn with_token(builder: ConsoleBuilder, token: Option<String>) -> ConsoleBuilder {
    match token {
        Some(token) => builder.token(token),
        None => builder,
    }
}

/// The console's URL at `bound`, as every command prints it (through `redact_url`, as every
/// printed URL).
pub(crate) fn console_url(bound: SocketAddr) -> String {
    runhook::endpoint::redact_url(&format!("http://{bound}"))
}

/// Binds the console's address (a usage error when it cannot be bound).
pub(crate) async fn bind(addr: SocketAddr) -> anyhow::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr} for the console"))?;
    let bound = listener
        .local_addr()
        .context("cannot read the console's bound address")?;
    Ok((listener, bound))
}

/// Serves `router` on `listener` until `stop` ends, with the hardened server's limits (fewer
/// connections than a receiver's, and a short grace: a console's open pages are live streams
/// that never finish on their own).
pub(crate) async fn serve(
    listener: TcpListener,
    router: axum::Router,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let mut limits = runhook_axum::ServerLimits::default();
    limits.max_connections = 256;
    limits.grace = Duration::from_secs(1);
    runhook_axum::serve(listener, router)
        .limits(limits)
        .with_graceful_shutdown(stop)
        .await
        .context("the console's server failed")
}

//! `runhook listen`: receive webhooks locally and print one line per delivery, like `stripe
//! listen`. Built on `runhook_axum::webhook_route` with the in-memory ledger, served by
//! [`crate::server::serve`] (timeouts, connection limit, bounded HTTP/2, graceful shutdown).

mod output;

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use runhook::HandlerOutcome;
use runhook::receive::UrlToken;
use runhook_axum::webhook_route;
use runhook_receiver::{Receiver, ReceiverConfig, handler_fn};

use crate::exit::Exit;
use crate::server::ServerLimits;
use output::{Summaries, emit, print, summarize};

/// Arguments of `runhook listen`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The address to listen on; port 0 picks a free one (the first line shows it).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The webhook path.
    #[arg(long, value_name = "PATH", default_value = "/webhooks/tinyfish")]
    path: String,
    /// Print JSON Lines: one object per delivery, with kind, status, run_id, event, reason.
    #[arg(long)]
    json: bool,
    /// How long a request may take before it is answered 503 (default 8000).
    #[arg(long, value_name = "N")]
    deadline_ms: Option<u64>,
    /// The largest body accepted, in bytes; larger ones get 413 (default 8388608).
    #[arg(long, value_name = "BYTES")]
    max_body: Option<usize>,
    /// How many connections are served at once; more wait to be accepted until one closes
    /// (default 4096; keep it below `ulimit -n`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_connections: Option<u64>,
    /// How long a client may take to send a request head, and a new connection to start its
    /// first request, before the connection is closed (default 10000).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_ms: Option<u64>,
    /// How long a connection may stay open with no request in progress after its first one
    /// (default 30000; HTTP/1 connections are closed sooner, by the header timeout).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_ms: Option<u64>,
    /// On Ctrl-C or SIGTERM: how long in-flight requests may take to finish before the
    /// remaining connections are dropped (default 10000).
    #[arg(long, value_name = "N")]
    grace_ms: Option<u64>,
    /// Require the secret token held in this environment variable in each delivery's URL, as
    /// the query parameter `token` (give TinyFish `webhook_url=https://HOST/PATH?token=SECRET`).
    /// Several tokens, separated by commas, are accepted at once, for rotation. Missing or
    /// wrong: 401. The token is never printed.
    #[arg(long, value_name = "VAR")]
    token_env: Option<String>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let path = normalize(&args.path)?;
    let mut config = ReceiverConfig::default();
    if let Some(ms) = args.deadline_ms {
        config = config.with_deadline(Duration::from_millis(ms));
    }
    if let Some(bytes) = args.max_body {
        config = config.with_max_body_bytes(bytes);
    }
    if let Some(var) = &args.token_env {
        config = config.with_authenticator(url_token(var, std::env::var(var).ok())?);
        eprintln!("runhook: deliveries must carry ?token=<the value of ${var}>; others get 401");
    }
    let summaries = Summaries::default();
    let written = Arc::clone(&summaries);
    let handler = handler_fn(move |event| {
        let key = (event.run_id().map(str::to_owned), event.name().to_owned());
        let summary = summarize(&event);
        written
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, summary);
        async { HandlerOutcome::Ok }
    });
    let json = args.json;
    let receiver = Receiver::builder(handler)
        .config(config)
        .observer(move |report| print(report, &summaries, json))
        .build()
        .context("invalid receiver settings")?;
    let limits = limits(&args);
    // Several workers, so that connections being flooded do not delay a valid delivery.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        emit(&format!("listening on http://{addr}{path}"));
        let app = axum::Router::new().route(&path, webhook_route(receiver));
        crate::server::serve(listener, app, limits, shutdown_signal()).await;
        eprintln!("runhook: stopped");
        Ok(Exit::Success)
    });
    // The connections are gone; handler tasks still running are not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// The URL-token authenticator for `--token-env VAR`, whose value is `value`: one token, or
/// several separated by commas. Unset or empty is a usage error: never an open door.
fn url_token(var: &str, value: Option<String>) -> anyhow::Result<UrlToken> {
    let Some(value) = value.filter(|value| !value.trim().is_empty()) else {
        bail!(
            "--token-env {var}: the environment variable {var} is unset or empty; set it to the \
             secret token of your webhook_url (e.g. `export {var}=$(openssl rand -hex 32)`)"
        );
    };
    let tokens: Vec<String> = value
        .split(',')
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
        .collect();
    UrlToken::in_query(tokens).with_context(|| format!("--token-env {var}: unusable token"))
}

/// The server limits: the defaults, with the options given.
fn limits(args: &Args) -> ServerLimits {
    let mut limits = ServerLimits::default();
    if let Some(n) = args.max_connections {
        limits.max_connections = usize::try_from(n).unwrap_or(usize::MAX);
    }
    if let Some(ms) = args.header_timeout_ms {
        limits.header_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = args.idle_timeout_ms {
        limits.idle_timeout = Duration::from_millis(ms);
    }
    if let Some(ms) = args.grace_ms {
        limits.grace = Duration::from_millis(ms);
    }
    limits
}

/// The path with one leading slash; refused if axum would read it as a pattern.
fn normalize(path: &str) -> anyhow::Result<String> {
    let path = format!("/{}", path.trim_start_matches('/'));
    if path.contains(['{', '}', '?', '#', '*']) || path.contains(char::is_whitespace) {
        bail!("--path {path:?} must be a plain path such as /webhooks/tinyfish");
    }
    Ok(path)
}

/// Waits for Ctrl-C or (on Unix) SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unset_or_empty_token_variable_is_refused() {
        assert!(url_token("T", None).is_err());
        assert!(url_token("T", Some(String::new())).is_err());
        assert!(url_token("T", Some(" , ".into())).is_err());
        let error = url_token("T", None).unwrap_err().to_string();
        assert!(error.contains("T is unset or empty"), "{error}");
        assert!(url_token("T", Some("a,b".into())).is_ok());
    }

    #[test]
    fn paths_get_one_leading_slash_and_patterns_are_refused() {
        assert_eq!(
            normalize("/webhooks/tinyfish").unwrap(),
            "/webhooks/tinyfish"
        );
        assert_eq!(
            normalize("webhooks/tinyfish").unwrap(),
            "/webhooks/tinyfish"
        );
        assert_eq!(normalize("//hook").unwrap(), "/hook");
        assert_eq!(normalize("/").unwrap(), "/");
        assert!(normalize("/runs/{id}").is_err());
        assert!(normalize("/a b").is_err());
    }
}

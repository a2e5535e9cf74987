//! `runhook listen`: receive webhooks locally and print one line per delivery, like `stripe
//! listen`. Built on `runhook_axum::webhook_route` with the in-memory ledger, served by
//! [`crate::server::serve`] (timeouts, connection limit, bounded HTTP/2, graceful shutdown).

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use runhook::{Event, HandlerOutcome, ReceiveOutcome};
use runhook_axum::webhook_route;
use runhook_receiver::{Receiver, ReceiverConfig, Report, handler_fn};
use serde::Serialize;
use serde_json::Value;

use crate::exit::Exit;
use crate::server::ServerLimits;

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
}

/// Result summaries written by the handler, read by the observer, keyed by run id and event.
type Summaries = Arc<Mutex<HashMap<(Option<String>, String), String>>>;

/// One `--json` line.
#[derive(Serialize)]
struct Line<'a> {
    /// `accepted`, `duplicate` (already processed), `in_flight` (being processed by another
    /// delivery: 503) or `rejected` (anything else).
    kind: &'static str,
    /// The receiver's precise outcome (`accepted`, `in_flight`, `invalid`, ...).
    outcome: &'static str,
    status: u16,
    run_id: Option<&'a str>,
    event: Option<&'a str>,
    reason: &'a str,
    /// For an accepted event: its result, error or cancellation in a few words.
    summary: Option<&'a str>,
    /// Whether this reports a handler that finished after the deadline's 503 went out.
    late: bool,
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
    let summaries = Summaries::default();
    let written = Arc::clone(&summaries);
    let handler = handler_fn(move |event: Event| {
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
        .observer(move |report: &Report| print(report, &summaries, json))
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

/// A few words on what the event carries.
fn summarize(event: &Event) -> String {
    match event {
        Event::Completed(run) => match run.data.result.value() {
            Some(result) => format!("result {}", shorten(&Value::Object(result.clone()))),
            None => "no result".to_owned(),
        },
        Event::Failed(run) => match run.data.error.value() {
            Some(error) => match error.category.value() {
                Some(category) => format!("error {category}: {}", error.message),
                None => format!("error: {}", error.message),
            },
            None => "no error object".to_owned(),
        },
        Event::Cancelled(_) => "cancelled".to_owned(),
        other => format!("an event type runhook does not know: {}", other.name()),
    }
}

/// Compact JSON, cut at 120 characters.
fn shorten(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Prints the line for one report (and the summary of an accepted event).
fn print(report: &Report, summaries: &Summaries, json: bool) {
    let kind = match report.outcome {
        ReceiveOutcome::Accepted => "accepted",
        ReceiveOutcome::Duplicate => "duplicate",
        ReceiveOutcome::InFlight => "in_flight",
        _ => "rejected",
    };
    let summary = match (report.outcome, &report.event) {
        (ReceiveOutcome::Accepted, Some(event)) => summaries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(report.run_id.clone(), event.clone())),
        _ => None,
    };
    let line = if json {
        let line = Line {
            kind,
            outcome: report.outcome.as_str(),
            status: report.status,
            run_id: report.run_id.as_deref(),
            event: report.event.as_deref(),
            reason: &report.reason,
            summary: summary.as_deref(),
            late: report.late,
        };
        serde_json::to_string(&line).unwrap_or_default()
    } else {
        let mut line = format!("{kind:<9} {}", report.status);
        if let Some(event) = &report.event {
            line.push_str(&format!(" {event}"));
        }
        if let Some(run_id) = &report.run_id {
            line.push_str(&format!(" run {run_id}"));
        }
        line.push_str(": ");
        line.push_str(summary.as_deref().unwrap_or(&report.reason));
        if report.late {
            line.push_str(" (finished after the deadline)");
        }
        line
    };
    emit(&line);
}

/// Writes one line to stdout and flushes it. A closed stdout is not an error for the server.
fn emit(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn summaries_name_the_result_or_the_error() {
        let completed = Event::from_slice(
            br#"{"event":"run.completed","run_id":"r1","status":"COMPLETED",
                 "data":{"result":{"product_name":"Example Product","price":29.99}}}"#,
        )
        .unwrap();
        let summary = summarize(&completed);
        assert!(summary.starts_with("result {"), "{summary}");
        assert!(
            summary.contains(r#""product_name":"Example Product""#),
            "{summary}"
        );
        assert!(summary.contains(r#""price":29.99"#), "{summary}");
        let failed = Event::from_slice(
            br#"{"event":"run.failed","run_id":"r2","status":"FAILED","data":{"result":null,
                 "error":{"message":"Site blocked access","category":"AGENT_FAILURE"}}}"#,
        )
        .unwrap();
        assert_eq!(
            summarize(&failed),
            "error AGENT_FAILURE: Site blocked access"
        );
        let long = Value::String("x".repeat(500));
        assert_eq!(shorten(&long).chars().count(), 121);
    }
}

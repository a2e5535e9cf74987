//! The shared harness of the adapters' load benchmarks (`cargo bench -p runhook-<fw> --bench load
//! -- --port N [--workers N]`, driven by `cargo xtask bench --only adapters`).
//!
//! The harness parses the command line, builds the runtime, a [`Receiver`] with a no-op handler
//! whose observer counts how deliveries ended, and a listener on 127.0.0.1; the bench only builds
//! its framework's routes and serves them until the shutdown future resolves (Ctrl-C or SIGTERM).
//! Then it prints `webhook outcomes: accepted=N duplicate=N other=N` to stderr, so a run whose
//! run ids were not fresh shows it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use runhook::ReceiveOutcome;
use tokio::net::TcpListener;

use crate::{Handlers, Receiver};

/// A future that resolves when the bench should stop serving.
pub type Shutdown = Pin<Box<dyn Future<Output = ()> + Send>>;

const USAGE: &str = "usage: load --port N [--workers N]";

/// Runs a load bench for `framework`: `serve` gets the counting receiver, a bound listener and the
/// shutdown future, and serves `/bare`, `/parse` and `/webhook` until the future resolves.
///
/// Without `--port` there is nothing to serve: it says so and returns at once, so `cargo bench`
/// and `cargo test --all-targets` over the workspace neither hang nor fail on the bench target.
/// Cargo's own `--bench` flag is ignored.
pub fn run_load_bench<F, Fut>(framework: &str, serve: F) -> io::Result<()>
where
    F: FnOnce(Receiver, TcpListener, Shutdown) -> Fut,
    Fut: Future<Output = io::Result<()>>,
{
    let (port, workers) = parse_args(std::env::args().skip(1))?;
    let Some(port) = port else {
        eprintln!("load: no --port given, nothing to serve ({USAGE})");
        return Ok(());
    };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?
        .block_on(async {
            let outcomes = Arc::new(Outcomes::default());
            let receiver = counting_receiver(Arc::clone(&outcomes))?;
            let listener = TcpListener::bind(("127.0.0.1", port)).await?;
            println!(
                "load bench ({framework}): /bare, /parse and /webhook on http://{}",
                listener.local_addr()?
            );
            serve(receiver, listener, shutdown_signal()?).await?;
            eprintln!("webhook outcomes: {}", outcomes.summary());
            Ok(())
        })
}

/// `--port N` and `--workers N` (tokio worker threads, default 1).
fn parse_args(mut args: impl Iterator<Item = String>) -> io::Result<(Option<u16>, usize)> {
    let invalid = |message: String| io::Error::new(io::ErrorKind::InvalidInput, message);
    let value = |name: &str, args: &mut dyn Iterator<Item = String>| {
        args.next()
            .ok_or_else(|| invalid(format!("{name} needs a value; {USAGE}")))
    };
    let (mut port, mut workers) = (None, 1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => {
                let text = value("--port", &mut args)?;
                port = Some(
                    text.parse()
                        .map_err(|e| invalid(format!("--port {text}: {e}")))?,
                );
            }
            "--workers" => {
                let text = value("--workers", &mut args)?;
                workers = text
                    .parse()
                    .map_err(|e| invalid(format!("--workers {text}: {e}")))?;
            }
            "--bench" => {}
            other => return Err(invalid(format!("unknown argument {other:?}; {USAGE}"))),
        }
    }
    Ok((port, workers))
}

/// How webhook deliveries ended.
#[derive(Debug, Default)]
struct Outcomes {
    accepted: AtomicU64,
    duplicate: AtomicU64,
    other: AtomicU64,
}

impl Outcomes {
    fn summary(&self) -> String {
        format!(
            "accepted={} duplicate={} other={}",
            self.accepted.load(Ordering::Relaxed),
            self.duplicate.load(Ordering::Relaxed),
            self.other.load(Ordering::Relaxed)
        )
    }
}

/// A receiver with a no-op handler (every event acknowledged) whose observer counts outcomes.
fn counting_receiver(outcomes: Arc<Outcomes>) -> io::Result<Receiver> {
    Receiver::builder(Handlers::new())
        .observer(move |report| {
            let slot = match report.outcome {
                ReceiveOutcome::Accepted => &outcomes.accepted,
                ReceiveOutcome::Duplicate => &outcomes.duplicate,
                _ => &outcomes.other,
            };
            slot.fetch_add(1, Ordering::Relaxed);
        })
        .build()
        .map_err(io::Error::other)
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
fn shutdown_signal() -> io::Result<Shutdown> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(Box::pin(async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        }))
    }
    #[cfg(not(unix))]
    {
        Ok(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> io::Result<(Option<u16>, usize)> {
        parse_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn parses_the_shared_command_line() {
        assert_eq!(args(&["--bench"]).unwrap(), (None, 1));
        assert_eq!(
            args(&["--port", "18080", "--workers", "2"]).unwrap(),
            (Some(18080), 2)
        );
        assert!(
            args(&["--port"])
                .unwrap_err()
                .to_string()
                .contains("needs a value")
        );
        assert!(
            args(&["--port", "x"])
                .unwrap_err()
                .to_string()
                .contains("--port x")
        );
        assert!(
            args(&["--fast"])
                .unwrap_err()
                .to_string()
                .contains("unknown argument")
        );
    }
}

//! `runhook listen`: receive webhooks locally and print one line per delivery, like `stripe
//! listen`. Built on `runhook_axum::webhook_route` with the store of `--store` (PostgreSQL and
//! SQLite purged by the library's `runhook_store::Maintenance` task), served by [`runhook_axum::serve`] (timeouts, connection
//! limit, bounded HTTP/2, graceful shutdown). With `--forward-to`, a relay: the receiver in inbox
//! mode, forwarding each stored event to the app (see [`relay`]); with `--metrics-addr`,
//! Prometheus metrics on a second listener.

mod args;
mod confirm;
mod console;
mod forwarded;
mod metrics;
mod misbehave;
pub(crate) mod output;
mod relay;
mod target;

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use anyhow::{Context, bail};
use runhook::HandlerOutcome;
use runhook::receive::UrlToken;
use runhook_axum::{ServerLimits, webhook_route};
use runhook_receiver::{
    Handler, Receiver, ReceiverBuilder, ReceiverConfig, RunConfirmer, handler_fn,
};

use runhook_store::Maintenance;

use crate::exit::Exit;
use crate::store::{ReconcileAsk, ReconcileHome, StoreUrl};
pub(crate) use args::Args;
use console::Shown;
use misbehave::{Injector, Misbehaviour};
use output::{Lines, Summaries, summarize};
use relay::Relay;

/// Serves the webhook path until Ctrl-C, SIGTERM or a closed stdout.
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
    // Who may use the console: checked before anything is bound.
    let console_token = match args.console {
        Some(addr) => crate::console::console_token(addr, args.console_token_env.as_deref())?,
        None => None,
    };
    let store_url = StoreUrl::parse(&args.store)?;
    let lines = Lines::new(args.json);
    let relay = Relay::from_args(&args, &store_url, &lines)?;
    let confirmer =
        confirm::confirmer(args.confirm_with_api, config.receive.limits.max_body_bytes)?;
    let rules = misbehaviour(&args, &config);
    // The runs client first: a missing key is a usage error before anything starts.
    let reconcile = match args.reconcile_every {
        Some(every) => {
            let client = crate::reconcile::client("--reconcile-every")?;
            let ask = crate::reconcile::ask(&client, every);
            Some((client, every, ask))
        }
        None => None,
    };
    let ask = reconcile.as_ref().map(|(_, _, ask)| ask.clone());
    // Several workers, so that connections being flooded do not delay a valid delivery.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Installed before the receiver is built, so that it records from the start.
    let metrics = match args.metrics_addr {
        Some(addr) => Some(runtime.block_on(metrics::Metrics::start(addr))?),
        None => None,
    };
    config.validate().context("invalid receiver settings")?;
    // The address is bound first, and the store or inbox opened (or created) only then: a listen
    // that cannot bind its address leaves no database file behind. The receiver is built only
    // after the listening line: a relay's workers start forwarding (and printing lines) as soon
    // as the receiver is built, and the listening line comes first.
    let (listener, console, unbuilt, maintenance, home) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let console = match args.console {
            Some(addr) => Some(crate::console::bind(addr).await?),
            None => None,
        };
        let (unbuilt, maintenance, home) = match relay {
            Some(relay) => {
                let lines = Arc::clone(&lines);
                let (builder, maintenance, home) = relay
                    .receiver(config, &store_url, lines, confirmer, ask.as_ref())
                    .await?;
                (builder, Some(maintenance), home)
            }
            None => {
                let lines = Arc::clone(&lines);
                plain_receiver(&args, config, &store_url, lines, confirmer, ask.as_ref()).await?
            }
        };
        anyhow::Ok((listener, console, unbuilt, maintenance, home))
    })?;
    let injector = Injector::new(rules, Arc::clone(&lines));
    let limits = limits(&args);
    let result = runtime.block_on(async {
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        // Installed before the first line, so that a signal sent as soon as it is read stops
        // listen gracefully.
        let signals = crate::signals::stop_signals().context("cannot listen for signals")?;
        lines.listening(&format!("http://{addr}{path}"));
        let receiver = unbuilt.build().context("invalid receiver settings")?;
        let draining = receiver.clone();
        let app_receiver = receiver.clone();
        let grace = limits.grace;
        let shown = console.as_ref().map(|_| Shown::of(&receiver));
        let app = router(
            &path,
            app_receiver,
            injector,
            Arc::clone(&lines),
            shown.as_ref().and_then(Shown::inspector),
        );
        let (stopping, mut stop_signal) = tokio::sync::watch::channel(false);
        let consoling = console.zip(shown).map(|((listener, bound), shown)| {
            shown.serve(
                listener,
                bound,
                &app,
                &path,
                console_token,
                stopping.subscribe(),
            )
        });
        if let Some(metrics) = metrics {
            metrics.serve(stop_signal.clone());
        }
        // Expired keys (PostgreSQL and SQLite stores) or a relay's done inbox rows purged every
        // minute until the stop signal; on PostgreSQL by one replica at a time.
        let purging = maintenance.map(|maintenance| {
            let mut purge_stop = stopping.subscribe();
            tokio::spawn(maintenance.run(async move {
                let _ = purge_stop.wait_for(|stopped| *stopped).await;
            }))
        });
        // Sweeps of the runs API beside the receiver, until the stop signal.
        let sweeping = match (reconcile, home) {
            (Some((client, every, _)), Some(home)) => {
                eprintln!(
                    "runhook: sweeping {} every {} for runs whose webhooks never arrived",
                    runhook::endpoint::redact_url(client.base_url()),
                    crate::progress::human_duration(every)
                );
                let reconciler = crate::reconcile::reconciler(
                    client,
                    home,
                    receiver.clone(),
                    runhook::reconcile::DEFAULT_LOOKBACK,
                );
                let mut sweep_stop = stopping.subscribe();
                let printer = Arc::clone(&lines);
                Some(tokio::spawn(reconciler.run(
                    every,
                    async move {
                        let _ = sweep_stop.wait_for(|stopped| *stopped).await;
                    },
                    move |result| {
                        if let Some(line) = crate::reconcile::sweep_line(result, printer.is_json())
                        {
                            printer.emit(line);
                        }
                    },
                )))
            }
            _ => None,
        };
        let closing = Arc::clone(&lines);
        let stop = async move {
            tokio::select! {
                () = signals => {}
                () = closing.closed() => {}
            }
            let _ = stopping.send(true);
        };
        // On the signal the receiver refuses new deliveries and gives the handlers in flight
        // the same grace period as the connections; what does not finish is released (in a
        // relay, rows being forwarded are left to their lease: tried again after a restart).
        let receiver_drained = tokio::spawn(async move {
            let _ = stop_signal.wait_for(|stopped| *stopped).await;
            draining.shutdown(grace).await
        });
        runhook_axum::serve(listener, app)
            .limits(limits)
            .with_graceful_shutdown(stop)
            .await
            .context("the server failed")?;
        let summary = receiver_drained.await.ok();
        if let Some(purging) = purging {
            purging.abort();
        }
        if let Some(sweeping) = sweeping {
            sweeping.abort();
        }
        if let Some(consoling) = consoling {
            consoling.abort();
        }
        // Stopped because stdout is closed: quietly.
        if !lines.is_gone() {
            match summary {
                Some(summary) if summary.stopped > 0 => eprintln!(
                    "runhook: stopped ({} handler(s) still running were stopped and their runs \
                     released)",
                    summary.stopped
                ),
                _ => eprintln!("runhook: stopped"),
            }
        }
        Ok(Exit::Success)
    });
    // Every line printed so far reaches stdout before the process exits.
    lines.flush();
    runtime.shutdown_timeout(Duration::from_millis(100));
    result
}

/// The receiver without --forward-to, to build: the handler prints each event's summary (after
/// --delay), deduplicating with the idempotency store of --store; with it, the maintenance task
/// that purges that store, if it needs one.
async fn plain_receiver(
    args: &Args,
    config: ReceiverConfig,
    store_url: &StoreUrl,
    lines: Arc<Lines>,
    confirmer: Option<Arc<dyn RunConfirmer>>,
    reconcile: Option<&ReconcileAsk>,
) -> anyhow::Result<(ReceiverBuilder, Option<Maintenance>, Option<ReconcileHome>)> {
    let summaries = Summaries::default();
    let delay = Duration::from_millis(args.delay.unwrap_or(0));
    let handler = summarizing_handler(Arc::clone(&summaries), delay);
    let (store, maintenance, home) = store_url.open(reconcile).await?;
    eprintln!("runhook: idempotency store {}", store_url.describe());
    let builder = Receiver::builder(handler)
        .config(config)
        .store(store)
        .observer(move |report| lines.report(report, &summaries));
    Ok((confirm::with(builder, confirmer), maintenance, home))
}

/// listen's handler: writes each event's summary for its line (after waiting `delay`) and
/// answers `Ok`.
pub(crate) fn summarizing_handler(summaries: Summaries, delay: Duration) -> impl Handler {
    handler_fn(move |event| {
        let key = (event.run_id().map(str::to_owned), event.name().to_owned());
        let summary = summarize(&event);
        summaries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, summary);
        async move {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            HandlerOutcome::Ok
        }
    })
}

/// The routes: the webhook path (behind the misbehaviour layer when one is asked for), and a
/// fallback that answers every other path 404 with a line naming the expected one.
fn router(
    path: &str,
    receiver: Receiver,
    injector: Arc<Injector>,
    lines: Arc<Lines>,
    inspector: Option<&runhook_console::Inspector>,
) -> axum::Router {
    let mut route = webhook_route(receiver);
    if injector.is_active() {
        route = route.layer(axum::middleware::from_fn_with_state(
            injector,
            misbehave::inject,
        ));
    }
    // Outermost: the inspector sees each delivery as the sender sent it and as it was answered.
    if let Some(inspector) = inspector {
        route = route.layer(inspector.layer());
    }
    let expected = path.to_owned();
    axum::Router::new().route(path, route).fallback(
        move |method: http::Method, uri: http::Uri| async move {
            // The path only: a query may carry a token.
            lines.not_found(method.as_str(), uri.path(), &expected);
            let body = serde_json::json!({ "kind": "not_found", "expected": expected });
            let json = [(http::header::CONTENT_TYPE, "application/json")];
            (http::StatusCode::NOT_FOUND, json, body.to_string())
        },
    )
}

/// The deliveries to answer on purpose (--respond, --fail-first, --fail-rate, --seed); says so
/// on stderr.
fn misbehaviour(args: &Args, config: &ReceiverConfig) -> Misbehaviour {
    let fail_rate = args.fail_rate.unwrap_or(0.0);
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|elapsed| u64::try_from(elapsed.as_nanos() % u128::from(u64::MAX)).unwrap_or(0))
            .unwrap_or(0)
    });
    if let Some(status) = args.respond {
        eprintln!("runhook: misbehaving on purpose: every delivery is answered {status}");
    }
    if let Some(n) = args.fail_first {
        eprintln!("runhook: misbehaving on purpose: the first {n} deliveries are answered 503");
    }
    if fail_rate > 0.0 {
        eprintln!(
            "runhook: misbehaving on purpose: deliveries are answered 503 with probability \
             {fail_rate} (--seed {seed})"
        );
    }
    Misbehaviour {
        respond: args.respond,
        fail_first: args.fail_first.unwrap_or(0),
        fail_rate,
        seed,
        max_body: config.receive.limits.max_body_bytes,
        deadline: config.deadline,
    }
}

/// Parses a probability or share (`--fail-rate P`, `emulate --throttle-reads P`): a number from
/// 0.0 to 1.0.
pub(crate) fn probability(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(p) if (0.0..=1.0).contains(&p) => Ok(p),
        _ => Err(format!("{text:?} is not a probability from 0.0 to 1.0")),
    }
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

//! `listen --metrics-addr ADDR`: the receiver's metrics (`runhook_events_accepted_total`, the
//! inbox's depth and attempts, …) in the Prometheus text format at `http://ADDR/metrics`, served
//! by [`runhook_axum::serve`] on a listener of its own.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;

use runhook_axum::ServerLimits;

/// How often the histograms' old samples are drained between scrapes.
const UPKEEP: Duration = Duration::from_secs(5);

/// The installed recorder and its bound listener, ready to serve.
pub(super) struct Metrics {
    handle: PrometheusHandle,
    listener: TcpListener,
}

impl Metrics {
    /// Binds `addr` and installs the Prometheus recorder as the process's metrics recorder; a
    /// taken address is an error now, at start.
    pub(super) async fn start(addr: SocketAddr) -> anyhow::Result<Metrics> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("--metrics-addr: cannot listen on {addr}"))?;
        let bound = listener
            .local_addr()
            .context("cannot read the bound address")?;
        let handle = PrometheusBuilder::new()
            .install_recorder()
            .context("cannot install the metrics recorder")?;
        runhook_receiver::metrics::describe();
        runhook_dispatch::relay::describe_metrics();
        eprintln!("runhook: metrics at http://{bound}/metrics");
        Ok(Metrics { handle, listener })
    }

    /// Serves `GET /metrics` until `stop` turns true.
    pub(super) fn serve(self, mut stop: watch::Receiver<bool>) {
        let Metrics { handle, listener } = self;
        let upkeep = handle.clone();
        let mut stop_upkeep = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(UPKEEP);
            loop {
                tokio::select! {
                    _ = tick.tick() => upkeep.run_upkeep(),
                    _ = stop_upkeep.wait_for(|stopped| *stopped) => return,
                }
            }
        });
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(move || {
                let body = handle.render();
                async move {
                    let kind = [(
                        http::header::CONTENT_TYPE,
                        "text/plain; version=0.0.4; charset=utf-8",
                    )];
                    (kind, body)
                }
            }),
        );
        let limits = ServerLimits::default().with_grace(Duration::from_millis(500));
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            let _ = runhook_axum::serve(listener, app)
                .limits(limits)
                .with_graceful_shutdown(stopped)
                .await;
        });
    }
}

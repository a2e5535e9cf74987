//! The HTTP server: the routes, the request log, the API-key check, start and shutdown. It is
//! the hardened server of `runhook listen` ([`runhook_receiver::server::serve`]), with its
//! header and idle timeouts and connection limit.

mod automation;
mod inspect;
mod list;
mod middleware;
mod openapi;
mod runs;
mod sse;
mod throttle;

pub(crate) use throttle::Throttle;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use runhook::AddressPolicy;
use runhook_dispatch::Sender;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api_error::ApiError;
use crate::clock::Speed;
use crate::config::{EmulatorConfig, StoreConfig};
use crate::error::EmulatorError;
use crate::request::Loopback;
use crate::state::{Settings, Shared};
use crate::store::RunDb;
use crate::webhook::wait_for_posts;

/// The largest request body accepted (a full `/run-batch` fits).
const BODY_LIMIT: usize = 4 * 1024 * 1024;

/// How many webhook attempts the delivery log keeps per run kept ([`EmulatorConfig::max_runs`]).
const DELIVERIES_PER_RUN: usize = 4;

/// How long connections in progress may take to finish when the emulator stops.
const CONNECTION_GRACE: Duration = Duration::from_secs(2);

/// A running emulator. Stop it with [`shutdown`](Self::shutdown); dropping it stops serving
/// abruptly.
#[derive(Debug)]
pub struct Emulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.settings.base_url)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// Serves the emulated API on `listener` (its runs read back from the store first) until
    /// [`shutdown`](Self::shutdown). Must be called inside a tokio runtime.
    pub async fn start(
        config: EmulatorConfig,
        listener: tokio::net::TcpListener,
    ) -> Result<Emulator, EmulatorError> {
        config.validate()?;
        let addr = listener.local_addr().map_err(EmulatorError::Listener)?;
        let (store, loaded) = match &config.store {
            StoreConfig::Sqlite(path) => {
                let (path, max_runs) = (path.clone(), config.max_runs);
                let (store, runs) =
                    tokio::task::spawn_blocking(move || RunDb::open(&path, max_runs))
                        .await
                        .map_err(|e| EmulatorError::Listener(std::io::Error::other(e)))??;
                (Some(store), runs)
            }
            StoreConfig::Memory => (None, Vec::new()),
        };
        let mut builder = Sender::builder().address_policy(AddressPolicy {
            allow_loopback: config.allow_http_loopback || config.allow_https_loopback,
            allow_private: false,
        });
        for pem in &config.webhook_roots_pem {
            builder = builder.add_root_certificates_pem(pem)?;
        }
        let sender = builder.build()?;
        let settings = Settings {
            api_keys: config.api_keys,
            loopback: Loopback {
                http: config.allow_http_loopback,
                https: config.allow_https_loopback,
            },
            speed: Speed::new(config.speed),
            scenario: config.scenario,
            policy: config.retry_policy,
            observer: config.observer,
            base_url: format!("http://{addr}"),
            sender,
            max_runs: config.max_runs,
            max_deliveries: config.max_runs.saturating_mul(DELIVERIES_PER_RUN),
            throttle: config
                .throttle_reads
                .map(|(fraction, retry_after)| throttle::Throttle::new(fraction, retry_after)),
        };
        let shared = Arc::new(Shared::new(settings, store, loaded));
        let app = router(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        let limits = config.server_limits.with_grace(CONNECTION_GRACE);
        let server = tokio::spawn(async move {
            let _ = runhook_receiver::server::serve(listener, app)
                .limits(limits)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Emulator {
            shared,
            addr,
            stop: Some(stop),
            server: Some(server),
        })
    }

    /// The address the emulator listens on (the real port when it was bound to port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`: the base URL to give a client.
    pub fn base_url(&self) -> String {
        self.shared.settings.base_url.clone()
    }

    /// Every webhook attempt so far, oldest first: what `GET /_emulator/deliveries` lists.
    pub fn deliveries(&self) -> Vec<crate::DeliveryRecord> {
        self.shared.deliveries()
    }

    /// Stops: runs in progress stop where they are (with a SQLite store they are marked FAILED
    /// at the next start), streams and waiting `/run` calls end, connections get a short grace
    /// period, webhook attempts in flight get about a second, and the store is flushed.
    pub async fn shutdown(mut self) {
        self.shared.stopping.send_replace(true);
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut server) = self.server.take()
            && tokio::time::timeout(CONNECTION_GRACE, &mut server)
                .await
                .is_err()
        {
            server.abort();
        }
        wait_for_posts(&self.shared).await;
        if let Some(mut store) = self.shared.take_store() {
            let _ = tokio::task::spawn_blocking(move || store.close()).await;
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            self.shared.stopping.send_replace(true);
            server.abort();
            if let Some(mut store) = self.shared.take_store() {
                // Closing joins the writer thread: off the async runtime when there is one.
                match tokio::runtime::Handle::try_current() {
                    Ok(runtime) => drop(runtime.spawn_blocking(move || store.close())),
                    Err(_) => store.close(),
                }
            }
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/v1/automation/run", post(automation::run_sync))
        .route("/v1/automation/run-async", post(automation::run_async))
        .route("/v1/automation/run-sse", post(sse::run_sse))
        .route("/v1/automation/run-batch", post(automation::run_batch))
        .merge(
            Router::new()
                .route("/v1/runs", get(list::list_runs))
                .route("/v1/runs/batch", post(runs::batch_get))
                .route_layer(axum::middleware::from_fn_with_state(
                    Arc::clone(&shared),
                    throttle::throttle_reads,
                )),
        )
        .route("/v1/runs/batch/cancel", post(runs::batch_cancel))
        .route("/v1/runs/{id}", get(runs::get_run))
        .route("/v1/runs/{id}/cancel", post(runs::cancel_run))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            middleware::require_api_key,
        ));
    let inspect = Router::new()
        .route("/_emulator/runs", get(inspect::runs))
        .route("/_emulator/deliveries", get(inspect::deliveries))
        .route_layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            middleware::require_api_key,
        ))
        // The page a run's `streaming_url` points to is opened in a browser, without a key; it
        // shows no webhook URL. The OpenAPI document is public too.
        .route("/_emulator/stream/{id}", get(inspect::stream_page))
        .route("/openapi.json", get(openapi::document));
    api.merge(inspect)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&shared),
            middleware::log_request,
        ))
        .with_state(shared)
}

async fn not_found(method: Method, uri: Uri) -> Response {
    ApiError::route_not_found(method.as_str(), uri.path()).into_response()
}

async fn method_not_allowed(method: Method, uri: Uri) -> Response {
    ApiError::method_not_allowed(method.as_str(), uri.path()).into_response()
}

/// Reads a request body, at most [`BODY_LIMIT`] bytes.
async fn read_body(body: Body) -> Result<bytes::Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| ApiError::too_large(BODY_LIMIT))
}

//! The [`Receiver`]: its parts and the calls adapters make.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use http_body::Body;
use runhook::MemoryStore;
use runhook::inbox::{Inbox, InboxDepth};
use runhook::outcome::Disposition;
use runhook::receive::{Rejection, RejectionKind, check_method};
use runhook::store::{IdempotencyStore, StoreError};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::body::{BodyLimits, Collected, collect};
use crate::dead_letter::DeadLetters;
use crate::inbox::InboxWorkers;
use crate::pipeline::{Facts, Request, request_span};
use crate::{
    Clock, DeadLetter, Handler, Observer, ReceiverBuilder, ReceiverConfig, RunConfirmer,
    WebhookResponse,
};

/// Receives webhooks: runs [`runhook::receive()`], deduplicates through an [`IdempotencyStore`],
/// calls the [`Handler`] under a deadline and answers with the status the sender needs
/// (`docs/receiving.md`).
///
/// Cheap to clone (an `Arc` inside); adapters clone it into their routes and call
/// [`Receiver::receive_body`] (or [`Receiver::receive`]) with the raw request. Must be used
/// within a tokio runtime: the handler runs in a task of its own.
#[derive(Clone)]
pub struct Receiver {
    pub(crate) inner: Arc<Inner>,
}

/// What every delivery shares.
pub(crate) struct Inner {
    pub(crate) config: ReceiverConfig,
    pub(crate) store: Arc<dyn IdempotencyStore>,
    pub(crate) handler: Arc<dyn Handler>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) dead_letters: DeadLetters,
    /// The handler tasks, so a shutdown can wait for them.
    pub(crate) tasks: TaskTracker,
    /// Set once a shutdown starts: new deliveries are refused.
    pub(crate) closing: AtomicBool,
    /// Cancelled at the end of a shutdown's grace period: handlers still running are stopped.
    pub(crate) stop: CancellationToken,
    /// Inbox mode: the workers that process the inbox the pipeline inserts into.
    pub(crate) inbox: Option<InboxWorkers>,
    /// Confirm by API: fetches each event's run before it is processed or stored.
    pub(crate) confirmer: Option<Arc<dyn RunConfirmer>>,
}

/// How a [`Receiver::shutdown`] went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownSummary {
    /// Handlers running when the shutdown started.
    pub in_flight: usize,
    /// Of those, the ones still running at the end of the grace period: stopped, their claims
    /// released and their events reported (a sender's retry, or another replica, processes them).
    pub stopped: usize,
}

impl Receiver {
    /// Assembles a receiver from a configuration that was validated; the store defaults to a
    /// [`MemoryStore`] of the configured capacity.
    #[allow(clippy::too_many_arguments)] // one per part; called from two places
    pub(crate) fn from_parts(
        config: ReceiverConfig,
        store: Option<Arc<dyn IdempotencyStore>>,
        handler: Arc<dyn Handler>,
        observer: Option<Arc<dyn Observer>>,
        clock: Arc<dyn Clock>,
        inbox: Option<InboxWorkers>,
        confirmer: Option<Arc<dyn RunConfirmer>>,
    ) -> Self {
        let store =
            store.unwrap_or_else(|| Arc::new(MemoryStore::with_capacity(config.store_capacity)));
        let dead_letters = DeadLetters::new(config.dead_letter_capacity);
        Receiver {
            inner: Arc::new(Inner {
                config,
                store,
                handler,
                observer,
                clock,
                dead_letters,
                tasks: TaskTracker::new(),
                closing: AtomicBool::new(false),
                stop: CancellationToken::new(),
                inbox,
                confirmer,
            }),
        }
    }

    /// A receiver with the default configuration and an in-memory store.
    pub fn new(handler: impl Handler) -> Self {
        Self::from_parts(
            ReceiverConfig::default(),
            None,
            Arc::new(handler),
            None,
            Arc::new(crate::SystemClock),
            None,
            None,
        )
    }

    /// A builder, to set the configuration, the store, an observer or the clock.
    pub fn builder(handler: impl Handler) -> ReceiverBuilder {
        ReceiverBuilder::new(Arc::new(handler))
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.inner.config
    }

    /// The idempotency store.
    pub fn store(&self) -> &Arc<dyn IdempotencyStore> {
        &self.inner.store
    }

    /// The body limit, for adapters that bound the body while reading it.
    pub fn max_body_bytes(&self) -> usize {
        self.inner.config.receive.limits.max_body_bytes
    }

    /// The dead letters kept now, oldest first: events whose handler failed after their
    /// response had gone out (see [`DeadLetter`]).
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.inner.dead_letters.snapshot()
    }

    /// Takes the dead letters kept now, oldest first, to process them again.
    pub fn take_dead_letters(&self) -> Vec<DeadLetter> {
        self.inner.dead_letters.take()
    }

    /// In inbox mode, the inbox its events are inserted into (to list rows, replay dead ones);
    /// `None` in inline mode.
    pub fn inbox(&self) -> Option<&Arc<dyn Inbox>> {
        self.inner.inbox.as_ref().map(InboxWorkers::inbox)
    }

    /// In inbox mode, its workers (to wake them after a replay, say); `None` in inline mode.
    pub fn inbox_workers(&self) -> Option<&InboxWorkers> {
        self.inner.inbox.as_ref()
    }

    /// In inbox mode, how many rows the inbox holds, by state, now (the receiver's clock);
    /// `Ok(None)` in inline mode.
    pub async fn inbox_depth(&self) -> Result<Option<InboxDepth>, StoreError> {
        match self.inbox() {
            Some(inbox) => inbox.depth(self.inner.clock.now()).await.map(Some),
            None => Ok(None),
        }
    }

    /// Shuts the receiver down gracefully: from now on new deliveries get 503 (the sender retries
    /// them, elsewhere or later); handlers in flight may finish within `grace`; those still
    /// running then are stopped (their futures dropped), their claims released and their events
    /// reported with [`ReceiveOutcome::ShuttingDown`](runhook::ReceiveOutcome::ShuttingDown).
    ///
    /// In inbox mode, the workers stop claiming rows, attempts in progress may finish within
    /// `grace`, and those still running then are stopped and left to their leases: their rows
    /// are retried once the leases run out (see [`InboxWorkers::shutdown`]). The summary counts
    /// inbox attempts.
    ///
    /// Stop the server first, or at the same time (e.g. from axum's `with_graceful_shutdown`),
    /// so no new connection arrives; clones of the receiver share the shutdown.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownSummary {
        let inline = self.shutdown_inline(grace);
        match &self.inner.inbox {
            Some(workers) => {
                let (inline, inbox) = tokio::join!(inline, workers.shutdown(grace));
                ShutdownSummary {
                    in_flight: inline.in_flight + inbox.in_flight,
                    stopped: inline.stopped + inbox.stopped,
                }
            }
            None => inline.await,
        }
    }

    /// The shutdown of the handlers run in requests.
    async fn shutdown_inline(&self, grace: Duration) -> ShutdownSummary {
        let inner = &self.inner;
        inner.closing.store(true, Ordering::SeqCst);
        inner.tasks.close();
        let in_flight = inner.tasks.len();
        if timeout(grace, inner.tasks.wait()).await.is_ok() {
            return ShutdownSummary {
                in_flight,
                stopped: 0,
            };
        }
        let stopped = inner.tasks.len();
        inner.stop.cancel();
        // The stopped handlers release their claims, each within the store timeout.
        let _ = timeout(inner.config.store_timeout * 2, inner.tasks.wait()).await;
        ShutdownSummary { in_flight, stopped }
    }

    /// Whether a shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.closing.load(Ordering::SeqCst)
    }

    /// Handles one request whose body is already read. The body must be the raw bytes received.
    /// The body budget and timeout are not applied (the caller read the body); prefer
    /// [`Receiver::receive_body`].
    pub async fn receive(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: Bytes,
    ) -> WebhookResponse {
        let request = Request {
            method,
            uri,
            headers,
            extensions: None,
            arrived: Instant::now(),
        };
        let span = request_span(method);
        self.inner.process(&request, body).instrument(span).await
    }

    /// Handles one request, reading its body within the body limit (413 over it, the excess
    /// read and thrown away within bounds so the client sees the 413), the body timeout (503)
    /// and the body budget (503 with `Retry-After`). Works with any `http_body::Body`, e.g.
    /// hyper's `Incoming` or axum's `Body`.
    pub async fn receive_body<B>(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
        body: B,
    ) -> WebhookResponse
    where
        B: Body,
        B::Error: fmt::Display,
    {
        let request = Request {
            method,
            uri,
            headers,
            extensions: None,
            arrived: Instant::now(),
        };
        self.receive_read(request, body).await
    }

    /// Handles one request as the `http` crate types it, reading its body as
    /// [`Receiver::receive_body`] does. Its extensions reach the handler's
    /// [`HandlerContext`](crate::HandlerContext): path parameters ([`PathParams`](crate::PathParams)),
    /// the application's state, anything an adapter or a middleware put there.
    pub async fn receive_request<B>(&self, request: http::Request<B>) -> WebhookResponse
    where
        B: Body,
        B::Error: fmt::Display,
    {
        let (parts, body) = request.into_parts();
        let request = Request {
            method: &parts.method,
            uri: &parts.uri,
            headers: &parts.headers,
            extensions: Some(&parts.extensions),
            arrived: Instant::now(),
        };
        self.receive_read(request, body).await
    }

    /// Reads the body within the limits, then runs the pipeline.
    async fn receive_read<B>(&self, request: Request<'_>, body: B) -> WebhookResponse
    where
        B: Body,
        B::Error: fmt::Display,
    {
        let (method, headers) = (request.method, request.headers);
        let span = request_span(method);
        async {
            let config = &self.inner.config;
            let limits = BodyLimits {
                max_bytes: config.receive.limits.max_body_bytes,
                timeout: config.body_timeout,
                budget: &config.body_budget,
            };
            match collect(headers, body, limits).await {
                Collected::Complete(body, charge) => {
                    let response = self.inner.process(&request, body).await;
                    drop(charge);
                    response
                }
                Collected::TooLarge(len) => {
                    let rejection = check_method(method).err().unwrap_or_else(|| {
                        Rejection::payload_too_large(len, self.max_body_bytes())
                    });
                    self.inner
                        .rejected(&rejection, Facts::none(request.arrived))
                        .closing()
                }
                Collected::Failed(error) => {
                    let rejection = Rejection::new(
                        RejectionKind::MalformedJson,
                        format!("the request body could not be read: {error}"),
                    );
                    self.inner
                        .rejected(&rejection, Facts::none(request.arrived))
                        .closing()
                }
                Collected::TimedOut => {
                    let detail = format!(
                        "the body did not arrive within the body timeout of {:?}",
                        config.body_timeout
                    );
                    self.inner.unread(request.arrived, detail, None)
                }
                Collected::OverBudget => {
                    let detail = format!(
                        "the receiver's body budget ({} bytes) is spent by requests in progress; \
                         the body was not read, retry later",
                        config.body_budget.capacity()
                    );
                    self.inner
                        .unread(request.arrived, detail, Some(Duration::from_secs(1)))
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The 413 response, for adapters whose framework enforced the body limit itself. `len` is
    /// the body's length if known.
    pub fn too_large(&self, len: Option<u64>) -> WebhookResponse {
        let rejection = Rejection::payload_too_large(len, self.max_body_bytes());
        self.inner
            .rejected(&rejection, Facts::none(Instant::now()))
            .closing()
    }
}

impl Inner {
    /// The 503 for a body that was not read whole (it failed, timed out or did not fit the
    /// budget); the connection is closed, since the rest of the body is still unread.
    fn unread(
        &self,
        arrived: Instant,
        detail: String,
        retry_after: Option<Duration>,
    ) -> WebhookResponse {
        let disposition = Disposition::BodyUnread { retry_after };
        self.respond(Facts::none(arrived), &disposition, detail.into())
            .closing()
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.inner.config)
            .field("observer", &self.inner.observer.is_some())
            .field("clock", &self.inner.clock)
            .field("inbox", &self.inner.inbox)
            .field("confirm", &self.inner.confirmer.is_some())
            .finish_non_exhaustive()
    }
}

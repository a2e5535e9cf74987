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
use runhook::store::{IdempotencyStore, StoreError};
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::dead_letter::DeadLetters;
use crate::inbox::{InboxProcessor, InboxWorkers};
use crate::pipeline::{Mode, Pipeline, Request};
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
/// within a tokio runtime: a handler that does not finish at its first poll goes on in a task
/// of its own.
#[derive(Clone)]
pub struct Receiver {
    pipeline: Arc<Pipeline>,
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
    pub(crate) fn from_parts(
        config: ReceiverConfig,
        store: Option<Arc<dyn IdempotencyStore>>,
        mode: Mode,
        observer: Option<Arc<dyn Observer>>,
        clock: Arc<dyn Clock>,
        confirmer: Option<Arc<dyn RunConfirmer>>,
    ) -> Self {
        let store =
            store.unwrap_or_else(|| Arc::new(MemoryStore::with_capacity(config.store_capacity)));
        let dead_letters = DeadLetters::new(config.dead_letter_capacity);
        Receiver {
            pipeline: Arc::new(Pipeline {
                config,
                store,
                mode,
                observer,
                clock,
                dead_letters,
                tasks: TaskTracker::new(),
                closing: AtomicBool::new(false),
                stop: CancellationToken::new(),
                confirmer,
            }),
        }
    }

    /// A receiver in inline mode, with the default configuration and an in-memory store: each
    /// accepted event is deduplicated and `handler` runs in the request.
    pub fn new(handler: impl Handler) -> Self {
        Self::from_parts(
            ReceiverConfig::default(),
            None,
            Mode::Inline(Arc::new(handler)),
            None,
            Arc::new(crate::SystemClock),
            None,
        )
    }

    /// A builder of a receiver in inline mode, to set the configuration, the store, an observer
    /// or the clock.
    pub fn builder(handler: impl Handler) -> ReceiverBuilder {
        ReceiverBuilder::inline(Arc::new(handler))
    }

    /// A builder of a receiver in inbox mode: each accepted event is inserted into `inbox` and
    /// answered 200 once stored (a key already there: 200, not stored again; the inbox failing
    /// or not answering within the deadline: 503), and `processor` runs later, in workers that
    /// [`build`](ReceiverBuilder::build) spawns on the current tokio runtime, with retries on the
    /// inbox policy for as long as it allows (72 h by default). The idempotency
    /// [`store`](ReceiverBuilder::store) is not used: the inbox deduplicates. An event without a
    /// key (a custom [`KeyStrategy`](runhook::store::KeyStrategy) returned `None`, an unknown
    /// event without a run) is keyed `sha256:<hex of its body>`.
    ///
    /// Any [`Handler`] is a processor (`Arc::new(handlers)`); `runhook-store`'s
    /// `PostgresInbox::transactional` commits the handler's writes with the row's done mark, so
    /// they happen exactly once. The workers' settings are [`ReceiverConfig::inbox`]. Rows of
    /// one run are processed one at a time, in the order received; the handler's
    /// [`HandlerContext::attempt`](crate::HandlerContext::attempt) counts the attempts, and its
    /// URI is `/` and headers empty (the request is gone by then).
    ///
    /// Use it when the handler may be slower than the sender's patience, may fail for longer
    /// than its retries last, or must survive a restart; see "Inbox mode" in
    /// `docs/receiving.md`. Use a durable inbox in production (`runhook-store`'s SQLite or
    /// PostgreSQL inbox): [`MemoryInbox`](runhook::inbox::MemoryInbox) loses its rows with the
    /// process.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use runhook::HandlerOutcome;
    /// use runhook::inbox::MemoryInbox;
    /// use runhook_receiver::{Handlers, Receiver};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let handlers = Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok });
    /// let receiver = Receiver::with_inbox(Arc::new(MemoryInbox::new()), Arc::new(handlers))
    ///     .build()
    ///     .unwrap();
    /// assert!(receiver.inbox().is_some());
    /// # }
    /// ```
    pub fn with_inbox(
        inbox: Arc<dyn Inbox>,
        processor: Arc<dyn InboxProcessor>,
    ) -> ReceiverBuilder {
        ReceiverBuilder::inbox_mode(inbox, processor)
    }

    /// The configuration.
    pub fn config(&self) -> &ReceiverConfig {
        &self.pipeline.config
    }

    /// The idempotency store.
    pub fn store(&self) -> &Arc<dyn IdempotencyStore> {
        &self.pipeline.store
    }

    /// The body limit, for adapters that bound the body while reading it.
    pub fn max_body_bytes(&self) -> usize {
        self.pipeline.config.receive.limits.max_body_bytes
    }

    /// The dead letters kept now, oldest first: events whose handler failed after their
    /// response had gone out (see [`DeadLetter`]).
    pub fn dead_letters(&self) -> Vec<DeadLetter> {
        self.pipeline.dead_letters.snapshot()
    }

    /// Takes the dead letters kept now, oldest first, to process them again.
    pub fn take_dead_letters(&self) -> Vec<DeadLetter> {
        self.pipeline.dead_letters.take()
    }

    /// In inbox mode, the inbox its events are inserted into (to list rows, replay dead ones);
    /// `None` in inline mode.
    pub fn inbox(&self) -> Option<&Arc<dyn Inbox>> {
        self.inbox_workers().map(InboxWorkers::inbox)
    }

    /// In inbox mode, its workers (to wake them after a replay, say); `None` in inline mode.
    pub fn inbox_workers(&self) -> Option<&InboxWorkers> {
        match &self.pipeline.mode {
            Mode::Inbox(workers) => Some(workers),
            Mode::Inline(_) => None,
        }
    }

    /// In inbox mode, how many rows the inbox holds, by state, now (the receiver's clock);
    /// `Ok(None)` in inline mode.
    pub async fn inbox_depth(&self) -> Result<Option<InboxDepth>, StoreError> {
        match self.inbox() {
            Some(inbox) => inbox.depth(self.pipeline.clock.now()).await.map(Some),
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
        match self.inbox_workers() {
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
        let pipeline = &self.pipeline;
        pipeline.closing.store(true, Ordering::SeqCst);
        pipeline.tasks.close();
        let in_flight = pipeline.tasks.len();
        if timeout(grace, pipeline.tasks.wait()).await.is_ok() {
            return ShutdownSummary {
                in_flight,
                stopped: 0,
            };
        }
        let stopped = pipeline.tasks.len();
        pipeline.stop.cancel();
        // The stopped handlers release their claims, each within the store timeout.
        let _ = timeout(pipeline.config.store_timeout * 2, pipeline.tasks.wait()).await;
        ShutdownSummary { in_flight, stopped }
    }

    /// Whether a shutdown has started.
    pub fn is_shutting_down(&self) -> bool {
        self.pipeline.is_closing()
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
        let request = Request::new(method, uri, headers, None);
        self.pipeline.receive_read(request, body).await
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
        let request = Request::new(method, uri, headers, None);
        self.pipeline.receive(request, body).await
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
        let request = Request::new(
            &parts.method,
            &parts.uri,
            &parts.headers,
            Some(&parts.extensions),
        );
        self.pipeline.receive(request, body).await
    }

    /// Delivers an event that a reconciler recovered from the runs API, down the same path as a
    /// webhook: in inline mode its key is claimed in the idempotency store and the handler runs
    /// under the claim; in inbox mode it is inserted into the inbox. Either way the store decides
    /// whether it is new, so a run that arrives both by webhook and by sweep is processed once.
    /// The handler's [`HandlerContext::source`](crate::HandlerContext::source), the inbox row and
    /// the [`Report`](crate::Report) say [`Source::Reconciler`](runhook::Source::Reconciler),
    /// and [`metrics::EVENTS_RECOVERED`](crate::metrics::EVENTS_RECOVERED) counts it instead of
    /// the webhook counters.
    ///
    /// The request checks and the confirmation by API are skipped (the event is built from the
    /// API's own run, with `runhook::Event::from_run`). The answer is the status a webhook would
    /// have got: 200 processed, stored or a duplicate; 503 to try again later; 422 rejected by
    /// the handler. `runhook_receiver::reconcile::Reconciler` calls it for each run a sweep
    /// recovers.
    pub async fn recover(&self, event: runhook::Event) -> WebhookResponse {
        self.pipeline.recover(event).await
    }

    /// Whether the idempotency store (inline mode) or the inbox (inbox mode) already holds
    /// `event`'s key: processed, in progress or stored. A reconciler asks before it fetches a
    /// run in full; the answer is advice (the claim or insert of [`Receiver::recover`] decides).
    pub async fn has_seen(&self, event: &runhook::Event) -> Result<bool, StoreError> {
        self.pipeline.has_seen(event).await
    }

    /// The 413 response, for adapters whose framework enforced the body limit itself. `len` is
    /// the body's length if known.
    pub fn too_large(&self, len: Option<u64>) -> WebhookResponse {
        self.pipeline.too_large(len)
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.pipeline.config)
            .field("observer", &self.pipeline.observer.is_some())
            .field("clock", &self.pipeline.clock)
            .field("inbox", &self.inbox_workers())
            .field("confirm", &self.pipeline.confirmer.is_some())
            .finish_non_exhaustive()
    }
}

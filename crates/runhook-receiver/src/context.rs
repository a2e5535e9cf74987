//! What a handler knows about a delivery besides the event: [`HandlerContext`], and
//! [`Received`], the event with its context.

use std::ops::Deref;
use std::time::SystemTime;

use http::{Extensions, HeaderMap, Uri};
use runhook::Source;
use tokio_util::sync::CancellationToken;

/// A request's path parameters, as the web framework matched them (e.g. `tenant` in
/// `/webhooks/tinyfish/{tenant}`). Adapters put it in the request's extensions; handlers read it
/// with [`HandlerContext::path_param`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathParams(pub Vec<(String, String)>);

/// What a handler knows about the delivery of its event: the request's URI, headers and path
/// parameters, when it arrived, which attempt it is (when known), how it arrived (a webhook, or
/// recovered by the reconciler), a cancellation signal, and the request's extensions (where an
/// adapter puts the application's state).
#[derive(Debug, Clone)]
pub struct HandlerContext {
    uri: Uri,
    headers: HeaderMap,
    extensions: Extensions,
    received_at: SystemTime,
    attempt: Option<u32>,
    source: Source,
    cancellation: CancellationToken,
}

impl HandlerContext {
    /// A context: for the receiver, and for tests of your own handlers.
    pub fn new(uri: Uri, headers: HeaderMap, received_at: SystemTime) -> Self {
        HandlerContext {
            uri,
            headers,
            extensions: Extensions::new(),
            received_at,
            attempt: None,
            source: Source::Webhook,
            cancellation: CancellationToken::new(),
        }
    }

    /// This context with the request's extensions (path parameters, state, …).
    pub fn with_extensions(mut self, extensions: Extensions) -> Self {
        self.extensions = extensions;
        self
    }

    /// This context with the delivery attempt, 1 for the first.
    pub fn with_attempt(mut self, attempt: u32) -> Self {
        self.attempt = Some(attempt);
        self
    }

    /// This context, for an event that arrived from `source` (default: a webhook).
    pub fn with_source(mut self, source: Source) -> Self {
        self.source = source;
        self
    }

    /// This context cancelled through `cancellation`.
    pub(crate) fn with_cancellation(mut self, cancellation: CancellationToken) -> Self {
        self.cancellation = cancellation;
        self
    }

    /// The request's URI: path and query, as received (a URL token included: do not log it).
    pub fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The path parameter `name`, if the framework matched one (axum's `{tenant}`, say).
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params()
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every path parameter the framework matched, in order.
    pub fn path_params(&self) -> &[(String, String)] {
        self.extensions
            .get::<PathParams>()
            .map_or(&[], |params| params.0.as_slice())
    }

    /// The application's state of type `T`, if the adapter put it in the request (e.g.
    /// `runhook_axum::webhook_route_with_state`), or any other extension of that type.
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.extensions.get::<T>().cloned()
    }

    /// The request's extensions.
    pub fn extensions(&self) -> &Extensions {
        &self.extensions
    }

    /// When the request reached the receiver (its clock).
    pub fn received_at(&self) -> SystemTime {
        self.received_at
    }

    /// Which delivery attempt this is, 1 for the first, when the receiver knows it (a TinyFish
    /// sender does not say; the durable inbox counts its own attempts).
    pub fn attempt(&self) -> Option<u32> {
        self.attempt
    }

    /// How the event arrived: [`Source::Webhook`], posted by the sender, or
    /// [`Source::Reconciler`], recovered by a sweep of the runs API because its webhook never
    /// arrived (the receiver was down, say). The event is the same either way; a recovered one
    /// is built from the run as the API returns it. For a recovered event, the URI is `/` and
    /// the headers are empty.
    pub fn source(&self) -> Source {
        self.source
    }

    /// Whether the handler has been asked to stop: its maximum run time is near its end, or the
    /// receiver is shutting down and the grace period is over. The handler's future is dropped
    /// right after; use it to stop cleanly (roll back, release a lock).
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }

    /// Resolves when the handler is asked to stop (see [`HandlerContext::is_cancelled`]), for a
    /// `tokio::select!` beside the handler's work.
    pub async fn cancelled(&self) {
        self.cancellation.cancelled().await;
    }
}

/// An event as received: the event, and the [`HandlerContext`] of its delivery.
///
/// It dereferences to the event, so a handler reads `run.run_id` or `run.data.result` directly,
/// and `run.context()` for the rest; [`Received::into_inner`] gives the event by value.
#[derive(Debug, Clone)]
pub struct Received<T> {
    event: T,
    context: HandlerContext,
}

impl<T> Received<T> {
    /// An event with its context.
    pub fn new(event: T, context: HandlerContext) -> Self {
        Received { event, context }
    }

    /// The delivery's context.
    pub fn context(&self) -> &HandlerContext {
        &self.context
    }

    /// The event, by value.
    pub fn into_inner(self) -> T {
        self.event
    }

    /// The event and the context, by value.
    pub fn into_parts(self) -> (T, HandlerContext) {
        (self.event, self.context)
    }

    /// The same context with another event (e.g. the `RunEvent` inside an `Event`).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Received<U> {
        Received {
            event: f(self.event),
            context: self.context,
        }
    }
}

impl<T> Received<T> {
    /// The same event with its context changed.
    pub(crate) fn map_context(self, f: impl FnOnce(HandlerContext) -> HandlerContext) -> Self {
        Received {
            event: self.event,
            context: f(self.context),
        }
    }
}

impl<T> Deref for Received<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.event
    }
}

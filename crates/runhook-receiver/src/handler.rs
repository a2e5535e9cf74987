//! What a receiver calls with each accepted event.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use runhook::{Event, HandlerOutcome};

use crate::Received;

/// Processes an accepted, deduplicated event and says how it went.
///
/// Called at most once at a time per idempotency key. It is polled once in the request, and
/// goes on in a task of its own if it did not finish then: a panic is caught (the claim is
/// released and the sender asked to retry), and a handler still running when the deadline passes
/// goes on in the background; its outcome then settles the claim.
///
/// See [`Handlers`](crate::Handlers) for one closure per event type, and [`handler_fn`] for one
/// closure for all.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Processes `event` (the event, with its delivery's context): [`HandlerOutcome::Ok`]
    /// (200), [`HandlerOutcome::Retry`] (503: deliver again) or [`HandlerOutcome::Reject`] (422:
    /// never).
    async fn handle(&self, event: Received<Event>) -> HandlerOutcome;
}

#[async_trait]
impl<H: Handler + ?Sized> Handler for Arc<H> {
    async fn handle(&self, event: Received<Event>) -> HandlerOutcome {
        (**self).handle(event).await
    }
}

/// A [`Handler`] made of a closure; see [`handler_fn`].
#[derive(Debug, Clone)]
pub struct HandlerFn<F>(F);

/// A [`Handler`] from an async closure of the event (a [`Received<Event>`](Received): the event,
/// dereferenced, and its delivery's context). The closure may return a [`HandlerOutcome`] or a
/// `Result<(), E>` (an error asks for a retry).
///
/// ```
/// use runhook::HandlerOutcome;
/// use runhook_receiver::{Receiver, handler_fn};
///
/// let receiver = Receiver::new(handler_fn(|event| async move {
///     // The URI may carry the URL token: print it redacted.
///     let uri = runhook::endpoint::redact_url(&event.context().uri().to_string());
///     println!("{} for {:?} at {uri}", event.name(), event.run_id());
///     HandlerOutcome::Ok
/// }));
/// # drop(receiver);
/// ```
pub fn handler_fn<F, Fut>(handler: F) -> HandlerFn<F>
where
    F: Fn(Received<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Into<HandlerOutcome>,
{
    HandlerFn(handler)
}

#[async_trait]
impl<F, Fut> Handler for HandlerFn<F>
where
    F: Fn(Received<Event>) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Into<HandlerOutcome>,
{
    async fn handle(&self, event: Received<Event>) -> HandlerOutcome {
        (self.0)(event).await.into()
    }
}

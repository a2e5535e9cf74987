//! One closure per event type.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use runhook::{Event, HandlerOutcome, RunEvent, UnknownEvent};

use crate::{Handler, Received};

type BoxFuture = Pin<Box<dyn Future<Output = HandlerOutcome> + Send>>;
type Route<T> = Box<dyn Fn(T) -> BoxFuture + Send + Sync>;

/// A [`Handler`] that routes each event type to its own async closure.
///
/// An event without a route is acknowledged ([`HandlerOutcome::Ok`], 200) without further work;
/// that is also what happens to an unknown event type unless [`Handlers::on_unknown`] is set, so a
/// new event type from TinyFish never breaks a receiver. Closures may return a
/// [`HandlerOutcome`] or a `Result<(), E>` (an error asks for a retry).
///
/// ```
/// use runhook::HandlerOutcome;
/// use runhook_receiver::{Receiver, Handlers};
///
/// let router = Handlers::new()
///     .on_completed(|run| async move {
///         // `run` is the event with its delivery's context: `run.context().uri()`, ….
///         println!("{} finished: {:?}", run.run_id, run.data.result.value());
///         HandlerOutcome::Ok
///     })
///     .on_failed(|run| async move {
///         let why = run.data.error.value().map(|e| e.message.clone());
///         Err::<(), _>(format!("not ready to record failures yet: {why:?}"))
///     })
///     .on_cancelled(|_run| async { HandlerOutcome::Ok })
///     .on_unknown(|event| async move {
///         println!("a newer event type: {}", event.event);
///         HandlerOutcome::Ok
///     });
/// let receiver = Receiver::new(router);
/// # drop(receiver);
/// ```
#[derive(Default)]
pub struct Handlers {
    completed: Option<Route<Received<RunEvent>>>,
    failed: Option<Route<Received<RunEvent>>>,
    cancelled: Option<Route<Received<RunEvent>>>,
    unknown: Option<Route<Received<UnknownEvent>>>,
}

impl Handlers {
    /// A router with no routes: every event is acknowledged.
    pub fn new() -> Self {
        Self::default()
    }

    /// Handles `run.completed`.
    pub fn on_completed<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Received<RunEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Into<HandlerOutcome>,
    {
        self.completed = Some(route(handler));
        self
    }

    /// Handles `run.failed`.
    pub fn on_failed<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Received<RunEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Into<HandlerOutcome>,
    {
        self.failed = Some(route(handler));
        self
    }

    /// Handles `run.cancelled`.
    pub fn on_cancelled<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Received<RunEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Into<HandlerOutcome>,
    {
        self.cancelled = Some(route(handler));
        self
    }

    /// Handles event types runhook does not know (kept verbatim in [`UnknownEvent::raw`]).
    pub fn on_unknown<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(Received<UnknownEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: Into<HandlerOutcome>,
    {
        self.unknown = Some(route(handler));
        self
    }
}

fn route<T, F, Fut>(handler: F) -> Route<T>
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Into<HandlerOutcome>,
{
    Box::new(move |input| {
        let future = handler(input);
        Box::pin(async move { future.await.into() })
    })
}

async fn call<T>(route: Option<&Route<T>>, input: T, name: &str) -> HandlerOutcome {
    match route {
        Some(route) => route(input).await,
        None => {
            tracing::debug!(event = name, "no route for this event type; acknowledged");
            HandlerOutcome::Ok
        }
    }
}

#[async_trait]
impl Handler for Handlers {
    async fn handle(&self, event: Received<Event>) -> HandlerOutcome {
        let (event, context) = event.into_parts();
        match event {
            Event::Completed(run) => {
                let run = Received::new(run, context);
                call(self.completed.as_ref(), run, "run.completed").await
            }
            Event::Failed(run) => {
                call(
                    self.failed.as_ref(),
                    Received::new(run, context),
                    "run.failed",
                )
                .await
            }
            Event::Cancelled(run) => {
                let run = Received::new(run, context);
                call(self.cancelled.as_ref(), run, "run.cancelled").await
            }
            Event::Unknown(unknown) => {
                let name = unknown.event.clone();
                call(
                    self.unknown.as_ref(),
                    Received::new(unknown, context),
                    &name,
                )
                .await
            }
            other => {
                tracing::debug!(
                    event = other.name(),
                    "no route for this event type; acknowledged"
                );
                HandlerOutcome::Ok
            }
        }
    }
}

impl fmt::Debug for Handlers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handlers")
            .field("on_completed", &self.completed.is_some())
            .field("on_failed", &self.failed.is_some())
            .field("on_cancelled", &self.cancelled.is_some())
            .field("on_unknown", &self.unknown.is_some())
            .finish()
    }
}

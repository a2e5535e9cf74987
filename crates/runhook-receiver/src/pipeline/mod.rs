//! The receive pipeline, from body to response: read the body within its limits, check the
//! request ([`runhook::receive()`]), confirm the run by API, then either claim the event's key and
//! run the handler (inline mode, [`claim`]) or insert the event into the inbox (inbox mode,
//! [`enqueue`]); and report how each delivery ended ([`respond`]).
//!
//! The [`Receiver`](crate::Receiver) owns the configuration and the lifecycle, and hands each
//! request here once.

mod claim;
mod confirming;
mod enqueue;
mod handler;
mod recover;
mod request;
mod respond;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use runhook::receive::{Rejection, RejectionKind, Verdict, check_method};
use runhook::store::IdempotencyStore;
use runhook::{Event, outcome::Disposition};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{Instrument, Span};

use crate::body::{BodyLimits, Collected, collect};
use crate::dead_letter::DeadLetters;
use crate::inbox::InboxWorkers;
use crate::{Clock, Handler, Observer, ReceiverConfig, RunConfirmer, WebhookResponse};

pub(crate) use request::{Facts, Request, request_span};

use request::DriftList;

/// What every delivery shares: the configuration and the parts the steps use.
pub(crate) struct Pipeline {
    pub(crate) config: ReceiverConfig,
    pub(crate) store: Arc<dyn IdempotencyStore>,
    pub(crate) mode: Mode,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) dead_letters: DeadLetters,
    /// The handler tasks, so a shutdown can wait for them.
    pub(crate) tasks: TaskTracker,
    /// Set once a shutdown starts: new deliveries are refused.
    pub(crate) closing: AtomicBool,
    /// Cancelled at the end of a shutdown's grace period: handlers still running are stopped.
    pub(crate) stop: CancellationToken,
    /// Confirm by API: fetches each event's run before it is processed or stored.
    pub(crate) confirmer: Option<Arc<dyn RunConfirmer>>,
}

/// Where an accepted event goes.
pub(crate) enum Mode {
    /// Inline mode: the handler runs in the request, under the idempotency claim.
    Inline(Arc<dyn Handler>),
    /// Inbox mode: the event is inserted into the inbox these workers process.
    Inbox(InboxWorkers),
}

/// An event the checks accepted (and the runs API confirmed), ready for its claim step.
struct Accepted {
    event: Event,
    body: Bytes,
    facts: Facts,
    /// When the answer is due.
    deadline: Instant,
}

impl Pipeline {
    /// Handles `request`, reading its body within the body limit (413), the body timeout (503)
    /// and the body budget (503 with `Retry-After`), in the request's span.
    pub(crate) async fn receive<B>(
        self: &Arc<Self>,
        request: Request<'_>,
        body: B,
    ) -> WebhookResponse
    where
        B: Body,
        B::Error: fmt::Display,
    {
        let span = request_span(request.method);
        self.read(request, body).instrument(span).await
    }

    /// Handles `request`, whose body is already read, in the request's span.
    pub(crate) async fn receive_read(
        self: &Arc<Self>,
        request: Request<'_>,
        body: Bytes,
    ) -> WebhookResponse {
        let span = request_span(request.method);
        self.process(&request, body).instrument(span).await
    }

    /// Reads the body within the limits, then processes the request.
    async fn read<B>(self: &Arc<Self>, request: Request<'_>, body: B) -> WebhookResponse
    where
        B: Body,
        B::Error: fmt::Display,
    {
        let config = &self.config;
        let limits = BodyLimits {
            max_bytes: config.receive.limits.max_body_bytes,
            timeout: config.body_timeout,
            budget: &config.body_budget,
        };
        match collect(request.headers, body, limits).await {
            Collected::Complete(body, charge) => {
                let response = self.process(&request, body).await;
                drop(charge);
                response
            }
            Collected::TooLarge(len) => {
                let rejection = check_method(request.method).err().unwrap_or_else(|| {
                    Rejection::payload_too_large(len, config.receive.limits.max_body_bytes)
                });
                self.rejected(&rejection, Facts::none(request.arrived))
                    .closing()
            }
            Collected::Failed(error) => {
                let rejection = Rejection::new(
                    RejectionKind::MalformedJson,
                    format!("the request body could not be read: {error}"),
                );
                self.rejected(&rejection, Facts::none(request.arrived))
                    .closing()
            }
            Collected::TimedOut => {
                let detail = format!(
                    "the body did not arrive within the body timeout of {:?}",
                    config.body_timeout
                );
                self.unread(request.arrived, detail, None)
            }
            Collected::OverBudget => {
                let detail = format!(
                    "the receiver's body budget ({} bytes) is spent by requests in progress; the \
                     body was not read, retry later",
                    config.body_budget.capacity()
                );
                self.unread(request.arrived, detail, Some(Duration::from_secs(1)))
            }
        }
    }

    /// Runs a request whose body has been read through the steps: accept, then claim and run
    /// the handler (inline mode) or store the event (inbox mode).
    async fn process(self: &Arc<Self>, request: &Request<'_>, body: Bytes) -> WebhookResponse {
        let accepted = match self.accept(request, body).await {
            Ok(accepted) => accepted,
            Err(response) => return response,
        };
        match &self.mode {
            Mode::Inbox(workers) => {
                self.enqueue(workers, accepted.facts, accepted.body, accepted.deadline)
                    .await
            }
            Mode::Inline(handler) => self.claim(handler, request, accepted).await,
        }
    }

    /// The steps before the claim: refuse while shutting down, check the request, log drift,
    /// and confirm the run by API; the accepted event, or the response that refuses it.
    async fn accept(
        &self,
        request: &Request<'_>,
        body: Bytes,
    ) -> Result<Accepted, WebhookResponse> {
        let started = Instant::now();
        let config = &self.config;
        if self.closing.load(Ordering::SeqCst) {
            let detail = "the receiver is shutting down; the event was not processed, retry later";
            let facts = Facts::none(request.arrived);
            return Err(self
                .respond(facts, &Disposition::ShuttingDown, detail.into())
                .closing());
        }
        let verdict = runhook::receive(
            request.method,
            request.uri,
            request.headers,
            &body,
            &config.receive,
        );
        let event = match verdict {
            Verdict::Accept(event) => event,
            Verdict::Reject(rejection) => {
                let facts = Facts {
                    run_id: rejection.run_id.clone(),
                    ..Facts::none(request.arrived)
                };
                return Err(self.rejected(&rejection, facts));
            }
        };
        let drift = event.drift_problems();
        if !drift.is_empty() {
            tracing::warn!(
                run_id = event.run_id(),
                event = event.name(),
                problems = drift.len(),
                drift = %DriftList(drift),
                "accepted with fields inside data that do not match their documented type; \
                 they read as absent in the typed event (the raw data is kept)"
            );
        }
        let facts = Facts {
            run_id: event.run_id().map(str::to_owned),
            event: Some(event.name().to_owned()),
            key: config.key.key(&event),
            started: request.arrived,
            drift: drift.to_vec(),
            source: runhook::Source::Webhook,
        };
        let span = Span::current();
        span.record("event", event.name());
        if let Some(run_id) = &facts.run_id {
            span.record("run_id", run_id.as_str());
        }
        let deadline = started + config.deadline;
        // Confirm by API before anything is stored: a forged event never touches the store.
        let (event, body) = match &self.confirmer {
            Some(confirmer) => {
                self.confirm(confirmer.as_ref(), event, body, deadline, &facts)
                    .await?
            }
            None => (event, body),
        };
        Ok(Accepted {
            event,
            body,
            facts,
            deadline,
        })
    }

    /// Whether a shutdown has started.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::SeqCst)
    }
}

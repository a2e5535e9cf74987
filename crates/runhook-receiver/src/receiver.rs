//! The receive pipeline: verdict, claim, handler under a deadline, settle, respond.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use http_body::Body;
use runhook::ledger::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, MemoryLedger};
use runhook::outcome::{ClaimAction, Disposition, decide};
use runhook::receive::{Rejection, RejectionKind, Verdict, check_method};
use runhook::{Event, HandlerOutcome, ReceiveDecision};
use tokio::sync::oneshot;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::{Instant, timeout_at};
use tracing::{Instrument, Span, field};

use crate::body::{Collected, collect};
use crate::{Clock, Handler, Observer, ReceiverBuilder, ReceiverConfig, Report, WebhookResponse};

/// Receives webhooks: runs [`runhook::receive()`], deduplicates through an [`IdempotencyStore`],
/// calls the [`Handler`] under a deadline and answers with the status of PROTOCOL.md §4.3.
///
/// Cheap to clone (an `Arc` inside); adapters clone it into their routes and call
/// [`Receiver::receive`] (or [`Receiver::receive_body`]) with the raw request. Must be used
/// within a tokio runtime: the handler runs in a task of its own.
#[derive(Clone)]
pub struct Receiver {
    inner: Arc<Inner>,
}

struct Inner {
    config: ReceiverConfig,
    store: Arc<dyn IdempotencyStore>,
    handler: Arc<dyn Handler>,
    observer: Option<Arc<dyn Observer>>,
    clock: Arc<dyn Clock>,
}

/// What is known about a delivery once its body is accepted.
#[derive(Clone)]
struct Facts {
    run_id: Option<String>,
    event: Option<String>,
    key: Option<IdempotencyKey>,
    started: Instant,
}

/// What the handler task hands back to the waiting request.
struct Settled {
    decision: ReceiveDecision,
    reason: String,
}

impl Receiver {
    /// Assembles a receiver; the store defaults to a [`MemoryLedger`].
    pub(crate) fn from_parts(
        config: ReceiverConfig,
        store: Option<Arc<dyn IdempotencyStore>>,
        handler: Arc<dyn Handler>,
        observer: Option<Arc<dyn Observer>>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Receiver {
            inner: Arc::new(Inner {
                config,
                store: store.unwrap_or_else(|| Arc::new(MemoryLedger::new())),
                handler,
                observer,
                clock,
            }),
        }
    }

    /// A receiver with the default configuration and an in-memory ledger.
    pub fn new(handler: impl Handler) -> Self {
        Self::builder(handler).build()
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

    /// Handles one request whose body is already read. The body must be the raw bytes received.
    pub async fn receive(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: Bytes,
    ) -> WebhookResponse {
        let span = request_span(method);
        self.process(method, headers, &body).instrument(span).await
    }

    /// Handles one request, reading its body with the limit (preferred: a body over the limit is
    /// never buffered whole). Works with any `http_body::Body`, e.g. hyper's `Incoming` or axum's
    /// `Body`.
    pub async fn receive_body<B>(
        &self,
        method: &Method,
        headers: &HeaderMap,
        body: B,
    ) -> WebhookResponse
    where
        B: Body,
        B::Error: fmt::Display,
    {
        let span = request_span(method);
        async {
            let started = Instant::now();
            match collect(headers, body, self.max_body_bytes()).await {
                Collected::Complete(body) => self.process(method, headers, &body).await,
                Collected::TooLarge(len) => {
                    let rejection = check_method(method).err().unwrap_or_else(|| {
                        Rejection::payload_too_large(len, self.max_body_bytes())
                    });
                    self.rejected(&rejection, started)
                }
                Collected::Failed(error) => {
                    let rejection = Rejection::new(
                        RejectionKind::MalformedJson,
                        format!("the request body could not be read: {error}"),
                    );
                    self.rejected(&rejection, started)
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
        self.rejected(&rejection, Instant::now())
    }

    async fn process(&self, method: &Method, headers: &HeaderMap, body: &[u8]) -> WebhookResponse {
        let started = Instant::now();
        let config = &self.inner.config;
        let event = match runhook::receive(method, headers, body, &config.receive) {
            Verdict::Accept(event) => event,
            Verdict::Reject(rejection) => return self.rejected(&rejection, started),
        };
        let facts = Facts {
            run_id: event.run_id().map(str::to_owned),
            event: Some(event.name().to_owned()),
            key: config.key.key(&event),
            started,
        };
        let span = Span::current();
        span.record("event", event.name());
        if let Some(run_id) = &facts.run_id {
            span.record("run_id", run_id.as_str());
        }
        let deadline = started + config.deadline;
        let Some(key) = facts.key.clone() else {
            tracing::debug!("no idempotency key for this event; handled without deduplication");
            return self.run_handler(event, None, deadline, facts).await;
        };
        let now = self.inner.clock.now();
        let claim = match timeout_at(deadline, self.inner.store.claim(&key, now, config.lease))
            .await
        {
            Ok(Ok(claim)) => claim,
            Ok(Err(error)) => {
                let reason = format!("{error}; the event was not processed, retry later");
                return self.respond(&facts, &Disposition::StoreFailed, reason);
            }
            Err(_) => {
                let reason = format!(
                    "the idempotency store did not answer within the deadline of {:?}; the event \
                     was not processed, retry later",
                    config.deadline
                );
                return self.respond(&facts, &Disposition::StoreFailed, reason);
            }
        };
        match claim {
            Claim::Acquired(token) => {
                self.run_handler(event, Some((key, token)), deadline, facts)
                    .await
            }
            Claim::Done => {
                let reason =
                    format!("{key} was already processed; the handler was not called again");
                self.respond(&facts, &Disposition::Duplicate, reason)
            }
            Claim::InFlight { retry_after } => {
                let reason = format!(
                    "{key} is being processed by another delivery; retry when it has finished"
                );
                let retry_after = retry_after.min(config.deadline);
                self.respond(&facts, &Disposition::InFlight { retry_after }, reason)
            }
        }
    }

    /// Runs the handler in its own task, which also settles the claim, and waits for it until the
    /// deadline.
    async fn run_handler(
        &self,
        event: Event,
        claim: Option<(IdempotencyKey, ClaimToken)>,
        deadline: Instant,
        facts: Facts,
    ) -> WebhookResponse {
        let (sender, answer) = oneshot::channel::<Settled>();
        let inner = Arc::clone(&self.inner);
        let task_facts = facts.clone();
        tokio::spawn(
            async move {
                let handler = Arc::clone(&inner.handler);
                let running =
                    tokio::spawn(async move { handler.handle(event).await }.in_current_span());
                let joined = inner.hold_claim_while(claim.as_ref(), running).await;
                let (disposition, reason) = match &joined {
                    Ok(outcome) => (Disposition::Handled(outcome), handled_reason(outcome)),
                    Err(error) => (Disposition::Panicked, panicked_reason(error)),
                };
                let decision = decide(&disposition);
                inner.settle(claim.as_ref(), decision.claim).await;
                if let Err(settled) = sender.send(Settled { decision, reason }) {
                    // The response went out already (deadline passed, or the client left).
                    let report =
                        inner.report(&task_facts, &settled.decision, settled.reason, None, true);
                    report.log();
                }
            }
            .in_current_span(),
        );
        match timeout_at(deadline, answer).await {
            Ok(Ok(settled)) => self.respond_decided(&facts, settled.decision, settled.reason),
            Ok(Err(_)) => {
                let reason = "the handler task ended without an answer (is the runtime shutting \
                              down?); retry later"
                    .to_owned();
                self.respond(&facts, &Disposition::Panicked, reason)
            }
            Err(_) => {
                let reason = format!(
                    "the handler did not finish within the deadline of {:?}; it goes on in the \
                     background and its outcome settles the event, retry later",
                    self.inner.config.deadline
                );
                self.respond(&facts, &Disposition::DeadlinePassed, reason)
            }
        }
    }

    fn rejected(&self, rejection: &Rejection, started: Instant) -> WebhookResponse {
        let decision = decide(&Disposition::Invalid(rejection));
        let facts = Facts {
            run_id: None,
            event: None,
            key: None,
            started,
        };
        let report = self.inner.report(
            &facts,
            &decision,
            rejection.reason.clone(),
            Some(rejection),
            false,
        );
        report.log();
        WebhookResponse::from_report(&report, decision.retry_after, Some(rejection))
    }

    fn respond(
        &self,
        facts: &Facts,
        disposition: &Disposition<'_>,
        reason: String,
    ) -> WebhookResponse {
        self.respond_decided(facts, decide(disposition), reason)
    }

    fn respond_decided(
        &self,
        facts: &Facts,
        decision: ReceiveDecision,
        reason: String,
    ) -> WebhookResponse {
        let report = self.inner.report(facts, &decision, reason, None, false);
        report.log();
        WebhookResponse::from_report(&report, decision.retry_after, None)
    }
}

impl Inner {
    /// Waits for the handler task, renewing the claim every half lease while it runs, so the
    /// claim stays held until the handler finishes however long it takes (past the response
    /// deadline, past one lease). A failed renewal is logged: the store no longer vouches that no
    /// other delivery processes the event.
    async fn hold_claim_while(
        &self,
        claim: Option<&(IdempotencyKey, ClaimToken)>,
        mut running: JoinHandle<HandlerOutcome>,
    ) -> Result<HandlerOutcome, JoinError> {
        let Some((key, token)) = claim else {
            return running.await;
        };
        let lease = self.config.lease;
        let period = (lease / 2).max(Duration::from_millis(1));
        let mut renewals = tokio::time::interval_at(Instant::now() + period, period);
        loop {
            tokio::select! {
                joined = &mut running => return joined,
                _ = renewals.tick() => {
                    let now = self.clock.now();
                    if let Err(error) = self.store.renew(key, *token, now, lease).await {
                        tracing::warn!(
                            key = %key,
                            %error,
                            "could not renew the claim while the handler runs; another delivery \
                             may process this event too"
                        );
                    }
                }
            }
        }
    }

    /// Completes or releases the claim as decided. A failure is logged, not answered: the
    /// handler's outcome stands and the lease runs out by itself.
    async fn settle(&self, claim: Option<&(IdempotencyKey, ClaimToken)>, action: ClaimAction) {
        let Some((key, token)) = claim else {
            return;
        };
        let now = self.clock.now();
        let result = match action {
            ClaimAction::Complete => {
                self.store
                    .complete(key, *token, now, self.config.retention)
                    .await
            }
            ClaimAction::Release => self.store.release(key, *token, now).await,
            _ => return,
        };
        if let Err(error) = result {
            tracing::warn!(key = %key, %error, "could not settle the idempotency claim");
        }
    }

    fn report(
        &self,
        facts: &Facts,
        decision: &ReceiveDecision,
        reason: String,
        rejection: Option<&Rejection>,
        late: bool,
    ) -> Report {
        let report = Report {
            outcome: decision.outcome,
            status: decision.status,
            run_id: facts.run_id.clone(),
            event: facts.event.clone(),
            key: facts.key.clone(),
            rejection: rejection.map(|r| r.kind),
            reason,
            late,
            elapsed: facts.started.elapsed(),
        };
        if let Some(observer) = &self.observer {
            observer.observe(&report);
        }
        report
    }
}

fn request_span(method: &Method) -> Span {
    tracing::info_span!(
        "webhook",
        method = %method,
        run_id = field::Empty,
        event = field::Empty
    )
}

fn handled_reason(outcome: &HandlerOutcome) -> String {
    match outcome {
        HandlerOutcome::Ok => "processed".to_owned(),
        HandlerOutcome::Retry { reason } => format!("the handler asked for a retry: {reason}"),
        HandlerOutcome::Reject { reason } => {
            format!("the handler rejected the event for good: {reason}")
        }
        other => format!("the handler answered {other:?}"),
    }
}

fn panicked_reason(error: &tokio::task::JoinError) -> String {
    if error.is_panic() {
        "the handler panicked; the event was not processed, retry later".to_owned()
    } else {
        "the handler task was cancelled; the event was not processed, retry later".to_owned()
    }
}

impl fmt::Debug for Receiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("config", &self.inner.config)
            .field("observer", &self.inner.observer.is_some())
            .field("clock", &self.inner.clock)
            .finish_non_exhaustive()
    }
}

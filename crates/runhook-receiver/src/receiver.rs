//! The receive pipeline: verdict, claim, handler under a deadline, settle, respond.

use std::borrow::Cow;
use std::fmt;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use bytes::Bytes;
use futures::FutureExt;
use http::{HeaderMap, Method};
use http_body::Body;
use runhook::ledger::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, MemoryLedger};
use runhook::outcome::{ClaimAction, Disposition, decide};
use runhook::receive::{Rejection, RejectionKind, Verdict, check_method};
use runhook::{Event, HandlerOutcome, ReceiveDecision};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout_at};
use tracing::{Instrument, Span, field};

use crate::body::{Collected, collect};
use crate::observe::log;
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

impl Facts {
    /// No facts: a request refused before its body was accepted.
    fn none(started: Instant) -> Self {
        Facts {
            run_id: None,
            event: None,
            key: None,
            started,
        }
    }

    /// The facts out of their `Arc`, moved if this is the last reference, cloned otherwise.
    fn unshare(facts: Arc<Facts>) -> Facts {
        Arc::try_unwrap(facts).unwrap_or_else(|shared| Facts::clone(&shared))
    }
}

/// What the handler task hands back to the waiting request: the decision, its reason, and the
/// task's reference to the facts (so the request's own is the last one, and the facts move into
/// its report instead of being copied).
struct Settled {
    decision: ReceiveDecision,
    reason: Cow<'static, str>,
    facts: Arc<Facts>,
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
                return self.respond(facts, &Disposition::StoreFailed, reason.into());
            }
            Err(_) => {
                let reason = format!(
                    "the idempotency store did not answer within the deadline of {:?}; the event \
                     was not processed, retry later",
                    config.deadline
                );
                return self.respond(facts, &Disposition::StoreFailed, reason.into());
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
                self.respond(facts, &Disposition::Duplicate, reason.into())
            }
            Claim::InFlight { retry_after } => {
                let reason = format!(
                    "{key} is being processed by another delivery; retry when it has finished"
                );
                let retry_after = retry_after.min(config.deadline);
                self.respond(facts, &Disposition::InFlight { retry_after }, reason.into())
            }
        }
    }

    /// Runs the handler in a task of its own, which also settles the claim, and waits for it
    /// until the deadline.
    ///
    /// One task per delivery: the handler is polled inside it with its panics caught, so a panic
    /// is answered like a failed task, the handler goes on in the background past the deadline,
    /// and it is not cancelled when the request's future is dropped (the client went away).
    async fn run_handler(
        &self,
        event: Event,
        claim: Option<(IdempotencyKey, ClaimToken)>,
        deadline: Instant,
        facts: Facts,
    ) -> WebhookResponse {
        let (sender, answer) = oneshot::channel::<Settled>();
        let inner = Arc::clone(&self.inner);
        let facts = Arc::new(facts);
        let task_facts = Arc::clone(&facts);
        tokio::spawn(
            async move {
                // Called on the `dyn Handler` itself, not through `impl Handler for Arc<H>`,
                // which would box a second future around the handler's own.
                let running = AssertUnwindSafe(inner.handler.as_ref().handle(event)).catch_unwind();
                let finished = inner.hold_claim_while(claim.as_ref(), running).await;
                let (disposition, reason) = match &finished {
                    Ok(outcome) => (Disposition::Handled(outcome), handled_reason(outcome)),
                    Err(_panic) => (Disposition::Panicked, panicked_reason()),
                };
                let decision = decide(&disposition);
                inner.settle(claim.as_ref(), decision.claim).await;
                let settled = Settled {
                    decision,
                    reason,
                    facts: task_facts,
                };
                if let Err(settled) = sender.send(settled) {
                    // The response went out already (deadline passed, or the client left).
                    inner.report(
                        Facts::unshare(settled.facts),
                        &settled.decision,
                        settled.reason,
                        None,
                        true,
                    );
                }
            }
            .in_current_span(),
        );
        match timeout_at(deadline, answer).await {
            Ok(Ok(settled)) => {
                drop(settled.facts);
                self.respond_decided(
                    Facts::unshare(facts),
                    settled.decision,
                    settled.reason,
                    None,
                )
            }
            Ok(Err(_)) => {
                let reason = "the handler task ended without an answer (is the runtime shutting \
                              down?); retry later";
                self.respond(Facts::unshare(facts), &Disposition::Panicked, reason.into())
            }
            Err(_) => {
                let reason = format!(
                    "the handler did not finish within the deadline of {:?}; it goes on in the \
                     background and its outcome settles the event, retry later",
                    self.inner.config.deadline
                );
                self.respond(
                    Facts::unshare(facts),
                    &Disposition::DeadlinePassed,
                    reason.into(),
                )
            }
        }
    }

    fn rejected(&self, rejection: &Rejection, started: Instant) -> WebhookResponse {
        let decision = decide(&Disposition::Invalid(rejection));
        self.respond_decided(
            Facts::none(started),
            decision,
            Cow::Borrowed(&rejection.reason),
            Some(rejection),
        )
    }

    fn respond(
        &self,
        facts: Facts,
        disposition: &Disposition<'_>,
        reason: Cow<'_, str>,
    ) -> WebhookResponse {
        self.respond_decided(facts, decide(disposition), reason, None)
    }

    /// Reports how the delivery ended (observer, log) and builds its response.
    fn respond_decided(
        &self,
        facts: Facts,
        decision: ReceiveDecision,
        reason: Cow<'_, str>,
        rejection: Option<&Rejection>,
    ) -> WebhookResponse {
        let (facts, reason) = self
            .inner
            .report(facts, &decision, reason, rejection, false);
        WebhookResponse::build(
            decision.status,
            decision.outcome,
            &reason,
            facts.run_id.as_deref(),
            facts.event.as_deref(),
            decision.retry_after,
            rejection,
        )
    }
}

impl Inner {
    /// Waits for the handler, renewing the claim every half lease while it runs, so the claim
    /// stays held until the handler finishes however long it takes (past the response deadline,
    /// past one lease). A failed renewal is logged: the store no longer vouches that no other
    /// delivery processes the event.
    ///
    /// A handler that finishes at its first poll (most do) never needs the renewal timer, so it
    /// is only started once the handler is found still running; its first tick is the same as if
    /// it had been started before that poll.
    async fn hold_claim_while<T>(
        &self,
        claim: Option<&(IdempotencyKey, ClaimToken)>,
        running: impl Future<Output = T>,
    ) -> T {
        let mut running = pin!(running);
        let Some((key, token)) = claim else {
            return running.await;
        };
        let lease = self.config.lease;
        let period = (lease / 2).max(Duration::from_millis(1));
        let first_renewal = Instant::now() + period;
        if let Poll::Ready(finished) = poll_fn(|cx| Poll::Ready(running.as_mut().poll(cx))).await {
            return finished;
        }
        let mut renewals = tokio::time::interval_at(first_renewal, period);
        loop {
            tokio::select! {
                finished = &mut running => return finished,
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

    /// Reports how a delivery ended: to the observer, if there is one, as a [`Report`], then as
    /// the request's `tracing` event. Hands the facts and the reason back for the response; a
    /// `Report` is only built (and the reason only copied) for an observer.
    fn report<'a>(
        &self,
        facts: Facts,
        decision: &ReceiveDecision,
        reason: Cow<'a, str>,
        rejection: Option<&Rejection>,
        late: bool,
    ) -> (Facts, Cow<'a, str>) {
        let elapsed = facts.started.elapsed();
        let Some(observer) = &self.observer else {
            log(decision.outcome, decision.status, &reason, late, elapsed);
            return (facts, reason);
        };
        let Facts {
            run_id,
            event,
            key,
            started,
        } = facts;
        let report = Report {
            outcome: decision.outcome,
            status: decision.status,
            run_id,
            event,
            key,
            rejection: rejection.map(|r| r.kind),
            reason: reason.into_owned(),
            late,
            elapsed,
        };
        observer.observe(&report);
        report.log();
        let Report {
            run_id,
            event,
            key,
            reason,
            ..
        } = report;
        let facts = Facts {
            run_id,
            event,
            key,
            started,
        };
        (facts, Cow::Owned(reason))
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

fn handled_reason(outcome: &HandlerOutcome) -> Cow<'static, str> {
    match outcome {
        HandlerOutcome::Ok => Cow::Borrowed("processed"),
        HandlerOutcome::Retry { reason } => {
            format!("the handler asked for a retry: {reason}").into()
        }
        HandlerOutcome::Reject { reason } => {
            format!("the handler rejected the event for good: {reason}").into()
        }
        other => format!("the handler answered {other:?}").into(),
    }
}

fn panicked_reason() -> Cow<'static, str> {
    Cow::Borrowed("the handler panicked; the event was not processed, retry later")
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

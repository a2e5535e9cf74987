//! The receive pipeline: verdict, claim, handler, respond; and the report of how it ended.

use std::borrow::Cow;

use bytes::Bytes;
use std::time::SystemTime;

use http::{Extensions, HeaderMap, Method, Uri};
use runhook::DriftProblem;
use runhook::outcome::ReceiveDecision;
use runhook::outcome::{Disposition, decide};
use runhook::receive::{Rejection, Verdict};
use runhook::store::{Claim, IdempotencyKey};
use tokio::time::{Instant, timeout_at};
use tracing::{Span, field};

use crate::observe::log;
use crate::receiver::Inner;
use crate::{HandlerContext, Received, Report, WebhookResponse};

/// The parts of a request the pipeline reads.
pub(crate) struct Request<'a> {
    pub(crate) method: &'a Method,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    /// The request's extensions (path parameters, state), where the adapter has them.
    pub(crate) extensions: Option<&'a Extensions>,
    /// When the request reached the receiver.
    pub(crate) arrived: Instant,
}

impl Request<'_> {
    /// The handler's context of this request, received at `received_at`.
    pub(crate) fn context(&self, received_at: SystemTime) -> HandlerContext {
        let context = HandlerContext::new(self.uri.clone(), self.headers.clone(), received_at);
        match self.extensions {
            Some(extensions) => context.with_extensions(extensions.clone()),
            None => context,
        }
    }
}

/// What is known about a delivery, for its report and response.
#[derive(Debug, Clone)]
pub(crate) struct Facts {
    pub(crate) run_id: Option<String>,
    pub(crate) event: Option<String>,
    pub(crate) key: Option<IdempotencyKey>,
    pub(crate) started: Instant,
    /// The drift problems of an accepted event (empty for most).
    pub(crate) drift: Vec<DriftProblem>,
}

impl Facts {
    /// No facts: a request refused before its body was accepted.
    pub(crate) fn none(started: Instant) -> Self {
        Facts {
            run_id: None,
            event: None,
            key: None,
            started,
            drift: Vec::new(),
        }
    }
}

/// Drift problems as one log field: `pointer: message; pointer: message`.
struct DriftList<'a>(&'a [DriftProblem]);

impl std::fmt::Display for DriftList<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (index, problem) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Inner {
    /// Runs a request whose body has been read through the pipeline.
    pub(crate) async fn process(
        self: &std::sync::Arc<Self>,
        request: &Request<'_>,
        body: Bytes,
    ) -> WebhookResponse {
        let started = Instant::now();
        let config = &self.config;
        if self.closing.load(std::sync::atomic::Ordering::SeqCst) {
            let detail = "the receiver is shutting down; the event was not processed, retry later";
            return self
                .respond(
                    Facts::none(request.arrived),
                    &Disposition::ShuttingDown,
                    detail.into(),
                )
                .closing();
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
                return self.rejected(&rejection, facts);
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
                match self
                    .confirm(confirmer.as_ref(), event, body, deadline, &facts)
                    .await
                {
                    Ok(confirmed) => confirmed,
                    Err(response) => return response,
                }
            }
            None => (event, body),
        };
        if let Some(workers) = &self.inbox {
            return self.enqueue(workers, facts, body, deadline).await;
        }
        let now = self.clock.now();
        let event = Received::new(event, request.context(now));
        let Some(key) = facts.key.clone() else {
            tracing::debug!("no idempotency key for this event; handled without deduplication");
            return self.run_handler(event, body, None, deadline, facts).await;
        };
        let claim = match timeout_at(deadline, self.store.claim(&key, now, config.lease)).await {
            Ok(Ok(claim)) => claim,
            Ok(Err(error)) => {
                let detail = format!("{error}; the event was not processed, retry later");
                return self.respond(facts, &Disposition::StoreFailed, detail.into());
            }
            Err(_) => {
                let detail = format!(
                    "the idempotency store did not answer within the deadline of {:?}; the event \
                     was not processed, retry later",
                    config.deadline
                );
                return self.respond(facts, &Disposition::StoreFailed, detail.into());
            }
        };
        match claim {
            Claim::Acquired(token) => {
                self.run_handler(event, body, Some((key, token)), deadline, facts)
                    .await
            }
            Claim::Done => {
                let detail =
                    format!("{key} was already processed; the handler was not called again");
                self.respond(facts, &Disposition::Duplicate, detail.into())
            }
            Claim::InFlight { retry_after } => {
                let detail = format!(
                    "{key} is being processed by another delivery; retry when it has finished"
                );
                let retry_after = retry_after.min(config.deadline);
                self.respond(facts, &Disposition::InFlight { retry_after }, detail.into())
            }
        }
    }

    /// The response to a request the core refused; the reason names the problem and is safe to
    /// send back (it is about the request, not the receiver).
    pub(crate) fn rejected(&self, rejection: &Rejection, facts: Facts) -> WebhookResponse {
        let decision = decide(&Disposition::Invalid(rejection));
        self.respond_decided(
            facts,
            decision,
            Cow::Borrowed(&rejection.reason),
            Some(rejection),
        )
    }

    pub(crate) fn respond(
        &self,
        facts: Facts,
        disposition: &Disposition<'_>,
        detail: Cow<'_, str>,
    ) -> WebhookResponse {
        self.respond_decided(facts, decide(disposition), detail, None)
    }

    /// [`Inner::respond`] with another public reason than the outcome's general words.
    pub(crate) fn respond_with(
        &self,
        facts: Facts,
        disposition: &Disposition<'_>,
        reason: &str,
        detail: Cow<'_, str>,
    ) -> WebhookResponse {
        self.answer(facts, decide(disposition), reason, detail, None)
    }

    /// Reports how the delivery ended (observer, log) with its `detail`, and builds its response,
    /// whose reason is the rejection's for a refused request and the outcome's general words
    /// otherwise: a handler's or a store's error text stays in the log and the report.
    pub(crate) fn respond_decided(
        &self,
        facts: Facts,
        decision: ReceiveDecision,
        detail: Cow<'_, str>,
        rejection: Option<&Rejection>,
    ) -> WebhookResponse {
        let reason = match rejection {
            Some(rejection) => rejection.reason.as_str(),
            None => decision.outcome.public_reason(),
        };
        self.answer(facts, decision, reason, detail, rejection)
    }

    /// Reports how the delivery ended and builds its response, with `reason` as its public
    /// reason.
    fn answer(
        &self,
        facts: Facts,
        decision: ReceiveDecision,
        reason: &str,
        detail: Cow<'_, str>,
        rejection: Option<&Rejection>,
    ) -> WebhookResponse {
        let response = WebhookResponse::build(
            decision.status,
            decision.outcome,
            reason,
            facts.run_id.as_deref(),
            facts.event.as_deref(),
            decision.retry_after,
            rejection,
        );
        self.report(facts, &decision, detail, rejection, false);
        response
    }

    /// Reports how a delivery ended: to the observer, if there is one, as a [`Report`], then as
    /// the request's `tracing` event.
    pub(crate) fn report(
        &self,
        facts: Facts,
        decision: &ReceiveDecision,
        detail: Cow<'_, str>,
        rejection: Option<&Rejection>,
        late: bool,
    ) {
        let elapsed = facts.started.elapsed();
        if !late {
            crate::metrics::answered(decision.outcome, rejection.map(|r| r.kind), elapsed);
        }
        let Some(observer) = &self.observer else {
            log(
                decision.outcome,
                decision.status,
                facts.run_id.as_deref(),
                &detail,
                late,
                elapsed,
            );
            return;
        };
        let report = Report {
            outcome: decision.outcome,
            status: decision.status,
            run_id: facts.run_id,
            event: facts.event,
            key: facts.key,
            rejection: rejection.map(|r| r.kind),
            drift: facts.drift,
            reason: detail.into_owned(),
            late,
            elapsed,
        };
        observer.observe(&report);
        report.log();
    }
}

/// The span of one request, with the run and event recorded once known.
pub(crate) fn request_span(method: &Method) -> Span {
    tracing::info_span!(
        "webhook",
        method = %method,
        run_id = field::Empty,
        event = field::Empty
    )
}

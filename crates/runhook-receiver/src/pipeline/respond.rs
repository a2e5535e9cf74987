//! The end of every delivery: its response, and its report (observer, metrics, log).

use std::borrow::Cow;
use std::time::Duration;

use runhook::outcome::{Disposition, ReceiveDecision, decide};
use runhook::receive::Rejection;
use tokio::time::Instant;

use super::{Facts, Pipeline};
use crate::observe::log;
use crate::{Report, WebhookResponse};

impl Pipeline {
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

    /// [`Pipeline::respond`] with another public reason than the outcome's general words.
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
            if facts.source.is_recovered() {
                crate::metrics::recovered(decision.outcome);
            } else {
                crate::metrics::answered(decision.outcome, rejection.map(|r| r.kind), elapsed);
            }
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
            source: facts.source,
        };
        observer.observe(&report);
        report.log();
    }

    /// The 503 for a body that was not read whole (it failed, timed out or did not fit the
    /// budget); the connection is closed, since the rest of the body is still unread.
    pub(super) fn unread(
        &self,
        arrived: Instant,
        detail: String,
        retry_after: Option<Duration>,
    ) -> WebhookResponse {
        let disposition = Disposition::BodyUnread { retry_after };
        self.respond(Facts::none(arrived), &disposition, detail.into())
            .closing()
    }

    /// The 413 response, for adapters whose framework enforced the body limit itself. `len` is
    /// the body's length if known.
    pub(crate) fn too_large(&self, len: Option<u64>) -> WebhookResponse {
        let limit = self.config.receive.limits.max_body_bytes;
        let rejection = Rejection::payload_too_large(len, limit);
        self.rejected(&rejection, Facts::none(Instant::now()))
            .closing()
    }
}

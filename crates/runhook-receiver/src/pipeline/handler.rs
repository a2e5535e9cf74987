//! The handler task of inline mode: run the handler under the supervisor (which holds the claim
//! while it runs), settle the claim, and report a handler that finished after its response.

use std::borrow::Cow;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use futures::FutureExt;
use runhook::outcome::{ClaimAction, Disposition, ReceiveDecision, decide};
use runhook::store::{ClaimToken, IdempotencyKey};
use runhook::{Event, HandlerOutcome, ReceiveOutcome};
use tokio::sync::oneshot;
use tokio::time::{Instant, timeout, timeout_at};
use tracing::Instrument;

use super::{Facts, Pipeline};
use crate::metrics::{self, HandlerRun};
use crate::supervisor::{Lease, LeaseLost, Renewer, Supervised, Supervisor};
use crate::{DeadLetter, Handler, Received, WebhookResponse};

/// A held claim: the key and the token that proves it.
type Held = (IdempotencyKey, ClaimToken);

/// What the handler task hands back to the waiting request.
struct Settled {
    decision: ReceiveDecision,
    detail: Cow<'static, str>,
}

impl Pipeline {
    /// Runs the handler, which also settles the claim, and waits for it until the deadline.
    ///
    /// The handler is polled once in the request itself: one that finishes at once (it queues
    /// the event, say) is answered without a task of its own. One still running goes on in a task
    /// of its own, so that it keeps running past the deadline (up to its maximum run time) and is
    /// not cancelled when the request's future is dropped (the client went away). Either way its
    /// panics are caught and answered like a failed task.
    pub(super) async fn run_handler(
        self: &Arc<Self>,
        handler: &Arc<dyn Handler>,
        event: Received<Event>,
        body: Bytes,
        claim: Option<Held>,
        deadline: Instant,
        facts: Facts,
    ) -> WebhookResponse {
        let pipeline = Arc::clone(self);
        let handler = Arc::clone(handler);
        let started = facts.started;
        // The handler's own panics are caught inside; this catches one in the call that makes
        // its future (a hand-written `Handler::handle`), which would otherwise reach the server.
        let mut running = Box::pin(
            AssertUnwindSafe(
                async move {
                    pipeline
                        .handle(handler.as_ref(), event, claim.as_ref(), started)
                        .await
                }
                .in_current_span(),
            )
            .catch_unwind(),
        );
        match futures::poll!(running.as_mut()) {
            Poll::Ready(Ok(settled)) => {
                return self.respond_decided(facts, settled.decision, settled.detail, None);
            }
            Poll::Ready(Err(_panic)) => {
                let detail = "the handler panicked; the event was not processed, retry later";
                return self.respond(facts, &Disposition::Panicked, detail.into());
            }
            Poll::Pending => {}
        }
        let (sender, answer) = oneshot::channel::<Settled>();
        let pipeline = Arc::clone(self);
        let task_facts = facts.clone();
        self.tasks.spawn(async move {
            // A panic escaping the handler's future: the dropped sender answers the request.
            let Ok(settled) = running.await else { return };
            if let Err(settled) = sender.send(settled) {
                // The response went out already (deadline passed, or the client left).
                pipeline.finished_late(task_facts, settled, body);
            }
        });
        match timeout_at(deadline, answer).await {
            Ok(Ok(settled)) => self.respond_decided(facts, settled.decision, settled.detail, None),
            Ok(Err(_)) => {
                let detail = "the handler task ended without an answer (is the runtime shutting \
                              down?); retry later";
                self.respond(facts, &Disposition::Panicked, detail.into())
            }
            Err(_) => {
                let detail = format!(
                    "the handler did not finish within the deadline of {:?}; it goes on in the \
                     background and its outcome settles the event, retry later",
                    self.config.deadline
                );
                self.respond(facts, &Disposition::DeadlinePassed, detail.into())
            }
        }
    }

    /// Runs the handler under its supervisor and settles the claim: what was decided. `started`
    /// is when the delivery arrived.
    async fn handle(
        &self,
        handler: &dyn Handler,
        event: Received<Event>,
        claim: Option<&Held>,
        started: Instant,
    ) -> Settled {
        // Called on the `dyn Handler` itself, not through `impl Handler for Arc<H>`, which would
        // box a second future around the handler's own.
        let cancellation = self.stop.child_token();
        let event = event.map_context(|context| context.with_cancellation(cancellation.clone()));
        let running = AssertUnwindSafe(handler.handle(event)).catch_unwind();
        let supervisor = Supervisor {
            lease: claim.map(|(key, token)| self.lease(key, *token)),
            limit: self.config.max_handler_time,
            stop: &self.stop,
        };
        let (disposition, detail) = match supervisor.supervise(running, &cancellation).await {
            Supervised::Finished(Ok(outcome)) => {
                let detail = handled_detail(&outcome);
                let decision = decide(&Disposition::Handled(&outcome));
                metrics::handler_run(HandlerRun::of(&outcome));
                if outcome == HandlerOutcome::Ok {
                    metrics::done_after(started.elapsed());
                }
                (decision, detail)
            }
            Supervised::Finished(Err(_panic)) => (
                decide(&Disposition::Panicked),
                Cow::Borrowed("the handler panicked; the event was not processed, retry later"),
            ),
            Supervised::Stopped => (
                decide(&Disposition::ShuttingDown),
                Cow::Borrowed(
                    "the receiver shut down before the handler finished; it was stopped and the \
                     event was not processed",
                ),
            ),
            Supervised::LeaseLost(lost) => {
                metrics::handler_run(HandlerRun::Stopped);
                self.lease_lost(lost)
            }
            Supervised::TimedOut => (
                decide(&Disposition::TimedOut),
                Cow::Owned(format!(
                    "the handler ran past its maximum run time of {:?} and was stopped; the \
                     event was not processed",
                    self.config.max_handler_time
                )),
            ),
        };
        match disposition.outcome {
            ReceiveOutcome::HandlerPanicked => metrics::handler_run(HandlerRun::Panic),
            ReceiveOutcome::HandlerTimedOut => metrics::handler_run(HandlerRun::Timeout),
            ReceiveOutcome::ShuttingDown => metrics::handler_run(HandlerRun::Stopped),
            _ => {}
        }
        self.settle(claim, disposition.claim).await;
        if let (Some((key, _)), ClaimAction::Complete) = (claim, disposition.claim) {
            self.dead_letters.resolve(key);
        }
        Settled {
            decision: disposition,
            detail,
        }
    }

    /// The claim's lease, as the supervisor keeps it while the handler runs.
    fn lease<'a>(&'a self, key: &'a IdempotencyKey, token: ClaimToken) -> Lease<'a> {
        Lease {
            renewer: Renewer::Store(self.store.as_ref()),
            key,
            token,
            length: self.config.lease,
            period: self.config.renewal,
            store_timeout: self.config.store_timeout,
            clock: self.clock.as_ref(),
        }
    }

    /// The decision when the claim was lost while the handler ran: 503, nothing settled (the
    /// claim is not this delivery's any more). Taken over: the event is in flight elsewhere, so
    /// the sender is asked to come back in a lease; ran out: the store failed.
    fn lease_lost(&self, lost: LeaseLost) -> (ReceiveDecision, Cow<'static, str>) {
        match lost {
            LeaseLost::TakenOver => {
                let retry_after = self.config.lease.min(self.config.deadline);
                (
                    decide(&Disposition::InFlight { retry_after }),
                    Cow::Borrowed(
                        "the claim was taken over by another delivery while the handler ran; the \
                         handler was stopped and its outcome not recorded",
                    ),
                )
            }
            LeaseLost::RanOut => (
                decide(&Disposition::StoreFailed),
                Cow::Owned(format!(
                    "the claim's lease of {:?} ran out without a successful renewal while the \
                     handler ran; the handler was stopped and its outcome not recorded, retry \
                     later",
                    self.config.lease
                )),
            ),
        }
    }

    /// Completes or releases the claim as decided, within the store timeout. A failure is
    /// logged, not answered: the handler's outcome stands and the lease runs out by itself.
    async fn settle(&self, claim: Option<&Held>, action: ClaimAction) {
        let Some((key, token)) = claim else {
            return;
        };
        let now = self.clock.now();
        let settling = async {
            match action {
                ClaimAction::Complete => {
                    self.store
                        .complete(key, *token, now, self.config.retention)
                        .await
                }
                ClaimAction::Release => self.store.release(key, *token, now).await,
                _ => Ok(()),
            }
        };
        match timeout(self.config.store_timeout, settling).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::warn!(key = %key, %error, "could not settle the idempotency claim")
            }
            Err(_) => tracing::warn!(
                key = %key,
                timeout = ?self.config.store_timeout,
                "the store did not settle the idempotency claim in time; its lease runs out by \
                 itself"
            ),
        }
    }

    /// Reports a handler that finished after its response had gone out; a failure is logged at
    /// error level and kept as a dead letter, since the sender may have given up.
    fn finished_late(&self, facts: Facts, settled: Settled, body: Bytes) {
        let outcome = settled.decision.outcome;
        if outcome.is_failure() {
            tracing::error!(
                run_id = facts.run_id.as_deref(),
                event = facts.event.as_deref(),
                outcome = outcome.as_str(),
                reason = %settled.detail,
                "late failure: the handler failed after the response was sent; kept as a dead \
                 letter (Receiver::take_dead_letters)"
            );
            self.dead_letters.push(DeadLetter {
                run_id: facts.run_id.clone(),
                event: facts.event.clone().unwrap_or_default(),
                key: facts.key.clone(),
                outcome,
                reason: settled.detail.to_string(),
                body,
                failed_at: self.clock.now(),
            });
        }
        self.report(facts, &settled.decision, settled.detail, None, true);
    }
}

/// The detail of a handler's outcome, for the log and the report (never the response body).
fn handled_detail(outcome: &HandlerOutcome) -> Cow<'static, str> {
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

//! The handler task: run the handler, hold the claim while it runs, stop it at its maximum run
//! time, settle the claim, and report a handler that finished after its response.

use std::borrow::Cow;
use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::Bytes;
use futures::FutureExt;
use runhook::outcome::ReceiveDecision;
use runhook::outcome::{ClaimAction, Disposition, decide};
use runhook::store::{ClaimToken, IdempotencyKey, StoreError};
use runhook::{Event, HandlerOutcome, ReceiveOutcome};
use std::time::Duration;
use tokio::sync::oneshot;

use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::metrics::{self, HandlerRun};
use crate::pipeline::Facts;
use crate::receiver::Inner;
use crate::{DeadLetter, Received, WebhookResponse};

/// How long a handler asked to stop (cancelled) may take to return before it is dropped.
const WIND_DOWN: Duration = Duration::from_secs(1);

/// A held claim: the key and the token that proves it.
type Held = (IdempotencyKey, ClaimToken);

/// How a supervised handler ended.
enum Supervised<T> {
    /// It returned (or panicked).
    Finished(T),
    /// It ran past the maximum handler run time.
    TimedOut,
    /// A shutdown's grace period ended first.
    Stopped,
}

/// What the handler task hands back to the waiting request.
struct Settled {
    decision: ReceiveDecision,
    detail: Cow<'static, str>,
}

impl Inner {
    /// Runs the handler in a task of its own, which also settles the claim, and waits for it
    /// until the deadline.
    ///
    /// One task per delivery: the handler is polled inside it with its panics caught, so a panic
    /// is answered like a failed task; the handler goes on in the background past the deadline
    /// (up to its maximum run time), and it is not cancelled when the request's future is
    /// dropped (the client went away).
    pub(crate) async fn run_handler(
        self: &Arc<Self>,
        event: Received<Event>,
        body: Bytes,
        claim: Option<Held>,
        deadline: Instant,
        facts: Facts,
    ) -> WebhookResponse {
        let (sender, answer) = oneshot::channel::<Settled>();
        let inner = Arc::clone(self);
        let task_facts = facts.clone();
        self.tasks.spawn(
            async move {
                inner
                    .handle(event, body, claim.as_ref(), task_facts, sender)
                    .await;
            }
            .in_current_span(),
        );
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

    /// The body of the handler task.
    async fn handle(
        &self,
        event: Received<Event>,
        body: Bytes,
        claim: Option<&Held>,
        facts: Facts,
        sender: oneshot::Sender<Settled>,
    ) {
        // Called on the `dyn Handler` itself, not through `impl Handler for Arc<H>`, which would
        // box a second future around the handler's own.
        let cancellation = self.stop.child_token();
        let event = event.map_context(|context| context.with_cancellation(cancellation.clone()));
        let running = AssertUnwindSafe(self.handler.as_ref().handle(event)).catch_unwind();
        let (disposition, detail) = match self.supervise(claim, running, &cancellation).await {
            Supervised::Finished(Ok(outcome)) => {
                let detail = handled_detail(&outcome);
                let decision = decide(&Disposition::Handled(&outcome));
                metrics::handler_run(HandlerRun::of(&outcome));
                if outcome == HandlerOutcome::Ok {
                    metrics::done_after(facts.started.elapsed());
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
        let settled = Settled {
            decision: disposition,
            detail,
        };
        if let Err(settled) = sender.send(settled) {
            // The response went out already (deadline passed, or the client left).
            self.finished_late(facts, settled, body);
        }
    }

    /// Waits for the handler, renewing the claim every renewal period while it runs, so the
    /// claim stays held until the handler finishes, however long it takes (past the response
    /// deadline, past one lease), up to the maximum handler run time: then the handler is
    /// dropped. A shutdown's end stops it too.
    ///
    /// Renewals run beside the handler, each bounded by the store timeout, so a slow store never
    /// holds the handler up. A handler that finishes at its first poll (most do) needs neither
    /// timer, so both start only once it is found still running.
    async fn supervise<T>(
        &self,
        claim: Option<&Held>,
        running: impl Future<Output = T>,
        cancellation: &CancellationToken,
    ) -> Supervised<T> {
        let started = Instant::now();
        let mut running = pin!(running);
        if let Poll::Ready(finished) = poll_fn(|cx| Poll::Ready(running.as_mut().poll(cx))).await {
            return Supervised::Finished(finished);
        }
        let renewals = self.renew_while_held(claim, started);
        let ended = tokio::select! {
            finished = &mut running => return Supervised::Finished(finished),
            () = sleep_until(started + self.config.max_handler_time) => Supervised::TimedOut,
            () = self.stop.cancelled() => Supervised::Stopped,
            () = renewals => Supervised::TimedOut, // never: renewals stop by pending forever
        };
        // Asked to stop: the handler sees `HandlerContext::is_cancelled` and has a moment to
        // wind down; whatever it returns then stands.
        cancellation.cancel();
        match timeout(WIND_DOWN, &mut running).await {
            Ok(finished) => Supervised::Finished(finished),
            Err(_) => ended,
        }
    }

    /// Renews the claim every renewal period; pending forever (never returns).
    async fn renew_while_held(&self, claim: Option<&Held>, started: Instant) {
        let Some((key, token)) = claim else {
            return std::future::pending().await;
        };
        let period = self.config.renewal;
        let mut ticks = tokio::time::interval_at(started + period, period);
        loop {
            ticks.tick().await;
            let now = self.clock.now();
            let renewal = self.store.renew(key, *token, now, self.config.lease);
            match timeout(self.config.store_timeout, renewal).await {
                Ok(Ok(())) => {}
                Ok(Err(error @ StoreError::NotHeld { .. })) => {
                    tracing::warn!(
                        key = %key,
                        %error,
                        "the claim was taken over while the handler runs; another delivery may \
                         process this event too"
                    );
                    return std::future::pending().await;
                }
                Ok(Err(error)) => tracing::warn!(
                    key = %key,
                    %error,
                    "could not renew the claim while the handler runs; trying again next period"
                ),
                Err(_) => tracing::warn!(
                    key = %key,
                    timeout = ?self.config.store_timeout,
                    "the store did not renew the claim in time; trying again next period"
                ),
            }
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

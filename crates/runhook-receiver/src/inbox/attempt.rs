//! One attempt on a claimed row: parse, run the processor under the supervisor (the attempt
//! timeout, the row's lease), decide the settlement, write it, report it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use http::{HeaderMap, Uri};
use runhook::Event;
use runhook::inbox::{Attempted, InboxClaim, Settlement, decide_attempt};
use runhook::store::StoreError;
use tokio::time::{Instant, sleep, timeout};
use tokio_util::sync::CancellationToken;

use super::workers::Shared;
use super::{InboxOutcome, InboxReport, Processed};
use crate::metrics::{self, HandlerRun};
use crate::supervisor::{Lease, Renewer, Supervised as Ran, Supervisor};
use crate::{HandlerContext, Received};

/// How many times a settlement is tried before the row is left to its lease.
const SETTLE_TRIES: u32 = 3;
/// The pause before trying a failed settlement again.
const SETTLE_PAUSE: Duration = Duration::from_millis(500);

/// What an attempt came to, before it is written.
enum Decided {
    /// Write this settlement.
    Settle(Settlement),
    /// The processor settled the row itself.
    AlreadyDone,
    /// The row is not held any more: nothing to write.
    NotHeld,
    /// Stopped by a shutdown: left to its lease.
    Abandoned(String),
}

impl Shared {
    /// Runs one attempt on `claim`, settles it and reports it.
    pub(super) async fn attempt(&self, claim: InboxClaim) {
        let started = Instant::now();
        let (decided, status) = self.decide(&claim).await;
        let outcome = match decided {
            Decided::Settle(settlement) => self.settle(&claim, settlement).await,
            Decided::AlreadyDone => InboxOutcome::Done,
            Decided::NotHeld => InboxOutcome::NotHeld,
            Decided::Abandoned(error) => InboxOutcome::Unsettled { error },
        };
        let entry = claim.entry;
        match &outcome {
            InboxOutcome::Done => {
                let now = self.clock.now();
                metrics::done_after(now.duration_since(entry.received_at).unwrap_or_default());
            }
            InboxOutcome::Dead { .. } => metrics::dead_lettered(),
            _ => {}
        }
        self.report(&InboxReport {
            key: entry.key,
            run_id: entry.run_id,
            event: entry.event,
            attempt: entry.attempts,
            received_at: entry.received_at,
            elapsed: started.elapsed(),
            status,
            outcome,
        });
    }

    /// Parses the row and runs the processor on it; what it came to, and the status the other
    /// side answered, if the processor reported one.
    async fn decide(&self, claim: &InboxClaim) -> (Decided, Option<u16>) {
        let entry = &claim.entry;
        let event = match Event::from_slice_lenient(&entry.body) {
            Ok(event) => event,
            Err(error) => {
                let error = format!("the stored body no longer parses as an event: {error}");
                return (
                    Decided::Settle(self.settlement(claim, Attempted::rejected(error))),
                    None,
                );
            }
        };
        let cancellation = self.stop.child_token();
        let context =
            HandlerContext::new(Uri::from_static("/"), HeaderMap::new(), entry.received_at)
                .with_attempt(entry.attempts)
                .with_source(entry.source)
                .with_cancellation(cancellation.clone());
        let processing = self.processor.process(claim, Received::new(event, context));
        let running = AssertUnwindSafe(processing).catch_unwind();
        let timeout = self.policy.retry.attempt_timeout();
        let (status, ran) = match self.supervise(claim, running, &cancellation).await {
            Ran::Finished(Ok(processed)) => {
                let (status, processed) = processed.into_parts();
                (status, Ran::Finished(Ok(processed)))
            }
            other => (None, other),
        };
        let decided = match ran {
            Ran::Finished(Ok(Processed::Outcome(outcome))) => {
                metrics::handler_run(HandlerRun::of(&outcome));
                Decided::Settle(self.settlement(claim, Attempted::from(outcome)))
            }
            Ran::Finished(Ok(Processed::RetryAfter { reason, after })) => {
                metrics::handler_run(HandlerRun::Retry);
                Decided::Settle(self.settlement(claim, Attempted::failed_asking(reason, after)))
            }
            Ran::Finished(Ok(Processed::Done)) => {
                metrics::handler_run(HandlerRun::Ok);
                Decided::AlreadyDone
            }
            Ran::Finished(Ok(Processed::NotHeld)) => Decided::NotHeld,
            Ran::Finished(Err(panic)) => {
                metrics::handler_run(HandlerRun::Panic);
                let error = format!("the handler panicked: {}", panic_message(panic.as_ref()));
                Decided::Settle(self.settlement(claim, Attempted::failed(error)))
            }
            Ran::TimedOut => {
                metrics::handler_run(HandlerRun::Timeout);
                let error = format!(
                    "the handler ran past the attempt timeout of {timeout:?} and was stopped"
                );
                Decided::Settle(self.settlement(claim, Attempted::failed(error)))
            }
            Ran::LeaseLost(_) => {
                metrics::handler_run(HandlerRun::Stopped);
                Decided::NotHeld
            }
            Ran::Stopped => {
                metrics::handler_run(HandlerRun::Stopped);
                Decided::Abandoned(
                    "the workers shut down before the handler finished; it was stopped and the \
                     row is retried once its lease runs out"
                        .to_owned(),
                )
            }
            // `into_parts` leaves no `Answered` behind; were one left, the row is retried
            // rather than lost.
            Ran::Finished(Ok(Processed::Answered { .. })) => Decided::Settle(self.settlement(
                claim,
                Attempted::failed("the processor answered nothing to settle"),
            )),
        };
        (decided, status)
    }

    /// The settlement of what the attempt came to, now: the core decides it.
    fn settlement(&self, claim: &InboxClaim, attempted: Attempted) -> Settlement {
        decide_attempt(&self.policy, &claim.entry, self.clock.now(), attempted)
    }

    /// Waits for the processor under the supervisor: the policy's attempt timeout, the row's
    /// lease (renewed every third of it), and the end of a shutdown's grace period.
    async fn supervise<T>(
        &self,
        claim: &InboxClaim,
        running: impl Future<Output = T>,
        cancellation: &CancellationToken,
    ) -> Ran<T> {
        let lease = Lease {
            renewer: Renewer::Inbox(self.inbox.as_ref()),
            key: &claim.entry.key,
            token: claim.token,
            length: self.config.inbox.lease,
            period: self.config.inbox.renewal(),
            store_timeout: self.config.store_timeout,
            clock: self.clock.as_ref(),
        };
        let supervisor = Supervisor {
            lease: Some(lease),
            limit: self.policy.retry.attempt_timeout(),
            stop: &self.stop,
        };
        supervisor.supervise(running, cancellation).await
    }

    /// Writes `settlement`, trying again a few times on a failure; what the attempt came to.
    async fn settle(&self, claim: &InboxClaim, settlement: Settlement) -> InboxOutcome {
        let key = &claim.entry.key;
        let mut last_error = String::new();
        for attempt in 1..=SETTLE_TRIES {
            let now = self.clock.now();
            let writing = self.inbox.settle(key, claim.token, now, settlement.clone());
            match timeout(self.config.store_timeout, writing).await {
                Ok(Ok(())) => return outcome_of(settlement),
                Ok(Err(StoreError::NotHeld { .. })) => return InboxOutcome::NotHeld,
                Ok(Err(error)) => last_error = error.to_string(),
                Err(_) => {
                    last_error = format!(
                        "the inbox did not settle the row within {:?}",
                        self.config.store_timeout
                    );
                }
            }
            tracing::warn!(
                key = %key,
                error = %last_error,
                attempt,
                "could not settle the inbox row; trying again"
            );
            if attempt < SETTLE_TRIES {
                sleep(SETTLE_PAUSE * attempt).await;
            }
        }
        InboxOutcome::Unsettled {
            error: format!(
                "the settlement could not be written ({last_error}); the row is retried once its \
                 lease runs out"
            ),
        }
    }
}

/// The outcome a written settlement reports.
fn outcome_of(settlement: Settlement) -> InboxOutcome {
    match settlement {
        Settlement::Done => InboxOutcome::Done,
        Settlement::Retry { at, error } => InboxOutcome::Retry { at, error },
        Settlement::Dead { error } => InboxOutcome::Dead { error },
        other => InboxOutcome::Unsettled {
            error: format!("unknown settlement {other:?}"),
        },
    }
}

/// The message of a caught panic, if it has one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

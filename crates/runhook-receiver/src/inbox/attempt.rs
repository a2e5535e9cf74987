//! One attempt on a claimed row: parse, run the processor under the attempt timeout while
//! renewing the lease, decide the settlement, write it, report it.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::time::Duration;

use futures::FutureExt;
use http::{HeaderMap, Uri};
use runhook::inbox::{InboxClaim, Settlement};
use runhook::store::StoreError;
use runhook::{Event, HandlerOutcome};
use sha2::{Digest, Sha256};
use tokio::time::{Instant, interval_at, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;

use super::workers::Shared;
use super::{InboxOutcome, InboxReport, Processed};
use crate::metrics::{self, HandlerRun};
use crate::{HandlerContext, Received};

/// How long a processor asked to stop (cancelled) may take to return before it is dropped.
pub(super) const WIND_DOWN: Duration = Duration::from_secs(1);

/// How many times a settlement is tried before the row is left to its lease.
const SETTLE_TRIES: u32 = 3;
/// The pause before trying a failed settlement again.
const SETTLE_PAUSE: Duration = Duration::from_millis(500);

/// How a supervised processor ended.
enum Ran<T> {
    /// It returned (or panicked).
    Finished(T),
    /// It ran past the policy's attempt timeout.
    TimedOut,
    /// The row's lease was lost: another worker took it.
    LeaseLost,
    /// A shutdown's grace period ended first.
    Stopped,
}

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
                return (Decided::Settle(Settlement::Dead { error }), None);
            }
        };
        let cancellation = self.stop.child_token();
        let context =
            HandlerContext::new(Uri::from_static("/"), HeaderMap::new(), entry.received_at)
                .with_attempt(entry.attempts)
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
                Decided::Settle(self.settlement_of(claim, outcome))
            }
            Ran::Finished(Ok(Processed::RetryAfter { reason, after })) => {
                metrics::handler_run(HandlerRun::Retry);
                Decided::Settle(self.retry_asked(claim, reason, Some(after)))
            }
            Ran::Finished(Ok(Processed::Done)) => {
                metrics::handler_run(HandlerRun::Ok);
                Decided::AlreadyDone
            }
            Ran::Finished(Ok(Processed::NotHeld)) => Decided::NotHeld,
            Ran::Finished(Err(panic)) => {
                metrics::handler_run(HandlerRun::Panic);
                let error = format!("the handler panicked: {}", panic_message(panic.as_ref()));
                Decided::Settle(self.retry(claim, error))
            }
            Ran::TimedOut => {
                metrics::handler_run(HandlerRun::Timeout);
                let error = format!(
                    "the handler ran past the attempt timeout of {timeout:?} and was stopped"
                );
                Decided::Settle(self.retry(claim, error))
            }
            Ran::LeaseLost => {
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
            Ran::Finished(Ok(Processed::Answered { .. })) => Decided::Settle(
                self.retry(claim, "the processor answered nothing to settle".to_owned()),
            ),
        };
        (decided, status)
    }

    /// The settlement of the processor's `outcome`.
    fn settlement_of(&self, claim: &InboxClaim, outcome: HandlerOutcome) -> Settlement {
        match outcome {
            HandlerOutcome::Ok => Settlement::Done,
            HandlerOutcome::Reject { reason } => Settlement::Dead {
                error: format!("the handler rejected the event: {reason}"),
            },
            HandlerOutcome::Retry { reason } => self.retry(claim, reason),
            other => self.retry(claim, format!("the handler answered {other:?}")),
        }
    }

    /// A failed attempt's settlement: again at the policy's next time, or dead when the policy
    /// gives up.
    fn retry(&self, claim: &InboxClaim, error: String) -> Settlement {
        self.retry_asked(claim, error, None)
    }

    /// The same, after a wait the other side `asked` for if the policy honours it (capped): the
    /// later of that and the policy's next time, so a short `Retry-After` never spends the
    /// policy's attempts faster than its schedule.
    fn retry_asked(
        &self,
        claim: &InboxClaim,
        error: String,
        asked: Option<Duration>,
    ) -> Settlement {
        let entry = &claim.entry;
        let now = self.clock.now();
        let seed = seed(entry.key.as_str(), entry.attempts);
        let cap = self.policy.retry.retry_after_cap();
        let after = asked.and_then(|after| cap.map(|cap| after.min(cap)));
        let next = |after| {
            self.policy
                .retry_at(entry.attempts, entry.received_at, now, after, seed)
        };
        let at = match (next(None), after) {
            (Some(scheduled), Some(after)) => next(Some(after)).map(|asked| asked.max(scheduled)),
            (scheduled, _) => scheduled,
        };
        match at {
            Some(at) => Settlement::Retry { at, error },
            None => Settlement::Dead {
                error: format!("gave up after {} attempts: {error}", entry.attempts),
            },
        }
    }

    /// Waits for the processor under the policy's attempt timeout, renewing the row's lease
    /// every third of it while it runs. On a timeout, a lost lease or the end of a shutdown's
    /// grace period, the processor is cancelled and given [`WIND_DOWN`] to return (on a timeout
    /// or a shutdown, whatever it returns then stands).
    async fn supervise<T>(
        &self,
        claim: &InboxClaim,
        running: impl Future<Output = T>,
        cancellation: &CancellationToken,
    ) -> Ran<T> {
        let started = Instant::now();
        let mut running = pin!(running);
        let renewals = pin!(self.renew_until_lost(claim, started));
        let ended = tokio::select! {
            biased;
            finished = &mut running => return Ran::Finished(finished),
            () = renewals => Ran::LeaseLost,
            () = sleep_until(started + self.policy.retry.attempt_timeout()) => Ran::TimedOut,
            () = self.stop.cancelled() => Ran::Stopped,
        };
        cancellation.cancel();
        match (timeout(WIND_DOWN, &mut running).await, ended) {
            (Ok(_), Ran::LeaseLost) | (Err(_), Ran::LeaseLost) => Ran::LeaseLost,
            (Ok(finished), _) => Ran::Finished(finished),
            (Err(_), ended) => ended,
        }
    }

    /// Renews the row's lease every third of it; returns once the inbox says the row is not
    /// held any more, or once the lease has run out without a successful renewal (another
    /// worker, in this process or another, may have claimed the row by then, so this attempt
    /// must stop rather than run beside it). A failed renewal before that is logged and tried
    /// again next period.
    async fn renew_until_lost(&self, claim: &InboxClaim, started: Instant) {
        let key = &claim.entry.key;
        let lease = self.config.inbox_lease;
        let period = self.config.inbox_renewal();
        let mut ticks = interval_at(started + period, period);
        // The lease as this process last knew it held: from the claim, then each renewal.
        let mut held_until = started + lease;
        loop {
            ticks.tick().await;
            if Instant::now() >= held_until {
                tracing::warn!(
                    key = %key,
                    "the inbox row's lease ran out without a renewal; stopping its handler"
                );
                return;
            }
            let now = self.clock.now();
            let asked = Instant::now();
            let renewal = self.inbox.renew(key, claim.token, now, lease);
            match timeout(self.config.store_timeout, renewal).await {
                Ok(Ok(())) => held_until = asked + lease,
                Ok(Err(StoreError::NotHeld { .. })) => {
                    tracing::warn!(
                        key = %key,
                        "the inbox row was taken over while its handler ran; stopping it"
                    );
                    return;
                }
                Ok(Err(error)) => tracing::warn!(
                    key = %key,
                    %error,
                    "could not renew the inbox row's lease; trying again next period"
                ),
                Err(_) => tracing::warn!(
                    key = %key,
                    timeout = ?self.config.store_timeout,
                    "the inbox did not renew the row's lease in time; trying again next period"
                ),
            }
        }
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

/// The jitter seed of attempt `attempt` of `key`: the first 8 bytes of their SHA-256, so rows
/// that fail together spread out, and a row's time is the same wherever it is computed.
fn seed(key: &str, attempt: u32) -> u64 {
    let digest = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(attempt.to_be_bytes())
        .finalize();
    let mut bytes = [0; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(bytes)
}

/// The message of a caught panic, if it has one.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

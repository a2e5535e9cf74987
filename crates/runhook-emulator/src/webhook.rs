//! Webhook delivery: one POST per finished run to its `webhook_url`, retried with the retry
//! policy by the core's [`Delivery`] state machine on a clock that runs `speed` times faster.
//!
//! Real attempts go through the [`runhook_dispatch::Sender`] (its HTTP client, address checks,
//! no-redirect rule, deadline and error kinds), one attempt at a time with the policy's attempt
//! timeout; the emulator's own loop decides the retries, which is where the fault plan comes in:
//! a dropped attempt is recorded as a network error without sending anything, a timed-out
//! attempt sends nothing and ends at its deadline, and a duplicate sends the delivered POST once
//! more.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use runhook::RetryPolicy;
use runhook::delivery::{AttemptResult, Delivery, DeliveryAction, NetworkErrorKind};
use runhook_dispatch::Exchange;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::activity::DeliveryRecord;
use crate::clock::{VirtualClock, until_true};
use crate::model::{StoredRun, webhook_event};
use crate::state::Shared;
use crate::timefmt;

/// Starts delivering the webhook of the finished `run`, if it has a `webhook_url`.
pub(crate) fn start(shared: &Arc<Shared>, run: &StoredRun) {
    let Some(url) = run.webhook_url.clone() else {
        return;
    };
    let built = webhook_event(run).and_then(|event| {
        Ok((
            event.event_type().to_string(),
            event.to_vec().map_err(|e| e.to_string())?,
        ))
    });
    let (event, body) = match built {
        Ok(built) => built,
        Err(error) => {
            // Never a silent skip: the delivery log and the observer say why.
            shared.record_delivery(DeliveryRecord {
                run_id: run.id().to_owned(),
                event: run
                    .status()
                    .event_type()
                    .map(|event| event.as_str().to_owned())
                    .unwrap_or_default(),
                attempt: 0,
                max_attempts: shared.settings.policy.max_attempts(),
                at: timefmt::format(timefmt::now()),
                result: format!("refused: cannot build the webhook: {error}"),
                status: None,
                fault: None,
                error: Some(error),
                elapsed_ms: 0,
                retry_in_ms: None,
                outcome: Some("refused".into()),
            });
            return;
        }
    };
    let job = Job {
        shared: Arc::clone(shared),
        url,
        run_id: run.id().to_owned(),
        event,
        body: Bytes::from(body),
        drop: run.faults.drop,
        timeout: run.faults.timeout,
        duplicate: run.faults.duplicate,
        stop: shared.stop_signal(),
    };
    tokio::spawn(job.run());
}

struct Job {
    shared: Arc<Shared>,
    url: String,
    run_id: String,
    event: String,
    body: Bytes,
    drop: u32,
    timeout: u32,
    duplicate: bool,
    stop: watch::Receiver<bool>,
}

/// What one attempt did, before it is written down.
struct Attempt {
    number: u32,
    at: String,
    started: Instant,
    fault: Option<&'static str>,
    status: Option<u16>,
    error: Option<String>,
    summary: String,
}

/// What an attempt's result and exchange say: the status, the error and the summary of its
/// record.
fn describe(result: &AttemptResult, exchange: &Exchange) -> (Option<u16>, Option<String>, String) {
    let error = exchange.error.as_ref();
    match result {
        AttemptResult::Response { status, .. } => (
            Some(*status),
            error.map(ToString::to_string),
            status.to_string(),
        ),
        AttemptResult::Network(kind) => {
            let summary = format!("network error: {}", kind.as_str());
            let error =
                error.map_or_else(|| summary.clone(), |error| format!("{summary}: {error}"));
            (None, Some(error), summary)
        }
        AttemptResult::Timeout => (None, Some("timed out".into()), "timed out".into()),
        other => (None, Some(format!("{other:?}")), format!("{other:?}")),
    }
}

/// Counts a POST in flight while it lives, so that a shutdown can wait for it
/// ([`wait_for_posts`]).
struct Posting<'a>(&'a watch::Sender<usize>);

impl<'a> Posting<'a> {
    fn start(posting: &'a watch::Sender<usize>) -> Self {
        posting.send_modify(|n| *n += 1);
        Posting(posting)
    }
}

impl Drop for Posting<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// Waits until no POST is in flight, for at most [`SHUTDOWN_GRACE`].
pub(crate) async fn wait_for_posts(shared: &Shared) {
    let mut posting = shared.posting.subscribe();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, posting.wait_for(|n| *n == 0)).await;
}

impl Job {
    fn begin(&self, number: u32, fault: Option<&'static str>) -> Attempt {
        Attempt {
            number,
            at: timefmt::format(timefmt::now()),
            started: Instant::now(),
            fault,
            status: None,
            error: None,
            summary: String::new(),
        }
    }

    fn record(
        &self,
        attempt: Attempt,
        delivery: &Delivery,
        clock: &VirtualClock,
        ended: Option<&str>,
    ) {
        let retry_in = delivery
            .attempts()
            .iter()
            .find(|record| record.attempt == attempt.number)
            .and_then(|record| record.next_wait)
            .filter(|_| ended.is_none())
            .map(|wait| u64::try_from(clock.real(wait).as_millis()).unwrap_or(u64::MAX));
        self.shared.record_delivery(DeliveryRecord {
            run_id: self.run_id.clone(),
            event: self.event.clone(),
            attempt: attempt.number,
            max_attempts: delivery.policy().max_attempts(),
            at: attempt.at,
            result: attempt.summary,
            status: attempt.status,
            fault: attempt.fault.map(str::to_owned),
            error: attempt.error,
            elapsed_ms: u64::try_from(attempt.started.elapsed().as_millis()).unwrap_or(u64::MAX),
            retry_in_ms: retry_in,
            outcome: ended.map(str::to_owned),
        });
    }

    /// Sends the body once through the sender: the attempt's result and exchange, or why the
    /// delivery cannot go on (`refused`, `abandoned`). When the emulator stops, a POST in
    /// flight gets [`SHUTDOWN_GRACE`] to finish, and the delivery is abandoned.
    async fn send(
        &mut self,
        policy: &RetryPolicy,
    ) -> Result<(AttemptResult, Exchange), (&'static str, String)> {
        let shared = Arc::clone(&self.shared);
        let sender = &shared.settings.sender;
        let target = sender
            .target(&self.url)
            .map_err(|error| ("refused", error.to_string()))?;
        let _posting = Posting::start(&shared.posting);
        let sending = sender
            .post(&target, self.body.clone())
            .timeout(policy.attempt_timeout())
            .send();
        tokio::pin!(sending);
        let exchange = tokio::select! {
            exchange = &mut sending => exchange,
            () = until_true(&mut self.stop) => {
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, sending).await;
                return Err(("abandoned", "the emulator stopped".into()));
            }
        };
        match exchange.result() {
            Ok(result) => Ok((result, exchange)),
            Err(refused) => Err(("refused", refused.to_string())),
        }
    }

    async fn run(mut self) {
        let policy = self.shared.settings.policy.clone();
        let clock = VirtualClock::start(self.shared.settings.speed);
        let mut delivery = Delivery::new(policy.clone(), clock.now());
        loop {
            match delivery.poll_action(clock.now()) {
                DeliveryAction::Send { attempt, deadline } => {
                    if attempt <= self.drop {
                        let mut record = self.begin(attempt, Some("drop"));
                        record.error = Some("simulated network error: connection reset".into());
                        record.summary = "dropped (simulated network error)".into();
                        delivery.handle_result(
                            clock.now(),
                            AttemptResult::Network(NetworkErrorKind::Reset),
                        );
                        self.record(record, &delivery, &clock, ended(&delivery));
                    } else if attempt <= self.drop + self.timeout {
                        let mut record = self.begin(attempt, Some("timeout"));
                        tokio::select! {
                            () = clock.sleep_until(deadline) => {}
                            () = until_true(&mut self.stop) => return,
                        }
                        record.error = Some("simulated timeout: no answer in time".into());
                        record.summary = "timed out (simulated)".into();
                        delivery.handle_result(deadline, AttemptResult::Timeout);
                        self.record(record, &delivery, &clock, ended(&delivery));
                    } else {
                        let mut record = self.begin(attempt, None);
                        match self.send(&policy).await {
                            Ok((result, exchange)) => {
                                (record.status, record.error, record.summary) =
                                    describe(&result, &exchange);
                                delivery.handle_result(clock.now(), result);
                                self.record(record, &delivery, &clock, ended(&delivery));
                            }
                            Err((outcome, error)) => {
                                record.summary = format!("{outcome}: {error}");
                                record.error = Some(error);
                                self.record(record, &delivery, &clock, Some(outcome));
                                return;
                            }
                        }
                        if self.duplicate && delivery.outcome().is_some_and(|o| o.is_delivered()) {
                            self.send_duplicate(attempt, &policy, &delivery, &clock)
                                .await;
                        }
                    }
                }
                DeliveryAction::WaitUntil(at) => {
                    tokio::select! {
                        () = clock.sleep_until(at) => {}
                        () = until_true(&mut self.stop) => return,
                    }
                }
                _ => return,
            }
        }
    }

    /// Sends the delivered POST once more.
    async fn send_duplicate(
        &mut self,
        attempt: u32,
        policy: &RetryPolicy,
        delivery: &Delivery,
        clock: &VirtualClock,
    ) {
        let mut record = self.begin(attempt, Some("duplicate"));
        match self.send(policy).await {
            Ok((result, exchange)) => {
                (record.status, record.error, record.summary) = describe(&result, &exchange);
            }
            Err((outcome, error)) => {
                record.summary = format!("{outcome}: {error}");
                record.error = Some(error);
            }
        }
        record.summary = format!("{} (duplicate)", record.summary);
        self.record(record, delivery, clock, ended(delivery));
    }
}

/// How the delivery ended, once it has.
fn ended(delivery: &Delivery) -> Option<&'static str> {
    delivery.outcome().map(|outcome| {
        if outcome.is_delivered() {
            "delivered"
        } else {
            "failed"
        }
    })
}

/// How long at most a POST in flight may go on after the emulator stops.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

//! What happens to one delivery in the driver: it waits for a slot, asks the core what to do,
//! runs an attempt or waits for its timer, publishes each attempt's report, and ends.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use runhook::delivery::{Delivery, DeliveryAction};
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio::time::Instant;
use tokio_util::time::delay_queue::Key;

use super::Driver;
use crate::attempt::{self, AttemptDone, AttemptSpec};
use crate::report::{AttemptReport, DeliveryId, DispatchOutcome};
use crate::sender::Target;

/// A delivery the driver holds.
pub(super) struct Entry {
    pub(super) delivery: Delivery,
    pub(super) target: Target,
    /// `host:port`, the key of the per-host limits.
    pub(super) host: Arc<str>,
    pub(super) event: Bytes,
    pub(super) done: oneshot::Sender<DispatchOutcome>,
    /// The pending retry's timer, if the delivery is waiting for one.
    pub(super) timer: Option<Key>,
    /// The delivery's place under `max_pending`, given back when the entry is dropped.
    pub(super) _permit: OwnedSemaphorePermit,
}

impl Entry {
    /// Attempts started so far.
    fn attempts(&self) -> u32 {
        u32::try_from(self.delivery.attempts().len()).unwrap_or(u32::MAX)
    }
}

impl Driver {
    /// Starts attempts while slots are free and deliveries are due.
    pub(super) fn pump(&mut self) {
        while let Some((host, id)) = self.slots.next() {
            self.advance(id, &host, Instant::now(), None);
        }
    }

    /// Asks the core what `id`, which holds a slot on `host`, does next, and does it: start an
    /// attempt (keeping the slot), wait for a timer, or end. `ended` is the report of the attempt
    /// that just ended, published with what follows it.
    fn advance(&mut self, id: DeliveryId, host: &str, now: Instant, ended: Option<AttemptReport>) {
        let Some(entry) = self.entries.get_mut(&id) else {
            // Abandoned while it waited for a slot.
            self.slots.release(host);
            return;
        };
        let output = entry.delivery.poll_action(now.into_std());
        if !matches!(output, DeliveryAction::Send { .. }) {
            self.slots.release(host);
        }
        match output {
            DeliveryAction::Send { attempt, deadline } => {
                self.publish(ended, Some(Duration::ZERO), None);
                self.spawn(id, attempt, deadline);
            }
            DeliveryAction::WaitUntil(at) => {
                let wait = Instant::from_std(at).saturating_duration_since(now);
                self.publish(ended, Some(wait), None);
                self.schedule(id, at);
            }
            DeliveryAction::Done(outcome) => {
                let outcome = DispatchOutcome::from(outcome);
                self.publish(ended, None, Some(&outcome));
                self.finish(id, outcome);
            }
            other => {
                self.publish(ended, None, None);
                self.unknown_output(id, &other);
            }
        }
    }

    /// Starts attempt `attempt` of `id`, which holds a slot.
    fn spawn(&mut self, id: DeliveryId, attempt: u32, deadline: std::time::Instant) {
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        tracing::debug!(delivery_id = %id, attempt, url = %entry.target, "webhook attempt started");
        let spec = AttemptSpec {
            id,
            attempt,
            sender: self.sender.clone(),
            target: entry.target.clone(),
            body: entry.event.clone(),
            deadline: Instant::from_std(deadline),
            excerpt_limit: self.settings.excerpt_limit,
        };
        self.attempts.spawn(attempt::perform(spec));
    }

    /// Waits until `at` for `id`'s next attempt, or abandons it if that is after the shutdown
    /// deadline.
    fn schedule(&mut self, id: DeliveryId, at: std::time::Instant) {
        let at = Instant::from_std(at);
        if let Some(closing) = &self.closing
            && at > closing.deadline
        {
            self.abandon(id);
            return;
        }
        let key = self.timers.insert_at(id, at);
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.timer = Some(key);
        }
    }

    /// `id`'s retry is due: it queues for a slot.
    pub(super) fn timer_fired(&mut self, id: DeliveryId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.timer = None;
            self.slots.enqueue(&entry.host, id);
        }
    }

    /// An attempt reported back (a panicked one too): feed its result to the core and go on, or
    /// end the delivery if the address was refused.
    pub(super) fn attempt_done(&mut self, done: AttemptDone) {
        let now = Instant::now();
        let AttemptDone {
            id,
            attempt,
            result,
            status,
            error,
            latency,
            body_excerpt,
            body_truncated,
        } = done;
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        let host = Arc::clone(&entry.host);
        let mut report = AttemptReport {
            delivery_id: id,
            url: Arc::from(entry.target.as_str()),
            attempt,
            max_attempts: entry.delivery.policy().max_attempts(),
            status,
            error,
            result: None,
            latency,
            retry_in: None,
            body_excerpt,
            body_truncated,
            outcome: None,
        };
        match result {
            Ok(result) => {
                entry.delivery.handle_result(now.into_std(), result.clone());
                report.result = Some(result);
                self.advance(id, &host, now, Some(report));
            }
            Err(reason) => {
                self.slots.release(&host);
                let outcome = DispatchOutcome::Refused {
                    attempts: attempt,
                    reason,
                };
                self.publish(Some(report), None, Some(&outcome));
                self.finish(id, outcome);
            }
        }
    }

    /// Publishes and logs `report` (if any) with what follows the attempt.
    fn publish(
        &self,
        report: Option<AttemptReport>,
        retry_in: Option<Duration>,
        outcome: Option<&DispatchOutcome>,
    ) {
        let Some(mut report) = report else {
            return;
        };
        report.retry_in = retry_in;
        report.outcome = outcome.cloned();
        report.log();
        let _ = self.reports.send(report);
    }

    /// Forgets `id` (and its timer, if any).
    fn remove(&mut self, id: DeliveryId) -> Option<Entry> {
        let entry = self.entries.remove(&id)?;
        if let Some(key) = &entry.timer {
            self.timers.try_remove(key);
        }
        Some(entry)
    }

    /// `id` ended with `outcome`.
    fn finish(&mut self, id: DeliveryId, outcome: DispatchOutcome) {
        let Some(entry) = self.remove(id) else {
            return;
        };
        if let Some(closing) = &mut self.closing {
            closing.report.finished += 1;
        }
        let _ = entry.done.send(outcome);
    }

    /// `id` is abandoned by a shutdown.
    pub(super) fn abandon(&mut self, id: DeliveryId) {
        let Some(entry) = self.remove(id) else {
            return;
        };
        let attempts = entry.attempts();
        tracing::warn!(delivery_id = %id, attempts, url = %entry.target, "webhook delivery abandoned at shutdown");
        if let Some(closing) = &mut self.closing {
            closing.report.abandoned.push(id);
        }
        let _ = entry.done.send(DispatchOutcome::Abandoned { attempts });
    }

    /// An output this version does not know (the core's enum is non-exhaustive): the delivery
    /// cannot be driven further, so it ends as abandoned rather than hang.
    fn unknown_output(&mut self, id: DeliveryId, output: &DeliveryAction) {
        tracing::error!(delivery_id = %id, ?output, "the delivery core returned an output this dispatcher does not know; abandoning the delivery");
        let Some(entry) = self.remove(id) else {
            return;
        };
        let attempts = entry.attempts();
        let _ = entry.done.send(DispatchOutcome::Abandoned { attempts });
    }
}

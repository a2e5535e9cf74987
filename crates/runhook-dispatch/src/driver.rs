//! The driver task: owns every [`Delivery`], the one timer queue of pending retries and the
//! concurrency slots; starts attempts and feeds their results back to the core.
//!
//! It follows the core's drain contract: a delivery is polled when it is submitted (once it holds
//! a slot), after every result, and when its timer fires. It never polls a delivery whose attempt
//! is in flight: the attempt task enforces the deadline itself and reports a timeout.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use runhook::{Delivery, Output, RetryPolicy};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::{Expired, Key};

use crate::attempt::{self, AttemptDone, AttemptSpec};
use crate::builder::{Clients, Settings};
use crate::report::{AttemptReport, DeliveryId, DeliveryOutcome, ShutdownReport};
use crate::slots::Slots;

/// A message from a [`Dispatcher`](crate::Dispatcher) to its driver.
pub(crate) enum Command {
    Submit(Box<Job>),
    Shutdown {
        grace: Duration,
        reply: oneshot::Sender<ShutdownReport>,
    },
}

/// A submitted delivery, checked and ready to run.
pub(crate) struct Job {
    pub(crate) id: DeliveryId,
    pub(crate) url: reqwest::Url,
    pub(crate) host: Arc<str>,
    pub(crate) plain_http: bool,
    pub(crate) event: Bytes,
    pub(crate) policy: RetryPolicy,
    pub(crate) done: oneshot::Sender<DeliveryOutcome>,
}

/// A delivery the driver holds.
struct Entry {
    delivery: Delivery,
    url: reqwest::Url,
    host: Arc<str>,
    plain_http: bool,
    event: Bytes,
    done: Option<oneshot::Sender<DeliveryOutcome>>,
    /// The pending retry's timer, if the delivery is waiting for one.
    timer: Option<Key>,
    /// The attempt in flight or last started.
    attempt: u32,
}

/// Shutdown in progress.
struct Closing {
    deadline: Instant,
    replies: Vec<oneshot::Sender<ShutdownReport>>,
    report: ShutdownReport,
}

/// What woke the driver.
enum Wake {
    Command(Option<Command>),
    Attempt(Option<Result<(tokio::task::Id, AttemptDone), JoinError>>),
    Timer(Option<Expired<DeliveryId>>),
    GraceOver,
}

pub(crate) struct Driver {
    settings: Settings,
    clients: Clients,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_open: bool,
    reports: broadcast::Sender<AttemptReport>,
    entries: HashMap<DeliveryId, Entry>,
    timers: DelayQueue<DeliveryId>,
    slots: Slots,
    attempts: JoinSet<AttemptDone>,
    tasks: HashMap<tokio::task::Id, DeliveryId>,
    closing: Option<Closing>,
    seeds: RandomState,
}

impl Driver {
    pub(crate) fn new(
        settings: Settings,
        clients: Clients,
        commands: mpsc::UnboundedReceiver<Command>,
        reports: broadcast::Sender<AttemptReport>,
    ) -> Self {
        let slots = Slots::new(settings.max_in_flight, settings.max_per_host);
        Driver {
            settings,
            clients,
            commands,
            commands_open: true,
            reports,
            entries: HashMap::new(),
            timers: DelayQueue::new(),
            slots,
            attempts: JoinSet::new(),
            tasks: HashMap::new(),
            closing: None,
            seeds: RandomState::new(),
        }
    }

    /// Runs until shut down, or until every dispatcher handle is gone and no work is left.
    pub(crate) async fn run(mut self) {
        loop {
            if self.entries.is_empty() && (self.closing.is_some() || !self.commands_open) {
                break;
            }
            let grace_deadline = self.closing.as_ref().map(|closing| closing.deadline);
            // Unbiased: under sustained load no source (results, timers, new work, the grace
            // deadline) can starve the others.
            let wake = tokio::select! {
                done = self.attempts.join_next_with_id(), if !self.attempts.is_empty() => {
                    Wake::Attempt(done)
                }
                expired = std::future::poll_fn(|cx| self.timers.poll_expired(cx)),
                    if !self.timers.is_empty() => Wake::Timer(expired),
                command = self.commands.recv(), if self.commands_open => Wake::Command(command),
                () = tokio::time::sleep_until(grace_deadline.unwrap_or_else(Instant::now)),
                    if grace_deadline.is_some() => Wake::GraceOver,
            };
            match wake {
                Wake::Command(Some(Command::Submit(job))) => self.submit(job),
                Wake::Command(Some(Command::Shutdown { grace, reply })) => {
                    self.shutdown(grace, reply)
                }
                Wake::Command(None) => self.commands_open = false,
                Wake::Attempt(Some(Ok((task, done)))) => {
                    self.tasks.remove(&task);
                    self.attempt_done(done);
                }
                Wake::Attempt(Some(Err(error))) => self.attempt_lost(error),
                Wake::Attempt(None) | Wake::Timer(None) => {}
                Wake::Timer(Some(expired)) => self.timer_fired(expired.into_inner()),
                Wake::GraceOver => self.abandon_all(),
            }
            self.pump();
        }
        if let Some(closing) = self.closing.take() {
            for reply in closing.replies {
                let _ = reply.send(closing.report.clone());
            }
        }
    }

    fn submit(&mut self, job: Box<Job>) {
        let job = *job;
        if let Some(closing) = &mut self.closing {
            closing.report.abandoned.push(job.id);
            let _ = job.done.send(DeliveryOutcome::Abandoned { attempts: 0 });
            return;
        }
        let now = Instant::now().into_std();
        let seed = self.seeds.hash_one(job.id.0);
        let delivery = Delivery::with_seed(job.policy, seed, now);
        self.slots.enqueue(&job.host, job.id);
        self.entries.insert(
            job.id,
            Entry {
                delivery,
                url: job.url,
                host: job.host,
                plain_http: job.plain_http,
                event: job.event,
                done: Some(job.done),
                timer: None,
                attempt: 0,
            },
        );
    }

    /// Starts attempts while slots are free and deliveries are due.
    fn pump(&mut self) {
        while let Some((host, id)) = self.slots.next() {
            let Some(entry) = self.entries.get_mut(&id) else {
                // Abandoned while it waited for a slot.
                self.slots.release(&host);
                continue;
            };
            let now = Instant::now().into_std();
            match entry.delivery.poll_output(now) {
                Output::Send { attempt, deadline } => self.spawn(id, attempt, deadline),
                Output::WaitUntil(at) => {
                    self.slots.release(&host);
                    self.schedule(id, at);
                }
                Output::Done(outcome) => {
                    self.slots.release(&host);
                    self.finish(id, outcome.into());
                }
                other => {
                    self.slots.release(&host);
                    self.unknown_output(id, &other);
                }
            }
        }
    }

    /// Starts attempt `attempt` of `id`, which holds a slot.
    fn spawn(&mut self, id: DeliveryId, attempt: u32, deadline: std::time::Instant) {
        let Some(entry) = self.entries.get_mut(&id) else {
            return;
        };
        entry.attempt = attempt;
        let client = match (&self.clients.http, entry.plain_http) {
            (Some(http), true) => http.clone(),
            _ => self.clients.https.clone(),
        };
        tracing::debug!(delivery_id = %id, attempt, url = %entry.url, "webhook attempt started");
        let spec = AttemptSpec {
            id,
            attempt,
            client,
            url: entry.url.clone(),
            body: entry.event.clone(),
            deadline: Instant::from_std(deadline),
            body_limit: self.settings.body_limit,
            excerpt_limit: self.settings.excerpt_limit,
        };
        let task = self.attempts.spawn(attempt::perform(spec));
        self.tasks.insert(task.id(), id);
    }

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

    fn timer_fired(&mut self, id: DeliveryId) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.timer = None;
            self.slots.enqueue(&entry.host, id);
        }
    }

    fn attempt_done(&mut self, done: AttemptDone) {
        let now = Instant::now();
        let Some(entry) = self.entries.get_mut(&done.id) else {
            return;
        };
        let host = Arc::clone(&entry.host);
        let report = done_report(entry, done.attempt, &done);
        let result = match done.result {
            Ok(result) => result,
            Err(reason) => {
                self.slots.release(&host);
                let outcome = DeliveryOutcome::Refused {
                    attempts: done.attempt,
                    reason,
                };
                self.publish(&report, None, Some(&outcome));
                self.finish(done.id, outcome);
                return;
            }
        };
        entry.delivery.handle_result(now.into_std(), result.clone());
        let report = report.with_result(result);
        match entry.delivery.poll_output(now.into_std()) {
            Output::Send { attempt, deadline } => {
                // A retry due at once keeps the slot.
                self.publish(&report, Some(Duration::ZERO), None);
                self.spawn(done.id, attempt, deadline);
            }
            Output::WaitUntil(at) => {
                self.slots.release(&host);
                let wait = Instant::from_std(at).saturating_duration_since(now);
                self.publish(&report, Some(wait), None);
                self.schedule(done.id, at);
            }
            Output::Done(outcome) => {
                self.slots.release(&host);
                let outcome = DeliveryOutcome::from(outcome);
                self.publish(&report, None, Some(&outcome));
                self.finish(done.id, outcome);
            }
            other => {
                self.slots.release(&host);
                self.publish(&report, None, None);
                self.unknown_output(done.id, &other);
            }
        }
    }

    /// An attempt task panicked or was aborted; a panic counts as a network failure.
    fn attempt_lost(&mut self, error: JoinError) {
        let Some(id) = self.tasks.remove(&error.id()) else {
            return;
        };
        let Some(entry) = self.entries.get(&id) else {
            return;
        };
        let done = AttemptDone {
            id,
            attempt: entry.attempt,
            result: Ok(runhook::AttemptResult::Network(
                runhook::NetworkErrorKind::Other,
            )),
            status: None,
            error: Some(format!("the attempt task failed: {error}")),
            latency: Duration::ZERO,
            body_excerpt: String::new(),
            body_truncated: false,
        };
        self.attempt_done(done);
    }

    /// An output this version does not know (the core's enum is non-exhaustive): the delivery
    /// cannot be driven further, so it ends as abandoned rather than hang.
    fn unknown_output(&mut self, id: DeliveryId, output: &Output) {
        tracing::error!(delivery_id = %id, ?output, "the delivery core returned an output this dispatcher does not know; abandoning the delivery");
        let Some(mut entry) = self.entries.remove(&id) else {
            return;
        };
        let attempts = u32::try_from(entry.delivery.attempts().len()).unwrap_or(u32::MAX);
        if let Some(done) = entry.done.take() {
            let _ = done.send(DeliveryOutcome::Abandoned { attempts });
        }
    }

    fn publish(
        &self,
        report: &PartialReport,
        retry_in: Option<Duration>,
        outcome: Option<&DeliveryOutcome>,
    ) {
        let report = AttemptReport {
            delivery_id: report.id,
            url: Arc::clone(&report.url),
            attempt: report.attempt,
            max_attempts: report.max_attempts,
            status: report.status,
            error: report.error.clone(),
            result: report.result.clone(),
            latency: report.latency,
            retry_in,
            body_excerpt: report.body_excerpt.clone(),
            body_truncated: report.body_truncated,
            outcome: outcome.cloned(),
        };
        log(&report);
        let _ = self.reports.send(report);
    }

    fn finish(&mut self, id: DeliveryId, outcome: DeliveryOutcome) {
        let Some(mut entry) = self.entries.remove(&id) else {
            return;
        };
        if let Some(key) = entry.timer.take() {
            self.timers.try_remove(&key);
        }
        if let Some(closing) = &mut self.closing {
            closing.report.finished += 1;
        }
        if let Some(done) = entry.done.take() {
            let _ = done.send(outcome);
        }
    }

    fn abandon(&mut self, id: DeliveryId) {
        let Some(mut entry) = self.entries.remove(&id) else {
            return;
        };
        if let Some(key) = entry.timer.take() {
            self.timers.try_remove(&key);
        }
        let attempts = u32::try_from(entry.delivery.attempts().len()).unwrap_or(u32::MAX);
        tracing::warn!(delivery_id = %id, attempts, url = %entry.url, "webhook delivery abandoned at shutdown");
        if let Some(closing) = &mut self.closing {
            closing.report.abandoned.push(id);
        }
        if let Some(done) = entry.done.take() {
            let _ = done.send(DeliveryOutcome::Abandoned { attempts });
        }
    }

    fn shutdown(&mut self, grace: Duration, reply: oneshot::Sender<ShutdownReport>) {
        let deadline = Instant::now() + grace;
        match &mut self.closing {
            Some(closing) => {
                closing.deadline = closing.deadline.min(deadline);
                closing.replies.push(reply);
            }
            None => {
                self.closing = Some(Closing {
                    deadline,
                    replies: vec![reply],
                    report: ShutdownReport::default(),
                });
            }
        }
        let late: Vec<DeliveryId> = self
            .entries
            .iter()
            .filter(|(_, entry)| {
                entry
                    .timer
                    .is_some_and(|key| self.timers.deadline(&key) > deadline)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in late {
            self.abandon(id);
        }
    }

    /// The grace period is over: abort what runs, abandon what waits.
    fn abandon_all(&mut self) {
        self.attempts.abort_all();
        self.tasks.clear();
        let mut ids: Vec<DeliveryId> = self.entries.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.abandon(id);
        }
        self.timers.clear();
        self.slots.clear();
    }
}

/// The parts of a report known when an attempt ends.
struct PartialReport {
    id: DeliveryId,
    url: Arc<str>,
    attempt: u32,
    max_attempts: u32,
    status: Option<u16>,
    error: Option<String>,
    result: Option<runhook::AttemptResult>,
    latency: Duration,
    body_excerpt: String,
    body_truncated: bool,
}

impl PartialReport {
    fn with_result(mut self, result: runhook::AttemptResult) -> Self {
        self.result = Some(result);
        self
    }
}

fn done_report(entry: &Entry, attempt: u32, done: &AttemptDone) -> PartialReport {
    PartialReport {
        id: done.id,
        url: Arc::from(entry.url.as_str()),
        attempt,
        max_attempts: entry.delivery.policy().max_attempts(),
        status: done.status,
        error: done.error.clone(),
        result: None,
        latency: done.latency,
        body_excerpt: done.body_excerpt.clone(),
        body_truncated: done.body_truncated,
    }
}

/// One tracing event per finished attempt.
fn log(report: &AttemptReport) {
    let id = report.delivery_id;
    let latency_ms = u64::try_from(report.latency.as_millis()).unwrap_or(u64::MAX);
    let retry_in_ms = report
        .retry_in
        .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
    match (&report.outcome, retry_in_ms) {
        (Some(outcome), _) if outcome.is_delivered() => tracing::info!(
            delivery_id = %id, url = %report.url, attempt = report.attempt,
            max_attempts = report.max_attempts, status = report.status,
            error = report.error.as_deref(), latency_ms, "webhook delivered"
        ),
        (Some(outcome), _) => tracing::warn!(
            delivery_id = %id, url = %report.url, attempt = report.attempt,
            max_attempts = report.max_attempts, status = report.status,
            error = report.error.as_deref(), latency_ms, outcome = ?outcome,
            "webhook delivery failed"
        ),
        (None, retry_in_ms) => tracing::info!(
            delivery_id = %id, url = %report.url, attempt = report.attempt,
            max_attempts = report.max_attempts, status = report.status,
            error = report.error.as_deref(), latency_ms, retry_in_ms,
            "webhook attempt failed; will retry"
        ),
    }
}

//! The driver task: owns every [`Delivery`](runhook::delivery::Delivery), the one timer queue of pending
//! retries, the concurrency slots and the attempts in flight; starts attempts and feeds their
//! results back to the core.
//!
//! It follows the core's drain contract: a delivery is polled when it is submitted (once it holds
//! a slot), after every result, and when its timer fires. It never polls a delivery whose attempt
//! is in flight: the attempt task enforces the deadline itself and reports a timeout.
//!
//! Every attempt reports back the same way, as the [`AttemptDone`] its task returns: the attempt
//! turns its own panic into a failed attempt ([`crate::attempt::perform`]), so the driver needs no
//! second way to notice a task that died. The [`JoinSet`] is only where results arrive and what
//! aborts the attempts still running when a shutdown's grace period ends.
//!
//! This file holds the loop, the commands and shutdown; `driver/delivery.rs` holds what happens
//! to one delivery (slots, attempts, timers, reports, its end).

mod delivery;

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::Duration;

use bytes::Bytes;
use runhook::RetryPolicy;
use runhook::delivery::Delivery;
use tokio::sync::{OwnedSemaphorePermit, broadcast, mpsc, oneshot};
use tokio::task::{JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::time::DelayQueue;
use tokio_util::time::delay_queue::Expired;

use crate::attempt::AttemptDone;
use crate::builder::Settings;
use crate::report::{AttemptReport, DeliveryId, DispatchOutcome, ShutdownReport};
use crate::sender::{Sender, Target};
use crate::slots::Slots;

use self::delivery::Entry;

/// A message from a [`Dispatcher`](crate::Dispatcher) to its driver.
pub(crate) enum Command {
    /// A new delivery.
    Submit(Box<Job>),
    /// Stop taking work; finish what fits in `grace`, then answer on `reply`.
    Shutdown {
        grace: Duration,
        reply: oneshot::Sender<ShutdownReport>,
    },
}

/// A submitted delivery, checked and ready to run.
pub(crate) struct Job {
    pub(crate) id: DeliveryId,
    pub(crate) target: Target,
    pub(crate) event: Bytes,
    pub(crate) policy: RetryPolicy,
    pub(crate) done: oneshot::Sender<DispatchOutcome>,
    /// The delivery's place under `max_pending`, given back when the job or its entry is
    /// dropped.
    pub(crate) permit: OwnedSemaphorePermit,
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
    Attempt(Option<Result<AttemptDone, JoinError>>),
    Timer(Option<Expired<DeliveryId>>),
    GraceOver,
}

/// The driver's state; see the module documentation.
pub(crate) struct Driver {
    settings: Settings,
    sender: Sender,
    commands: mpsc::UnboundedReceiver<Command>,
    commands_open: bool,
    reports: broadcast::Sender<AttemptReport>,
    entries: HashMap<DeliveryId, Entry>,
    timers: DelayQueue<DeliveryId>,
    slots: Slots,
    /// The attempts in flight. Each result names its delivery and attempt.
    attempts: JoinSet<AttemptDone>,
    closing: Option<Closing>,
    /// Seeds each delivery's jitter.
    seeds: RandomState,
}

impl Driver {
    /// A driver that takes `commands` and publishes on `reports`; [`run`](Self::run) it.
    pub(crate) fn new(
        settings: Settings,
        sender: Sender,
        commands: mpsc::UnboundedReceiver<Command>,
        reports: broadcast::Sender<AttemptReport>,
    ) -> Self {
        let slots = Slots::new(settings.max_in_flight, settings.max_per_host);
        Driver {
            settings,
            sender,
            commands,
            commands_open: true,
            reports,
            entries: HashMap::new(),
            timers: DelayQueue::new(),
            slots,
            attempts: JoinSet::new(),
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
                done = self.attempts.join_next(), if !self.attempts.is_empty() => {
                    Wake::Attempt(done)
                }
                expired = std::future::poll_fn(|cx| self.timers.poll_expired(cx)),
                    if !self.timers.is_empty() => Wake::Timer(expired),
                command = self.commands.recv(), if self.commands_open => Wake::Command(command),
                () = tokio::time::sleep_until(grace_deadline.unwrap_or_else(Instant::now)),
                    if grace_deadline.is_some() => Wake::GraceOver,
            };
            match wake {
                Wake::Command(Some(Command::Submit(job))) => self.submit(*job),
                Wake::Command(Some(Command::Shutdown { grace, reply })) => {
                    self.shutdown(grace, reply)
                }
                Wake::Command(None) => self.commands_open = false,
                Wake::Attempt(Some(Ok(done))) => self.attempt_done(done),
                // Attempts catch their own panics, so a task only fails when `abandon_all`
                // aborted it, and that already abandoned its delivery.
                Wake::Attempt(Some(Err(_))) | Wake::Attempt(None) | Wake::Timer(None) => {}
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

    /// Takes a new delivery: queued for a slot, or abandoned at once during shutdown.
    fn submit(&mut self, job: Job) {
        if let Some(closing) = &mut self.closing {
            closing.report.abandoned.push(job.id);
            let _ = job.done.send(DispatchOutcome::Abandoned { attempts: 0 });
            return;
        }
        let now = Instant::now().into_std();
        let seed = self.seeds.hash_one(job.id.0);
        let delivery = Delivery::with_seed(job.policy, seed, now);
        self.slots.enqueue(job.target.authority(), job.id);
        self.entries.insert(
            job.id,
            Entry {
                delivery,
                host: std::sync::Arc::clone(job.target.authority()),
                target: job.target,
                event: job.event,
                done: job.done,
                timer: None,
                _permit: job.permit,
            },
        );
    }

    /// Starts (or joins) a shutdown: the earliest deadline asked for wins, and every delivery
    /// whose next attempt would start after it is abandoned at once.
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
        let mut ids: Vec<DeliveryId> = self.entries.keys().copied().collect();
        ids.sort_unstable();
        for id in ids {
            self.abandon(id);
        }
        self.timers.clear();
        self.slots.clear();
    }
}

//! The public handle: submit deliveries, subscribe to attempt reports, shut down.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use runhook::RetryPolicy;
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};

use crate::builder::Settings;
use crate::driver::{Command, Driver, Job};
use crate::error::SubmitError;
use crate::report::{AttemptReport, DeliveryId, DispatchOutcome, ShutdownReport};
use crate::sender::Sender;

/// State shared by every clone of a [`Dispatcher`].
#[derive(Debug)]
struct Shared {
    /// Unbounded, but never longer than `pending` allows: each submission holds a permit.
    commands: mpsc::UnboundedSender<Command>,
    reports: broadcast::Sender<AttemptReport>,
    sender: Sender,
    /// One permit per delivery held ([`DispatcherBuilder::max_pending`](crate::DispatcherBuilder::max_pending)),
    /// given back when the delivery ends.
    pending: Arc<Semaphore>,
    max_pending: usize,
    next_id: AtomicU64,
    closing: AtomicBool,
}

/// Drives many deliveries at once: one driver task owns every [`runhook::delivery::Delivery`], one timer
/// queue holds every pending retry, and attempts run as tasks within the concurrency limits.
///
/// Cheap to clone; every clone submits to the same driver. When the last clone is dropped
/// without [`shutdown`](Self::shutdown), the driver finishes the deliveries it holds and stops.
/// Build one with [`DispatcherBuilder`](crate::DispatcherBuilder).
#[derive(Debug, Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

/// A submitted delivery. Await [`outcome`](Self::outcome) for how it ended; dropping the handle
/// does not cancel the delivery.
#[derive(Debug)]
pub struct DeliveryHandle {
    id: DeliveryId,
    done: oneshot::Receiver<DispatchOutcome>,
}

impl DeliveryHandle {
    /// The delivery's id, as it appears in [`AttemptReport::delivery_id`].
    pub fn id(&self) -> DeliveryId {
        self.id
    }

    /// Waits until the delivery ends. If the driver stopped without an answer (its runtime shut
    /// down), the outcome is [`DispatchOutcome::Abandoned`] with 0 attempts.
    pub async fn outcome(self) -> DispatchOutcome {
        self.done
            .await
            .unwrap_or(DispatchOutcome::Abandoned { attempts: 0 })
    }
}

impl Dispatcher {
    pub(crate) fn start(
        runtime: &tokio::runtime::Handle,
        settings: Settings,
        sender: Sender,
        report_capacity: usize,
    ) -> Self {
        let (commands, receiver) = mpsc::unbounded_channel();
        let (reports, _) = broadcast::channel(report_capacity);
        let max_pending = settings.max_pending.min(Semaphore::MAX_PERMITS);
        let driver = Driver::new(settings, sender.clone(), receiver, reports.clone());
        runtime.spawn(driver.run());
        Dispatcher {
            shared: Arc::new(Shared {
                commands,
                reports,
                sender,
                pending: Arc::new(Semaphore::new(max_pending)),
                max_pending,
                next_id: AtomicU64::new(1),
                closing: AtomicBool::new(false),
            }),
        }
    }

    /// Queues `event` (the JSON body, sent as is) for delivery to `url` under `policy`.
    ///
    /// The URL is checked at once with [`Sender::target`]: HTTPS only (plain HTTP only for a
    /// loopback host when loopback is opted in), no user-info, and an IP-literal host must be an
    /// allowed address. Host names are checked after DNS resolution, on every attempt; a name
    /// that resolves only to forbidden addresses ends the delivery as
    /// [`DispatchOutcome::Refused`].
    ///
    /// Fails with [`SubmitError::Full`] while the dispatcher holds
    /// [`max_pending`](crate::DispatcherBuilder::max_pending) deliveries: nothing is queued
    /// beyond that bound.
    pub fn submit(
        &self,
        url: &str,
        event: Bytes,
        policy: RetryPolicy,
    ) -> Result<DeliveryHandle, SubmitError> {
        if self.shared.closing.load(Ordering::Acquire) {
            return Err(SubmitError::ShuttingDown);
        }
        let target = self.shared.sender.target(url)?;
        let permit = Arc::clone(&self.shared.pending)
            .try_acquire_owned()
            .map_err(|_| SubmitError::Full {
                limit: self.shared.max_pending,
            })?;
        let id = DeliveryId(self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        let (done, receiver) = oneshot::channel();
        let job = Box::new(Job {
            id,
            target,
            event,
            policy,
            done,
            permit,
        });
        self.shared
            .commands
            .send(Command::Submit(job))
            .map_err(|_| SubmitError::ShuttingDown)?;
        Ok(DeliveryHandle { id, done: receiver })
    }

    /// A receiver of every [`AttemptReport`] from now on. Reports are not stored when nobody
    /// subscribes; a subscriber that falls more than the report capacity behind misses the
    /// oldest ones (and is told so by `RecvError::Lagged`).
    pub fn subscribe(&self) -> broadcast::Receiver<AttemptReport> {
        self.shared.reports.subscribe()
    }

    /// How many deliveries the dispatcher holds now (submitted and not yet ended).
    pub fn pending(&self) -> usize {
        self.shared
            .max_pending
            .saturating_sub(self.shared.pending.available_permits())
    }

    /// The sender the attempts go through (its address rules, body limit and clients).
    pub fn sender(&self) -> &Sender {
        &self.shared.sender
    }

    /// Stops taking work and lets what is held finish for at most `grace`.
    ///
    /// From the call on, [`submit`](Self::submit) fails with [`SubmitError::ShuttingDown`].
    /// Attempts in flight complete, and retries that fall due within `grace` still run; a
    /// delivery whose next attempt would start after the grace period is abandoned at once.
    /// When `grace` runs out, attempts still in flight are aborted. Every delivery that did not
    /// finish resolves to [`DispatchOutcome::Abandoned`] and is listed in the report. Returns
    /// when the driver has stopped.
    pub async fn shutdown(&self, grace: Duration) -> ShutdownReport {
        self.shared.closing.store(true, Ordering::Release);
        let (reply, answer) = oneshot::channel();
        if self
            .shared
            .commands
            .send(Command::Shutdown { grace, reply })
            .is_err()
        {
            return ShutdownReport::default();
        }
        answer.await.unwrap_or_default()
    }
}

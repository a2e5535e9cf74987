//! The emulator's shared state: the runs (with their SSE frames and change signals), the
//! delivery log, the store, the webhook sender and the settings.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use runhook::RetryPolicy;
use runhook_dispatch::Sender;
use serde_json::Value;
use tokio::sync::watch;

use crate::activity::{Activity, DeliveryRecord};
use crate::clock::Speed;
use crate::config::Observer;
use crate::model::{Origin, Run, RunStatus, frames};
use crate::request::{Loopback, RunRequest};
use crate::scenario::{FaultPlan, Scenario};
use crate::store::SqliteStore;
use crate::timefmt;

/// A run and what follows it live.
struct Entry {
    run: Run,
    /// The SSE frames so far (empty for runs read back from the store).
    frames: Vec<Value>,
    /// Bumped on every change.
    changed: watch::Sender<u64>,
    /// Set when a cancel request stopped the run.
    cancel: watch::Sender<bool>,
}

impl Entry {
    fn new(run: Run) -> Self {
        Entry {
            run,
            frames: Vec::new(),
            changed: watch::Sender::new(0),
            cancel: watch::Sender::new(false),
        }
    }

    fn bump(&self) {
        self.changed.send_modify(|version| *version += 1);
    }
}

#[derive(Default)]
struct Runs {
    entries: HashMap<String, Entry>,
    /// Run ids in creation order.
    order: Vec<String>,
    next_seq: u64,
}

/// What a cancel request did.
pub(crate) enum Cancel {
    NotFound,
    Cancelled(Run),
    AlreadyCancelled(Run),
    AlreadyFinished(Run),
    /// A run of `/run` still going: such runs cannot be cancelled.
    NotCancellable,
}

/// Settings and state shared by the handlers, the run tasks and the webhook tasks.
pub(crate) struct Shared {
    pub(crate) settings: Settings,
    /// Set when the emulator stops: run and webhook tasks end.
    pub(crate) stopping: watch::Sender<bool>,
    /// How many webhook POSTs are in flight (a shutdown waits for them, briefly).
    pub(crate) posting: watch::Sender<usize>,
    runs: Mutex<Runs>,
    deliveries: Mutex<Vec<DeliveryRecord>>,
    store: Mutex<Option<SqliteStore>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What [`Shared`] is set up with and never changes.
pub(crate) struct Settings {
    pub(crate) api_keys: Vec<String>,
    pub(crate) loopback: Loopback,
    pub(crate) speed: Speed,
    pub(crate) scenario: Scenario,
    pub(crate) policy: RetryPolicy,
    pub(crate) observer: Option<Observer>,
    /// `http://ADDR`.
    pub(crate) base_url: String,
    /// Sends each webhook attempt.
    pub(crate) sender: Sender,
}

impl Shared {
    pub(crate) fn new(settings: Settings, store: Option<SqliteStore>, loaded: Vec<Run>) -> Self {
        let mut runs = Runs::default();
        for run in loaded {
            runs.next_seq = runs.next_seq.max(run.seq + 1);
            runs.order.push(run.run_id.clone());
            runs.entries.insert(run.run_id.clone(), Entry::new(run));
        }
        Shared {
            settings,
            stopping: watch::Sender::new(false),
            posting: watch::Sender::new(0),
            runs: Mutex::new(runs),
            deliveries: Mutex::new(Vec::new()),
            store: Mutex::new(store),
        }
    }

    fn persist(&self, run: &Run) {
        if let Some(store) = lock(&self.store).as_ref() {
            store.save(run);
        }
    }

    /// Writes what the store has queued and closes it.
    pub(crate) fn close_store(&self) {
        if let Some(mut store) = lock(&self.store).take() {
            store.close();
        }
    }

    /// Creates a PENDING run for `request`.
    pub(crate) fn create(&self, request: &RunRequest, origin: Origin, faults: FaultPlan) -> Run {
        let mut runs = lock(&self.runs);
        let seq = runs.next_seq;
        runs.next_seq += 1;
        let run = Run {
            run_id: uuid::Uuid::new_v4().to_string(),
            seq,
            status: RunStatus::Pending,
            goal: request.goal.clone(),
            url: request.url.clone(),
            origin,
            created_at: timefmt::now(),
            started_at: None,
            finished_at: None,
            cancelled_at: None,
            result: None,
            error: None,
            streaming_url: None,
            proxy_enabled: request.proxy_enabled,
            proxy_country_code: request.proxy_country_code.clone(),
            output_schema: request.output_schema.clone(),
            webhook_url: request.webhook_url.clone(),
            steps: Vec::new(),
            faults,
        };
        self.persist(&run);
        runs.order.push(run.run_id.clone());
        runs.entries
            .insert(run.run_id.clone(), Entry::new(run.clone()));
        run
    }

    /// A copy of run `id`.
    pub(crate) fn get(&self, id: &str) -> Option<Run> {
        lock(&self.runs)
            .entries
            .get(id)
            .map(|entry| entry.run.clone())
    }

    /// Copies of every run, in creation order.
    pub(crate) fn all(&self) -> Vec<Run> {
        let runs = lock(&self.runs);
        runs.order
            .iter()
            .filter_map(|id| runs.entries.get(id))
            .map(|entry| entry.run.clone())
            .collect()
    }

    /// Changes run `id` with `change` (which may also add SSE frames), unless it has finished.
    /// Returns the run as changed, or `None` if it is unknown or had finished.
    pub(crate) fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Run, &mut Vec<Value>),
    ) -> Option<Run> {
        let mut runs = lock(&self.runs);
        let entry = runs.entries.get_mut(id)?;
        if entry.run.status.is_terminal() {
            return None;
        }
        change(&mut entry.run, &mut entry.frames);
        if entry.run.status.is_terminal() {
            entry.frames.push(frames::complete(&entry.run));
        }
        let run = entry.run.clone();
        self.persist(&run);
        entry.bump();
        Some(run)
    }

    /// Handles a cancel request for run `id`.
    pub(crate) fn cancel(&self, id: &str) -> Cancel {
        let mut runs = lock(&self.runs);
        let Some(entry) = runs.entries.get_mut(id) else {
            return Cancel::NotFound;
        };
        match entry.run.status {
            RunStatus::Cancelled => return Cancel::AlreadyCancelled(entry.run.clone()),
            RunStatus::Completed | RunStatus::Failed => {
                return Cancel::AlreadyFinished(entry.run.clone());
            }
            RunStatus::Pending | RunStatus::Running if !entry.run.cancellable() => {
                return Cancel::NotCancellable;
            }
            RunStatus::Pending | RunStatus::Running => {}
        }
        let now = timefmt::now();
        let run = &mut entry.run;
        run.status = RunStatus::Cancelled;
        run.cancelled_at = Some(now);
        run.finished_at = Some(now);
        run.result = None;
        run.error = None;
        entry.frames.push(frames::complete(&entry.run));
        let run = entry.run.clone();
        self.persist(&run);
        entry.cancel.send_replace(true);
        entry.bump();
        Cancel::Cancelled(run)
    }

    /// The frames of run `id` from index `from` on.
    pub(crate) fn frames(&self, id: &str, from: usize) -> Vec<Value> {
        lock(&self.runs)
            .entries
            .get(id)
            .map(|entry| entry.frames.iter().skip(from).cloned().collect())
            .unwrap_or_default()
    }

    /// A receiver that sees every change of run `id`.
    pub(crate) fn watch(&self, id: &str) -> Option<watch::Receiver<u64>> {
        lock(&self.runs)
            .entries
            .get(id)
            .map(|entry| entry.changed.subscribe())
    }

    /// A receiver that turns `true` when run `id` is cancelled.
    pub(crate) fn cancelled(&self, id: &str) -> Option<watch::Receiver<bool>> {
        lock(&self.runs)
            .entries
            .get(id)
            .map(|entry| entry.cancel.subscribe())
    }

    /// Records a webhook attempt and tells the observer.
    pub(crate) fn record_delivery(&self, record: DeliveryRecord) {
        self.observe(&Activity::Delivery(record.clone()));
        lock(&self.deliveries).push(record);
    }

    /// Every webhook attempt so far, in order.
    pub(crate) fn deliveries(&self) -> Vec<DeliveryRecord> {
        lock(&self.deliveries).clone()
    }

    /// Tells the observer, if any.
    pub(crate) fn observe(&self, activity: &Activity) {
        if let Some(observer) = &self.settings.observer {
            observer(activity);
        }
    }

    /// A receiver that turns `true` when the emulator stops.
    pub(crate) fn stop_signal(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }
}

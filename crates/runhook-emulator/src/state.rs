//! The emulator's shared state: the runs (with their SSE frames and change signals), the
//! delivery log, the store, the webhook sender and the settings.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use runhook::RetryPolicy;
use runhook_dispatch::Sender;
use serde_json::Value;
use tokio::sync::watch;

use crate::activity::{Activity, DeliveryRecord};
use crate::clock::Speed;
use crate::config::Observer;
use runhook::{Nullable, RunId, RunStatus};

use crate::model::{NewRun, Origin, StoredRun, frames};
use crate::request::{Loopback, RunRequest};
use crate::runs::{ListQuery, Page, Runs};
use crate::scenario::{FaultPlan, Scenario};
use crate::store::RunDb;
use crate::timefmt;

/// What a cancel request did.
pub(crate) enum Cancel {
    NotFound,
    Cancelled(StoredRun),
    AlreadyCancelled(StoredRun),
    AlreadyFinished(StoredRun),
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
    /// The newest webhook attempts, at most [`Settings::max_deliveries`].
    deliveries: Mutex<VecDeque<DeliveryRecord>>,
    store: Mutex<Option<RunDb>>,
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
    /// How many runs are kept at most.
    pub(crate) max_runs: usize,
    /// How many webhook attempts the delivery log keeps at most.
    pub(crate) max_deliveries: usize,
    /// The reads answered 429 on purpose, if any.
    pub(crate) throttle: Option<crate::server::Throttle>,
}

/// How long a list waits for the SQLite store.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a run could not be created: `max_runs` runs are kept and none has finished.
#[derive(Debug)]
pub(crate) struct Full {
    pub(crate) max_runs: usize,
}

impl Shared {
    pub(crate) fn new(settings: Settings, store: Option<RunDb>, loaded: Vec<StoredRun>) -> Self {
        let mut runs = Runs::default();
        for run in loaded {
            runs.insert(run);
        }
        Shared {
            settings,
            stopping: watch::Sender::new(false),
            posting: watch::Sender::new(0),
            runs: Mutex::new(runs),
            deliveries: Mutex::new(VecDeque::new()),
            store: Mutex::new(store),
        }
    }

    fn persist(&self, run: &StoredRun) {
        if let Some(store) = lock(&self.store).as_ref() {
            store.save(run);
        }
    }

    /// The store, taken out to be closed (off the async runtime) when the emulator stops.
    pub(crate) fn take_store(&self) -> Option<RunDb> {
        lock(&self.store).take()
    }

    /// Creates a PENDING run for each of `requests`, all or none: evicts the oldest finished
    /// runs to stay within `max_runs`, and refuses when too few have finished.
    pub(crate) fn create(
        &self,
        requests: &[(&RunRequest, FaultPlan)],
        origin: Origin,
    ) -> Result<Vec<StoredRun>, Full> {
        let max_runs = self.settings.max_runs;
        let mut runs = lock(&self.runs);
        let room = max_runs.saturating_sub(runs.len()) + runs.finished();
        if requests.len() > room {
            return Err(Full { max_runs });
        }
        let mut created = Vec::with_capacity(requests.len());
        for (request, faults) in requests {
            while runs.len() >= max_runs {
                let Some(evicted) = runs.evict_oldest_finished() else {
                    break;
                };
                if let Some(store) = lock(&self.store).as_ref() {
                    store.delete(evicted);
                }
            }
            let seq = runs.next_seq();
            let created_at = runs.created_at(timefmt::stamp(timefmt::now()));
            let Ok(run_id) = RunId::new(uuid::Uuid::new_v4().to_string()) else {
                break;
            };
            let run = StoredRun {
                run: NewRun {
                    run_id,
                    goal: request.goal.clone(),
                    created_at,
                    proxy_enabled: request.proxy_enabled,
                    proxy_country_code: request.proxy_country_code.clone(),
                    output_schema: request.output_schema.clone(),
                }
                .run_object(),
                seq,
                url: request.url.clone(),
                origin,
                webhook_url: request.webhook_url.clone(),
                cancelled_at: None,
                faults: *faults,
            };
            self.persist(&run);
            runs.insert(run.clone());
            created.push(run);
        }
        Ok(created)
    }

    /// A copy of run `id`.
    pub(crate) fn get(&self, id: &str) -> Option<StoredRun> {
        lock(&self.runs).get(id).map(|entry| entry.run.clone())
    }

    /// Copies of every run kept, in creation order.
    pub(crate) fn all(&self) -> Vec<StoredRun> {
        lock(&self.runs).all()
    }

    /// The page of runs `query` asks for: from the SQL indexes with a SQLite store, else from
    /// the indexes in memory.
    pub(crate) async fn page(&self, query: ListQuery, limit: usize) -> Result<Page, String> {
        // The store's lock is let go before the runs' is taken (the order elsewhere is runs,
        // then store).
        let asked = lock(&self.store)
            .as_ref()
            .map(|store| store.list(query.clone(), limit));
        let Some(answer) = asked else {
            return Ok(lock(&self.runs).page(&query, limit));
        };
        match tokio::time::timeout(LIST_TIMEOUT, answer).await {
            Ok(Ok(page)) => page,
            Ok(Err(_)) => Err("the store is closed".into()),
            Err(_) => Err("the store did not answer in time".into()),
        }
    }

    /// Changes run `id` with `change` (which may also add SSE frames), unless it has finished.
    /// Returns the run as changed, or `None` if it is unknown or had finished.
    pub(crate) fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut StoredRun, &mut Vec<Value>),
    ) -> Option<StoredRun> {
        let mut runs = lock(&self.runs);
        let entry = runs.get_mut(id)?;
        let before = entry.run.status().clone();
        if before.is_terminal() {
            return None;
        }
        change(&mut entry.run, &mut entry.frames);
        if entry.run.status().is_terminal() {
            entry.frames.push(frames::complete(&entry.run));
        }
        let run = entry.run.clone();
        self.persist(&run);
        entry.bump();
        runs.restatus(run.seq, &before, run.status());
        Some(run)
    }

    /// Handles a cancel request for run `id`.
    pub(crate) fn cancel(&self, id: &str) -> Cancel {
        let mut runs = lock(&self.runs);
        let Some(entry) = runs.get_mut(id) else {
            return Cancel::NotFound;
        };
        let before = entry.run.status().clone();
        if before == RunStatus::Cancelled {
            return Cancel::AlreadyCancelled(entry.run.clone());
        }
        if before.is_terminal() {
            return Cancel::AlreadyFinished(entry.run.clone());
        }
        if !entry.run.cancellable() {
            return Cancel::NotCancellable;
        }
        let now = timefmt::stamp(timefmt::now());
        let run = &mut entry.run;
        run.set_status(RunStatus::Cancelled);
        run.cancelled_at = Some(now.clone());
        run.run.finished_at = Nullable::Value(now);
        run.run.result = Nullable::Null;
        run.run.error = Nullable::Null;
        entry.frames.push(frames::complete(&entry.run));
        let run = entry.run.clone();
        self.persist(&run);
        entry.cancel.send_replace(true);
        entry.bump();
        runs.restatus(run.seq, &before, run.status());
        Cancel::Cancelled(run)
    }

    /// The frames of run `id` from index `from` on.
    pub(crate) fn frames(&self, id: &str, from: usize) -> Vec<Value> {
        lock(&self.runs)
            .get(id)
            .map(|entry| entry.frames.iter().skip(from).cloned().collect())
            .unwrap_or_default()
    }

    /// A receiver that sees every change of run `id`.
    pub(crate) fn watch(&self, id: &str) -> Option<watch::Receiver<u64>> {
        lock(&self.runs)
            .get(id)
            .map(|entry| entry.changed.subscribe())
    }

    /// A receiver that turns `true` when run `id` is cancelled.
    pub(crate) fn cancelled(&self, id: &str) -> Option<watch::Receiver<bool>> {
        lock(&self.runs)
            .get(id)
            .map(|entry| entry.cancel.subscribe())
    }

    /// Records a webhook attempt and tells the observer.
    pub(crate) fn record_delivery(&self, record: DeliveryRecord) {
        self.observe(&Activity::Delivery(record.clone()));
        let mut deliveries = lock(&self.deliveries);
        if deliveries.len() >= self.settings.max_deliveries.max(1) {
            deliveries.pop_front();
        }
        deliveries.push_back(record);
    }

    /// The webhook attempts kept, oldest first.
    pub(crate) fn deliveries(&self) -> Vec<DeliveryRecord> {
        lock(&self.deliveries).iter().cloned().collect()
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

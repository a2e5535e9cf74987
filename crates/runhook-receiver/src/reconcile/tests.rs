//! The sweep against an in-memory runs API (a list of runs, as `GET /v1/runs` and
//! `POST /v1/runs/batch` would answer), on tokio's paused clock. The same sweep against the
//! emulator over HTTP is tested in `runhook-tinyfish` and through `runhook`'s binary.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, header::CONTENT_TYPE};
use runhook::reconcile::{MemoryReconcileState, ReconcileState};
use runhook::{HandlerOutcome, Run, RunId, RunStatus, Source, Timestamp};
use tokio::time::Instant;

use super::*;
use crate::maintenance::Leadership;
use crate::{Clock, Handlers, Receiver};

/// Runs as the API holds them, and the requests made.
#[derive(Default)]
struct Api {
    runs: Mutex<Vec<Run>>,
    calls: AtomicU64,
    /// Errors to answer before answering normally.
    errors: Mutex<Vec<SourceError>>,
}

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000 + secs)
}

fn run(id: &str, status: RunStatus, created: u64) -> Run {
    let created = time::OffsetDateTime::from(t(created));
    let mut run = Run::default();
    run.run_id = Some(RunId::new(id).unwrap());
    run.status = Some(status);
    run.goal = Some("find the title".into());
    run.created_at = Some(Timestamp::try_from(created).unwrap());
    run
}

impl Api {
    fn add(&self, run: Run) {
        self.runs.lock().unwrap().push(run);
    }

    fn set_status(&self, id: &str, status: RunStatus) {
        for run in self.runs.lock().unwrap().iter_mut() {
            if run.run_id.as_ref().is_some_and(|run_id| run_id == id) {
                run.status = Some(status.clone());
            }
        }
    }

    fn failure(&self) -> Option<SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.errors.lock().unwrap().pop()
    }
}

#[async_trait]
impl RunSource for Api {
    async fn list_created_after(
        &self,
        after: SystemTime,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RunsPage, SourceError> {
        if let Some(error) = self.failure() {
            return Err(error);
        }
        let mut runs: Vec<Run> = self
            .runs
            .lock()
            .unwrap()
            .iter()
            .filter(|run| {
                let created = run.created_at.as_ref().unwrap().as_offset_date_time();
                SystemTime::from(created) > after
            })
            .cloned()
            .collect();
        runs.sort_by_key(|run| run.created_at.as_ref().unwrap().as_offset_date_time());
        let start: usize = cursor.map_or(0, |cursor| cursor.parse().unwrap());
        let end = (start + limit as usize).min(runs.len());
        let next = (end < runs.len()).then(|| end.to_string());
        Ok(RunsPage::new(runs[start..end].to_vec(), next))
    }

    async fn get_runs(&self, run_ids: &[RunId]) -> Result<Vec<Run>, SourceError> {
        if let Some(error) = self.failure() {
            return Err(error);
        }
        assert!(run_ids.len() <= 100);
        Ok(self
            .runs
            .lock()
            .unwrap()
            .iter()
            .filter(|run| run_ids.contains(run.run_id.as_ref().unwrap()))
            .cloned()
            .collect())
    }
}

/// A wall clock that stands still unless moved.
#[derive(Debug, Clone)]
struct Wall(Arc<Mutex<SystemTime>>);

impl Clock for Wall {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

/// What the handler saw: (run id, source), in order.
type Seen = Arc<Mutex<Vec<(String, Source)>>>;

struct Setup {
    api: Arc<Api>,
    state: Arc<MemoryReconcileState>,
    seen: Seen,
    receiver: Receiver,
    wall: Wall,
}

fn setup(outcome: fn(&str) -> HandlerOutcome) -> Setup {
    let seen: Seen = Arc::default();
    let recorded = Arc::clone(&seen);
    let handlers = Handlers::new()
        .on_completed(move |run| {
            let recorded = Arc::clone(&recorded);
            async move {
                let answer = outcome(run.run_id.as_str());
                if answer == HandlerOutcome::Ok {
                    recorded
                        .lock()
                        .unwrap()
                        .push((run.run_id.to_string(), run.context().source()));
                }
                answer
            }
        })
        .on_failed(|_run| async { HandlerOutcome::Ok });
    let wall = Wall(Arc::new(Mutex::new(t(10_000))));
    let receiver = Receiver::builder(handlers)
        .clock(wall.clone())
        .build()
        .unwrap();
    Setup {
        api: Arc::default(),
        state: Arc::default(),
        seen,
        receiver,
        wall,
    }
}

impl Setup {
    fn reconciler(&self) -> Reconciler {
        Reconciler::new(
            Arc::clone(&self.api) as Arc<dyn RunSource>,
            Arc::clone(&self.state) as Arc<dyn ReconcileState>,
            self.receiver.clone(),
        )
        .clock(Arc::new(self.wall.clone()))
        .lookback(Duration::from_secs(3600))
        .overlap(Duration::from_secs(60))
    }

    fn handled(&self) -> Vec<(String, Source)> {
        self.seen.lock().unwrap().clone()
    }

    /// Posts the run's webhook, as TinyFish would.
    async fn webhook(&self, run: &Run) -> u16 {
        let event = runhook::Event::from_run(run.clone()).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let uri = "/webhooks/tinyfish".parse().unwrap();
        let body = Bytes::from(event.to_vec().unwrap());
        self.receiver
            .receive(&Method::POST, &uri, &headers, body)
            .await
            .status
    }
}

fn ok(_: &str) -> HandlerOutcome {
    HandlerOutcome::Ok
}

#[tokio::test(start_paused = true)]
async fn ended_runs_not_seen_are_recovered_once_and_marked_as_recovered() {
    let setup = setup(ok);
    // Created within the lookback (the wall clock is at 10 000 s, the lookback 3 600 s).
    setup.api.add(run("r1", RunStatus::Completed, 7_000));
    setup.api.add(run("r2", RunStatus::Failed, 7_100));
    setup.api.add(run("r3", RunStatus::Completed, 7_200));
    // Before the lookback: not listed by the first sweep.
    setup.api.add(run("old", RunStatus::Completed, 100));
    // r3's webhook arrived.
    let r3 = run("r3", RunStatus::Completed, 7_200);
    assert_eq!(setup.webhook(&r3).await, 200);

    let reconciler = setup.reconciler();
    let report = reconciler.sweep().await.unwrap();
    assert_eq!(report.listed, 3);
    assert_eq!(report.seen, 1);
    let mut recovered = report.recovered.clone();
    recovered.sort();
    assert_eq!(recovered, ["r1", "r2"]);
    assert_eq!(report.listed_after, Some(t(10_000 - 3_600)));
    // The watermark trails the newest run by the overlap.
    assert_eq!(report.watermark, Some(t(7_200 - 60)));
    assert_eq!(setup.state.watermark().await.unwrap(), Some(t(7_140)));
    assert!(
        setup
            .handled()
            .contains(&("r1".to_owned(), Source::Reconciler))
    );
    assert!(
        setup
            .handled()
            .contains(&("r3".to_owned(), Source::Webhook))
    );

    // Again: the overlap lists r3 again, seen; nothing is sent twice.
    let again = reconciler.sweep().await.unwrap();
    assert!(again.recovered.is_empty(), "{again:?}");
    assert_eq!(again.listed, 1);
    assert_eq!(again.seen, 1);
    // r1's webhook arrives late: a duplicate, not processed again.
    assert_eq!(
        setup.webhook(&run("r1", RunStatus::Completed, 7_000)).await,
        200
    );
    let handled = setup.handled();
    assert_eq!(handled.iter().filter(|(id, _)| id == "r1").count(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_run_in_progress_is_watched_until_it_ends() {
    let setup = setup(ok);
    setup.api.add(run("long", RunStatus::Running, 9_000));
    let reconciler = setup.reconciler();
    let first = reconciler.sweep().await.unwrap();
    assert_eq!(first.watched, 1);
    assert_eq!(first.watching, 1);
    assert!(first.recovered.is_empty());

    // Later runs move the watermark past it; it is found through the watch list.
    setup.api.add(run("later", RunStatus::Completed, 9_500));
    setup.api.set_status("long", RunStatus::Completed);
    *setup.wall.0.lock().unwrap() = t(10_500);
    let second = reconciler.sweep().await.unwrap();
    let mut recovered = second.recovered.clone();
    recovered.sort();
    assert_eq!(recovered, ["later", "long"]);
    assert_eq!(second.unwatched, 1);
    assert_eq!(second.watching, 0);
}

#[tokio::test(start_paused = true)]
async fn a_run_watched_for_longer_than_the_lookback_is_given_up() {
    let setup = setup(ok);
    setup.api.add(run("stuck", RunStatus::Running, 9_000));
    let reconciler = setup.reconciler();
    reconciler.sweep().await.unwrap();
    *setup.wall.0.lock().unwrap() = t(10_000 + 3_601);
    let report = reconciler.sweep().await.unwrap();
    assert_eq!(report.dropped, ["stuck"]);
    assert_eq!(report.watching, 0);
}

#[tokio::test(start_paused = true)]
async fn a_dry_run_lists_what_would_be_sent_and_changes_nothing() {
    let setup = setup(ok);
    setup.api.add(run("r1", RunStatus::Completed, 9_000));
    setup.api.add(run("r2", RunStatus::Pending, 9_001));
    let reconciler = setup.reconciler();
    let report = reconciler.dry_run().await.unwrap();
    assert!(report.dry_run);
    assert_eq!(report.recovered, ["r1"]);
    assert!(setup.handled().is_empty());
    assert_eq!(setup.state.watermark().await.unwrap(), None);
    assert_eq!(setup.state.watch_len().await.unwrap(), 0);
    // The real sweep then sends it.
    assert_eq!(reconciler.sweep().await.unwrap().recovered, ["r1"]);
}

#[tokio::test(start_paused = true)]
async fn a_run_the_handler_could_not_process_is_sent_again_at_the_next_sweep() {
    static FAILS: AtomicU64 = AtomicU64::new(1);
    let setup = setup(|_| {
        if FAILS.fetch_sub(1, Ordering::SeqCst) > 0 {
            HandlerOutcome::retry("database down")
        } else {
            HandlerOutcome::Ok
        }
    });
    setup.api.add(run("r1", RunStatus::Completed, 9_000));
    let reconciler = setup.reconciler();
    let first = reconciler.sweep().await.unwrap();
    assert_eq!(first.failed, ["r1"]);
    assert_eq!(first.watching, 1);
    let second = reconciler.sweep().await.unwrap();
    assert_eq!(second.recovered, ["r1"]);
    assert_eq!(second.watching, 0);
    assert_eq!(setup.handled(), [("r1".to_owned(), Source::Reconciler)]);
}

#[tokio::test(start_paused = true)]
async fn requests_are_paced_at_the_rate_and_a_retry_after_is_waited_out() {
    let setup = setup(ok);
    for i in 0..5 {
        setup
            .api
            .add(run(&format!("r{i}"), RunStatus::Completed, 9_000 + i));
    }
    let reconciler = setup.reconciler().page_size(1).rate(2.0);
    let started = Instant::now();
    let report = reconciler.sweep().await.unwrap();
    // 5 list pages and 5 batch reads, 0.5 s apart (the first at once).
    assert_eq!(report.api_calls, 10);
    assert!(
        started.elapsed() >= Duration::from_millis(4_500),
        "{:?}",
        started.elapsed()
    );

    // A 429 whose Retry-After the client's retries did not outlast: waited out once.
    setup.api.add(run("r9", RunStatus::Completed, 9_100));
    setup
        .api
        .errors
        .lock()
        .unwrap()
        .push(SourceError::new("429 RATE_LIMIT_EXCEEDED").with_retry_after(Duration::from_secs(7)));
    let started = Instant::now();
    let report = reconciler.sweep().await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(7));
    assert!(report.recovered.contains(&"r9".to_owned()), "{report:?}");

    // Twice in a row: the sweep fails, and the next one goes on.
    let error = SourceError::new("429").with_retry_after(Duration::from_secs(1));
    setup
        .api
        .errors
        .lock()
        .unwrap()
        .extend([error.clone(), error]);
    assert!(matches!(
        reconciler.sweep().await,
        Err(ReconcileError::Source(_))
    ));
    assert!(reconciler.sweep().await.is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_replica_without_the_lead_does_not_sweep() {
    struct Never;
    #[async_trait]
    impl Leadership for Never {
        async fn lead(&self) -> Result<bool, runhook::StoreError> {
            Ok(false)
        }
    }
    let setup = setup(ok);
    setup.api.add(run("r1", RunStatus::Completed, 9_000));
    let report = setup
        .reconciler()
        .leader(Arc::new(Never))
        .sweep()
        .await
        .unwrap();
    assert!(report.skipped);
    assert_eq!(setup.api.calls.load(Ordering::SeqCst), 0);
    assert!(setup.handled().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_full_watch_list_stops_the_listing_before_the_run_it_cannot_watch() {
    let setup = setup(ok);
    setup.api.add(run("a", RunStatus::Running, 9_000));
    setup.api.add(run("b", RunStatus::Running, 9_100));
    setup.api.add(run("c", RunStatus::Completed, 9_200));
    let reconciler = setup.reconciler().max_watched(1);
    let report = reconciler.sweep().await.unwrap();
    assert!(report.watch_full);
    assert_eq!(report.watching, 1);
    // The watermark stays before b, so b (and c) are listed again.
    assert!(report.watermark.unwrap() < t(9_100), "{report:?}");
}

//! Confirm by API with a stub confirmer: a run the API knows in the event's status is processed
//! with the API's run; another status or an unknown run is refused 401 without touching the
//! store or the inbox; an API that cannot answer gets 503; and the seam's conformance suite.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::inbox::{Inbox, MemoryInbox};
use runhook::store::{IdempotencyKey, KeyState};
use runhook::{Event, HandlerOutcome, ReceiveOutcome, Run, RunId, RunStatus};
use runhook_receiver::testing::{post_bytes, post_event, run_confirmer_suite};
use runhook_receiver::{ConfirmError, Receiver, ReceiverConfig, Report, RunConfirmer, handler_fn};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// What the stub API answers.
#[derive(Clone)]
enum Api {
    /// Knows these runs.
    Knows(HashMap<String, Run>),
    /// Fails every call.
    Down,
    /// Never answers.
    Hangs,
}

struct Stub {
    api: Api,
    calls: AtomicUsize,
}

impl Stub {
    fn knowing(runs: &[Run]) -> Arc<Self> {
        let runs = runs
            .iter()
            .map(|run| (run.run_id.clone().unwrap().to_string(), run.clone()))
            .collect();
        Arc::new(Stub {
            api: Api::Knows(runs),
            calls: AtomicUsize::new(0),
        })
    }

    fn with(api: Api) -> Arc<Self> {
        Arc::new(Stub {
            api,
            calls: AtomicUsize::new(0),
        })
    }
}

#[async_trait]
impl RunConfirmer for Stub {
    async fn fetch(&self, run_id: &RunId) -> Result<Option<Run>, ConfirmError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        match &self.api {
            Api::Knows(runs) => Ok(runs.get(run_id.as_str()).cloned()),
            Api::Down => Err(ConfirmError::Unreachable("connection refused".into())),
            Api::Hangs => std::future::pending().await,
        }
    }
}

fn id(text: &str) -> RunId {
    RunId::new(text).unwrap()
}

/// The API's copy of a run: its result says where it came from.
fn api_run(run_id: &str, status: RunStatus) -> Run {
    let mut run = Run::new(id(run_id), status);
    run.goal = Some("Extract the title".into());
    run.result = runhook::Nullable::Value(json!({"source": "api"}).as_object().unwrap().clone());
    run
}

/// A webhook body whose data says it came from the webhook.
fn webhook(run_id: &str, status: RunStatus) -> Event {
    let mut run = Run::new(id(run_id), status);
    run.result =
        runhook::Nullable::Value(json!({"source": "webhook"}).as_object().unwrap().clone());
    Event::from_run(run).unwrap()
}

/// A receiver confirming with `confirmer`, whose handler records the `result.source` it sees.
fn receiver(confirmer: Arc<dyn RunConfirmer>) -> (Receiver, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = Arc::clone(&seen);
    let receiver = Receiver::builder(handler_fn(move |event| {
        let source = event
            .run_event()
            .and_then(|run| run.data.result.value().cloned())
            .and_then(|result| {
                result
                    .get("source")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| format!("({})", event.name()));
        recorded.lock().unwrap().push(source);
        async { HandlerOutcome::Ok }
    }))
    .confirm_with(confirmer)
    .build()
    .unwrap();
    (receiver, seen)
}

async fn key_state(receiver: &Receiver, key: &str) -> KeyState {
    receiver
        .store()
        .state(&IdempotencyKey::new(key), SystemTime::now())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_confirmed_event_reaches_the_handler_with_the_api_run() {
    let stub = Stub::knowing(&[api_run("r1", RunStatus::Completed)]);
    let (receiver, seen) = receiver(stub.clone());
    let answer = post_event(&receiver, &webhook("r1", RunStatus::Completed)).await;
    assert_eq!(
        (answer.status, answer.outcome().as_deref()),
        (200, Some("accepted"))
    );
    assert_eq!(*seen.lock().unwrap(), ["api"]);
    assert_eq!(key_state(&receiver, "r1").await, KeyState::Done);
    // A redelivery is confirmed again, then answered as a duplicate.
    let again = post_event(&receiver, &webhook("r1", RunStatus::Completed)).await;
    assert_eq!(again.outcome().as_deref(), Some("duplicate"));
    assert_eq!(stub.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_status_the_api_does_not_have_is_refused_401_and_never_marked_done() {
    let stub = Stub::knowing(&[api_run("r2", RunStatus::Failed)]);
    let (receiver, seen) = receiver(stub);
    let forged = post_event(&receiver, &webhook("r2", RunStatus::Completed)).await;
    assert_eq!(
        (forged.status, forged.outcome().as_deref()),
        (401, Some("invalid"))
    );
    let reason = forged.json()["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("could not be confirmed"), "{reason}");
    assert!(
        !reason.contains("FAILED"),
        "the API's status is not told to a forger: {reason}"
    );
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(key_state(&receiver, "r2").await, KeyState::Absent);
    // The genuine event still goes through.
    let genuine = post_event(&receiver, &webhook("r2", RunStatus::Failed)).await;
    assert_eq!(genuine.status, 200);
    assert_eq!(*seen.lock().unwrap(), ["api"]);
}

#[tokio::test]
async fn a_run_the_api_does_not_know_is_refused_401() {
    let (receiver, seen) = receiver(Stub::knowing(&[]));
    let answer = post_event(&receiver, &webhook("nobody", RunStatus::Completed)).await;
    assert_eq!(answer.status, 401);
    assert!(seen.lock().unwrap().is_empty());
    assert_eq!(key_state(&receiver, "nobody").await, KeyState::Absent);
}

#[tokio::test]
async fn an_api_that_fails_gets_503_and_the_report_says_why() {
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    let receiver = Receiver::builder(handler_fn(|_event| async { HandlerOutcome::Ok }))
        .confirm_with(Stub::with(Api::Down))
        .report_to(reports)
        .build()
        .unwrap();
    let answer = post_event(&receiver, &webhook("r3", RunStatus::Completed)).await;
    assert_eq!(
        (answer.status, answer.outcome().as_deref()),
        (503, Some("confirm_unavailable"))
    );
    let report = reported.recv().await.unwrap();
    assert_eq!(report.outcome, ReceiveOutcome::ConfirmUnavailable);
    assert!(
        report.reason.contains("connection refused"),
        "{}",
        report.reason
    );
    assert_eq!(key_state(&receiver, "r3").await, KeyState::Absent);
}

#[tokio::test(start_paused = true)]
async fn an_api_that_does_not_answer_gets_503_at_the_deadline() {
    let config = ReceiverConfig::default().with_deadline(Duration::from_secs(2));
    let receiver = Receiver::builder(handler_fn(|_event| async { HandlerOutcome::Ok }))
        .config(config)
        .confirm_with(Stub::with(Api::Hangs))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let answer = post_event(&receiver, &webhook("r4", RunStatus::Completed)).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.outcome().as_deref(), Some("confirm_unavailable"));
    assert_eq!(started.elapsed(), Duration::from_secs(2));
}

#[tokio::test]
async fn unknown_event_types_are_confirmed_by_their_run_id() {
    let stub = Stub::knowing(&[api_run("r5", RunStatus::Completed)]);
    let (receiver, seen) = receiver(stub);
    let known = json!({"event": "run.paused", "run_id": "r5", "data": {}}).to_string();
    assert_eq!(post_bytes(&receiver, known).await.status, 200);
    let wrong = json!({"event": "run.paused", "run_id": "r5", "status": "RUNNING"}).to_string();
    assert_eq!(post_bytes(&receiver, wrong).await.status, 401);
    let anonymous = json!({"event": "run.paused"}).to_string();
    assert_eq!(post_bytes(&receiver, anonymous).await.status, 401);
    assert_eq!(*seen.lock().unwrap(), ["(run.paused)"]);
}

#[tokio::test]
async fn in_inbox_mode_only_confirmed_events_are_stored_with_the_api_run() {
    let inbox = Arc::new(MemoryInbox::new());
    let stub = Stub::knowing(&[api_run("r6", RunStatus::Cancelled)]);
    let (handled, mut handler_saw) = mpsc::unbounded_channel::<String>();
    let receiver = Receiver::with_inbox(
        inbox.clone(),
        Arc::new(handler_fn(move |event| {
            let source = event
                .run_event()
                .and_then(|run| run.data.result.value().cloned());
            let _ = handled.send(format!("{source:?}"));
            async { HandlerOutcome::Ok }
        })),
    )
    .confirm_with(stub)
    .build()
    .unwrap();
    let forged = post_event(&receiver, &webhook("r6", RunStatus::Completed)).await;
    assert_eq!(forged.status, 401);
    assert!(
        inbox
            .get(&IdempotencyKey::new("r6"))
            .await
            .unwrap()
            .is_none()
    );
    let genuine = post_event(&receiver, &webhook("r6", RunStatus::Cancelled)).await;
    assert_eq!(genuine.status, 200);
    let row = inbox
        .get(&IdempotencyKey::new("r6"))
        .await
        .unwrap()
        .unwrap();
    let stored: Value = serde_json::from_slice(&row.body).unwrap();
    assert_eq!(stored["data"]["result"]["source"], "api");
    let saw = tokio::time::timeout(Duration::from_secs(10), handler_saw.recv())
        .await
        .unwrap();
    assert!(saw.unwrap().contains("api"));
    receiver.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn the_stub_conforms_to_the_seam() {
    let known = [
        api_run("c1", RunStatus::Completed),
        api_run("c2", RunStatus::Failed),
        api_run("c3", RunStatus::Cancelled),
    ];
    run_confirmer_suite(Stub::knowing(&known), &known, &id("c-unknown")).await;
}

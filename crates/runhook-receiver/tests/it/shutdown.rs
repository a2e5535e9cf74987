//! Graceful shutdown on tokio's paused clock: new deliveries 503, handlers in flight finish
//! within the grace period, the rest are stopped, released and reported.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, Method, Uri};
use runhook::store::{IdempotencyKey, KeyState, MemoryStore};
use runhook::{HandlerOutcome, ReceiveOutcome};
use runhook_receiver::{
    Clock, Receiver, ReceiverConfig, Report, ShutdownSummary, WebhookResponse, handler_fn,
};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep};

#[derive(Debug, Clone)]
struct FollowsTokio(Instant);

impl Clock for FollowsTokio {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.0.elapsed()
    }
}

async fn post(receiver: &Receiver, run_id: &str) -> WebhookResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let body = format!(
        r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{}}}}"#
    );
    receiver
        .receive(
            &Method::POST,
            &Uri::from_static("/webhooks/tinyfish"),
            &headers,
            Bytes::from(body),
        )
        .await
}

#[tokio::test(start_paused = true)]
async fn shutdown_refuses_new_deliveries_waits_for_quick_handlers_and_stops_the_rest() {
    let start = Instant::now();
    let clock = FollowsTokio(start);
    let ledger = Arc::new(MemoryStore::new());
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    // "quick" works 3 s, "slow" 60 s: both outlive the 1 s deadline and run in the background.
    let receiver = Receiver::builder(handler_fn(|event| async move {
        let work = if event.run_id() == Some("quick") {
            3
        } else {
            60
        };
        sleep(Duration::from_secs(work)).await;
        HandlerOutcome::Ok
    }))
    .config(ReceiverConfig::default().with_deadline(Duration::from_secs(1)))
    .store(ledger.clone())
    .clock(clock.clone())
    .report_to(reports)
    .build()
    .unwrap();
    assert_eq!(post(&receiver, "quick").await.status, 503);
    assert_eq!(post(&receiver, "slow").await.status, 503);
    assert!(!receiver.is_shutting_down());

    let shutting_down = {
        let receiver = receiver.clone();
        tokio::spawn(async move { receiver.shutdown(Duration::from_secs(10)).await })
    };
    tokio::task::yield_now().await;
    // New deliveries are refused at once, and their connection closed.
    let refused = post(&receiver, "new").await;
    assert_eq!(refused.status, 503);
    assert_eq!(refused.headers[CONNECTION], "close");
    assert!(receiver.is_shutting_down());

    let summary: ShutdownSummary = shutting_down.await.unwrap();
    assert_eq!(summary.in_flight, 2);
    assert_eq!(summary.stopped, 1, "the 60 s handler was stopped");
    // At the end of the grace period, 2 s (the two deliveries) + 10 s, plus the 1 s a
    // cancelled handler has to wind down.
    assert!(
        start.elapsed() <= Duration::from_secs(13),
        "{:?}",
        start.elapsed()
    );
    let state = |key: &str| ledger.state(&IdempotencyKey::new(key), clock.now());
    assert_eq!(
        state("quick"),
        KeyState::Done,
        "finished within the grace period"
    );
    assert_eq!(state("slow"), KeyState::Absent, "released for a retry");
    assert_eq!(state("new"), KeyState::Absent, "never claimed");

    let outcomes: Vec<_> = std::iter::from_fn(|| reported.try_recv().ok())
        .map(|report| (report.run_id, report.outcome, report.late))
        .collect();
    assert!(outcomes.contains(&(Some("quick".into()), ReceiveOutcome::Accepted, true)));
    assert!(outcomes.contains(&(None, ReceiveOutcome::ShuttingDown, false)));
    assert!(outcomes.contains(&(Some("slow".into()), ReceiveOutcome::ShuttingDown, true)));
    // The stopped handler failed after its 503: it is kept for reprocessing too.
    let dead: Vec<_> = receiver
        .dead_letters()
        .into_iter()
        .map(|letter| letter.run_id)
        .collect();
    assert_eq!(dead, [Some("slow".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn shutdown_with_nothing_in_flight_returns_at_once() {
    let receiver = Receiver::new(handler_fn(|_event| async { HandlerOutcome::Ok }));
    assert_eq!(post(&receiver, "r1").await.status, 200);
    let start = Instant::now();
    let summary = receiver.shutdown(Duration::from_secs(30)).await;
    assert_eq!(start.elapsed(), Duration::ZERO);
    assert_eq!(summary.in_flight, 0);
    assert_eq!(summary.stopped, 0);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_handler_sees_the_signal_and_winds_down_with_its_own_outcome() {
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    let receiver = Receiver::builder(handler_fn(|event| async move {
        tokio::select! {
            () = sleep(Duration::from_secs(60)) => HandlerOutcome::Ok,
            () = event.context().cancelled() => {
                assert!(event.context().is_cancelled());
                HandlerOutcome::retry("stopping cleanly")
            }
        }
    }))
    .config(ReceiverConfig::default().with_deadline(Duration::from_secs(1)))
    .report_to(reports)
    .build()
    .unwrap();
    assert_eq!(post(&receiver, "winds-down").await.status, 503);
    let summary = receiver.shutdown(Duration::from_secs(2)).await;
    assert_eq!(summary.stopped, 1);
    let late: Vec<_> = std::iter::from_fn(|| reported.try_recv().ok())
        .filter(|report| report.late)
        .map(|report| (report.outcome, report.reason))
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].0, ReceiveOutcome::Retry, "its own outcome stands");
    assert!(late[0].1.contains("stopping cleanly"), "{}", late[0].1);
}

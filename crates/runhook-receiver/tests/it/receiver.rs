//! The receive pipeline without HTTP: deadlines on tokio's paused clock, leases on a manual
//! clock, routing, observers, body limits and store failures.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body::{Body, Frame};
use http_body_util::Full;
use runhook::store::{IdempotencyKey, KeyState, MemoryStore};
use runhook::{Event, HandlerOutcome, ReceiveOutcome};
use runhook_receiver::{
    Clock, Handlers, Received, Receiver, ReceiverConfig, Report, WebhookResponse, handler_fn,
};
use serde_json::Value;
use support::{Fault, Faulty};
use tokio::sync::mpsc;

fn uri() -> Uri {
    Uri::from_static("/webhook")
}

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}

fn body(event: &str, run_id: &str) -> Bytes {
    let status = match event {
        "run.completed" => "COMPLETED",
        "run.failed" => "FAILED",
        "run.cancelled" => "CANCELLED",
        _ => "RUNNING",
    };
    Bytes::from(format!(
        r#"{{"event":"{event}","run_id":"{run_id}","status":"{status}","data":{{}}}}"#
    ))
}

async fn post(receiver: &Receiver, body: Bytes) -> WebhookResponse {
    receiver
        .receive(&Method::POST, &uri(), &headers(), body)
        .await
}

fn json(response: &WebhookResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap()
}

/// Counts calls; sleeps `delay` (on tokio's clock) before answering `outcome`.
fn slow_handler(
    calls: Arc<AtomicUsize>,
    delay: Duration,
) -> impl Fn(Received<Event>) -> Pin<Box<dyn Future<Output = HandlerOutcome> + Send>>
+ Send
+ Sync
+ 'static {
    move |_event| {
        calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            HandlerOutcome::Ok
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_handler_gets_503_then_finishes_in_the_background() {
    let calls = Arc::new(AtomicUsize::new(0));
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    let receiver = Receiver::builder(handler_fn(slow_handler(
        calls.clone(),
        Duration::from_secs(30),
    )))
    .report_to(reports)
    .build()
    .unwrap();
    assert_eq!(receiver.config().deadline, Duration::from_secs(8));

    let started = tokio::time::Instant::now();
    let first = post(&receiver, body("run.completed", "r1")).await;
    assert_eq!(first.status, 503);
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(8),
        "answered at the deadline"
    );
    assert_eq!(json(&first)["outcome"], "deadline_passed");

    // Meanwhile, a redelivery is in flight: 503 with a Retry-After no longer than the deadline.
    let second = post(&receiver, body("run.completed", "r1")).await;
    assert_eq!(second.status, 503);
    // The claim is renewed every third of its 5 s lease: at most 5 s are left on it.
    let retry_after: u64 = second.headers[RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&retry_after), "{retry_after}");
    assert_eq!(json(&second)["outcome"], "in_flight");

    // The handler finishes in the background and completes the key.
    tokio::time::sleep(Duration::from_secs(30)).await;
    let third = post(&receiver, body("run.completed", "r1")).await;
    assert_eq!(third.status, 200);
    assert_eq!(json(&third)["outcome"], "duplicate");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let outcomes: Vec<(ReceiveOutcome, u16, bool)> =
        std::iter::from_fn(|| reported.try_recv().ok())
            .map(|r| (r.outcome, r.status, r.late))
            .collect();
    assert_eq!(
        outcomes,
        [
            (ReceiveOutcome::DeadlinePassed, 503, false),
            (ReceiveOutcome::InFlight, 503, false),
            (ReceiveOutcome::Accepted, 200, true),
            (ReceiveOutcome::Duplicate, 200, false),
        ]
    );
}

/// A wall clock the test moves by hand.
#[derive(Debug, Clone)]
struct ManualClock(Arc<Mutex<SystemTime>>);

impl ManualClock {
    fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.0.lock().unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn an_expired_lease_is_taken_over_by_the_next_delivery() {
    let calls = Arc::new(AtomicUsize::new(0));
    let clock = ManualClock(Arc::new(Mutex::new(SystemTime::UNIX_EPOCH)));
    let ledger = Arc::new(MemoryStore::new());
    let receiver = Receiver::builder(handler_fn(slow_handler(
        calls.clone(),
        Duration::from_secs(3600),
    )))
    .config(
        ReceiverConfig::default()
            .with_deadline(Duration::from_secs(1))
            .with_lease(Duration::from_secs(60)),
    )
    .store(ledger.clone())
    .clock(clock.clone())
    .build()
    .unwrap();

    assert_eq!(post(&receiver, body("run.failed", "r1")).await.status, 503);
    assert_eq!(post(&receiver, body("run.failed", "r1")).await.status, 503);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "in flight: not called twice"
    );
    clock.advance(Duration::from_secs(60));
    assert_eq!(post(&receiver, body("run.failed", "r1")).await.status, 503);
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the lease ran out: taken over"
    );
}

/// A wall clock that follows tokio's (paused) clock, so leases and timers move together.
#[derive(Debug, Clone)]
struct VirtualWallClock(tokio::time::Instant);

impl Clock for VirtualWallClock {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.0.elapsed()
    }
}

#[tokio::test(start_paused = true)]
async fn a_handler_longer_than_its_lease_keeps_its_claim_until_it_finishes() {
    let calls = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::builder(handler_fn(slow_handler(
        calls.clone(),
        Duration::from_secs(10),
    )))
    .config(
        ReceiverConfig::default()
            .with_deadline(Duration::from_millis(100))
            .with_lease(Duration::from_secs(1)),
    )
    .clock(VirtualWallClock(tokio::time::Instant::now()))
    .build()
    .unwrap();

    assert_eq!(
        post(&receiver, body("run.completed", "r1")).await.status,
        503
    );
    // Many leases later, the handler still runs: redeliveries must wait, not run it again.
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let again = post(&receiver, body("run.completed", "r1")).await;
        assert_eq!(again.status, 503, "still in flight");
        assert!(again.headers.contains_key(http::header::RETRY_AFTER));
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the claim was renewed, never taken over"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        post(&receiver, body("run.completed", "r1")).await.status,
        200
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "done: a duplicate, not a second call"
    );
}

#[tokio::test]
async fn the_router_routes_each_event_type_and_acknowledges_the_rest() {
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = |seen: &Arc<Mutex<Vec<String>>>, what: String| seen.lock().unwrap().push(what);
    let (a, b, c, d) = (seen.clone(), seen.clone(), seen.clone(), seen.clone());
    let router = Handlers::new()
        .on_completed(move |run| {
            log(&a, format!("completed {}", run.run_id));
            async { HandlerOutcome::Ok }
        })
        .on_failed(move |run| {
            log(&b, format!("failed {}", run.run_id));
            async { Err::<(), _>("the database is down") }
        })
        .on_cancelled(move |run| {
            log(&c, format!("cancelled {}", run.run_id));
            async { HandlerOutcome::reject("cancellations are not accepted here") }
        })
        .on_unknown(move |event| {
            log(&d, format!("unknown {}", event.event));
            async { HandlerOutcome::Ok }
        });
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    let receiver = Receiver::builder(router)
        .report_to(reports)
        .build()
        .unwrap();
    assert_eq!(
        post(&receiver, body("run.completed", "a")).await.status,
        200
    );
    let retry = post(&receiver, body("run.failed", "b")).await;
    assert_eq!(retry.status, 503);
    // The handler's error text stays out of the response, which any caller can read...
    let reason = json(&retry)["reason"].as_str().unwrap().to_owned();
    assert!(!reason.contains("the database is down"), "{reason}");
    assert!(reason.contains("retry later"), "{reason}");
    // ...and is in the report (and the log) for the operator.
    let reports: Vec<Report> = std::iter::from_fn(|| reported.try_recv().ok()).collect();
    assert!(
        reports[1].reason.contains("the database is down"),
        "{:?}",
        reports[1]
    );
    let reject = post(&receiver, body("run.cancelled", "c")).await;
    assert_eq!(reject.status, 422);
    assert!(
        !json(&reject)["reason"]
            .as_str()
            .unwrap()
            .contains("not accepted here")
    );
    assert_eq!(post(&receiver, body("run.started", "d")).await.status, 200);
    assert_eq!(
        *seen.lock().unwrap(),
        [
            "completed a",
            "failed b",
            "cancelled c",
            "unknown run.started"
        ]
    );

    let empty = Receiver::new(Handlers::new());
    for event in ["run.completed", "run.failed", "run.cancelled", "run.paused"] {
        assert_eq!(post(&empty, body(event, "x")).await.status, 200, "{event}");
    }
}

#[tokio::test]
async fn rejections_say_why_in_json_with_the_right_headers() {
    let receiver = Receiver::new(Handlers::new());
    let get = receiver
        .receive(&Method::GET, &uri(), &headers(), Bytes::new())
        .await;
    assert_eq!(get.status, 405);
    assert_eq!(get.headers["allow"], "POST");
    assert_eq!(json(&get)["kind"], "method_not_allowed");

    let text = receiver
        .receive(
            &Method::POST,
            &uri(),
            &HeaderMap::new(),
            body("run.completed", "r"),
        )
        .await;
    assert_eq!(text.status, 415);
    assert_eq!(text.headers[CONTENT_TYPE], "application/json");
    assert!(
        json(&text)["reason"]
            .as_str()
            .unwrap()
            .contains("Content-Type")
    );

    let bad = post(
        &receiver,
        Bytes::from_static(
            br#"{"event":"run.completed","run_id":"r","status":"COMPLETED","data":"x"}"#,
        ),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(json(&bad)["pointer"], "/data");
    assert_eq!(json(&bad)["kind"], "invalid_event");
    // A refusal names its run, so a lost run can be identified.
    assert_eq!(json(&bad)["run_id"], "r");

    let too_large = receiver.too_large(Some(5_000_000));
    assert_eq!(too_large.status, 413);
    assert!(
        json(&too_large)["reason"]
            .as_str()
            .unwrap()
            .contains("5000000")
    );
    let http = too_large.into_http();
    assert_eq!(http.status(), 413);
}

/// A body that fails on the first read, like a client that went away.
struct Broken;

impl Body for Broken {
    type Data = Bytes;
    type Error = &'static str;
    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(Some(Err("connection reset by peer")))
    }
}

#[tokio::test]
async fn receive_body_enforces_the_limit_while_reading() {
    let calls = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::builder(handler_fn(slow_handler(calls.clone(), Duration::ZERO)))
        .config(ReceiverConfig::default().with_max_body_bytes(100))
        .build()
        .unwrap();
    assert_eq!(receiver.max_body_bytes(), 100);
    let fits = body("run.completed", "r1");
    let ok = receiver
        .receive_body(&Method::POST, &uri(), &headers(), Full::new(fits.clone()))
        .await;
    assert_eq!(ok.status, 200);

    let big = Full::new(Bytes::from(vec![b' '; 150]));
    let over = receiver
        .receive_body(&Method::POST, &uri(), &headers(), big)
        .await;
    assert_eq!(over.status, 413);
    assert!(
        json(&over)["reason"]
            .as_str()
            .unwrap()
            .contains("150 bytes")
    );
    // Far over (more than twice the limit): reading stops.
    let huge = Full::new(Bytes::from(vec![b' '; 1000]));
    assert_eq!(
        receiver
            .receive_body(&Method::POST, &uri(), &headers(), huge)
            .await
            .status,
        413
    );
    // The method is still checked first.
    let huge = Full::new(Bytes::from(vec![b' '; 1000]));
    assert_eq!(
        receiver
            .receive_body(&Method::PUT, &uri(), &headers(), huge)
            .await
            .status,
        405
    );
    // A declared length far over the limit is refused without reading.
    let mut declared = headers();
    declared.insert(CONTENT_LENGTH, HeaderValue::from_static("100000000"));
    assert_eq!(
        receiver
            .receive_body(&Method::POST, &uri(), &declared, Broken)
            .await
            .status,
        413
    );
    // A body that cannot be read is a 400.
    let broken = receiver
        .receive_body(&Method::POST, &uri(), &headers(), Broken)
        .await;
    assert_eq!(broken.status, 400);
    assert!(
        json(&broken)["reason"]
            .as_str()
            .unwrap()
            .contains("connection reset")
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_failure_to_complete_does_not_undo_a_processed_event() {
    let receiver = Receiver::builder(Handlers::new())
        .store(Arc::new(Faulty {
            complete: Fault::Fails,
            ..Faulty::default()
        }))
        .build()
        .unwrap();
    let response = post(&receiver, body("run.completed", "r1")).await;
    assert_eq!(
        response.status, 200,
        "the work is done; the sender must not retry"
    );
    let key = IdempotencyKey::new("r1");
    assert_eq!(
        receiver
            .store()
            .state(&key, SystemTime::now())
            .await
            .unwrap(),
        KeyState::InFlight,
        "the claim stays until its lease runs out"
    );
}

#[tokio::test]
async fn the_observer_sees_every_outcome() {
    let reports = Arc::new(Mutex::new(Vec::<Report>::new()));
    let sink = reports.clone();
    let receiver = Receiver::builder(Handlers::new())
        .observer(move |report| sink.lock().unwrap().push(report.clone()))
        .build()
        .unwrap();
    post(&receiver, body("run.completed", "r1")).await;
    post(&receiver, body("run.completed", "r1")).await;
    post(&receiver, Bytes::from_static(b"[]")).await;
    post(&receiver, body("run.completed", "r2")).await;
    let mismatch = br#"{"event":"run.completed","run_id":"r3","status":"FAILED","data":{}}"#;
    post(&receiver, Bytes::from_static(mismatch)).await;
    let reports = reports.lock().unwrap();
    let summary: Vec<_> = reports
        .iter()
        .map(|r| (r.outcome, r.status, r.run_id.as_deref(), r.event.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (
                ReceiveOutcome::Accepted,
                200,
                Some("r1"),
                Some("run.completed")
            ),
            (
                ReceiveOutcome::Duplicate,
                200,
                Some("r1"),
                Some("run.completed")
            ),
            (ReceiveOutcome::Invalid, 400, None, None),
            (
                ReceiveOutcome::Accepted,
                200,
                Some("r2"),
                Some("run.completed")
            ),
            // A refusal whose envelope has a valid run_id names it.
            (ReceiveOutcome::Invalid, 400, Some("r3"), None),
        ]
    );
    assert_eq!(reports[0].key, Some(IdempotencyKey::new("r1")));
    assert!(reports[2].reason.contains("JSON object"));
}

#[test]
fn the_futures_are_send_so_any_framework_can_await_them() {
    fn assert_send<T: Send>(_: &T) {}
    let receiver = Receiver::new(Handlers::new());
    let headers = headers();
    let uri = uri();
    let receive = receiver.receive(&Method::POST, &uri, &headers, Bytes::new());
    assert_send(&receive);
    let receive_body =
        receiver.receive_body(&Method::POST, &uri, &headers, Full::new(Bytes::new()));
    assert_send(&receive_body);
    fn assert_clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    assert_clone_send_sync::<Receiver>();
}

/// A handler is polled once in the request: one that finishes at once runs without a task of its
/// own, and one that is still running after its first poll goes on
/// in a task of its own; both are answered from their outcome.
#[tokio::test(start_paused = true)]
async fn a_handler_that_finishes_at_once_runs_in_the_request_and_a_slower_one_in_a_task() {
    let alive = Arc::new(Mutex::new(Vec::<(String, bool)>::new()));
    let seen = Arc::clone(&alive);
    let receiver = Receiver::new(handler_fn(move |run: Received<Event>| {
        let seen = Arc::clone(&seen);
        async move {
            let run_id = run.run_id().unwrap_or_default().to_owned();
            if run_id == "later" {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // Inside a spawned task, tokio knows the task's id; in the request itself, none.
            let in_a_task = tokio::task::try_id().is_some();
            seen.lock().unwrap().push((run_id.clone(), in_a_task));
            if run_id == "later" {
                HandlerOutcome::reject("refused after a yield")
            } else {
                HandlerOutcome::Ok
            }
        }
    }));
    let at_once = post(&receiver, body("run.completed", "at-once")).await;
    assert_eq!(at_once.status, 200);
    let later = post(&receiver, body("run.completed", "later")).await;
    assert_eq!(later.status, 422, "{}", json(&later));
    assert_eq!(
        *alive.lock().unwrap(),
        vec![("at-once".to_owned(), false), ("later".to_owned(), true)]
    );
}

/// A hand-written `Handler` whose `handle` panics before it returns its future: 503 (the sender
/// retries), and the receiver goes on serving.
#[tokio::test]
async fn a_handler_that_panics_before_its_future_exists_is_answered_503() {
    struct PanicsEarly;
    impl runhook_receiver::Handler for PanicsEarly {
        fn handle<'life0, 'async_trait>(
            &'life0 self,
            event: Received<Event>,
        ) -> Pin<Box<dyn Future<Output = HandlerOutcome> + Send + 'async_trait>>
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            if event.run_id() == Some("early") {
                panic!("no future for this one");
            }
            Box::pin(async { HandlerOutcome::Ok })
        }
    }
    let receiver = Receiver::new(PanicsEarly);
    let response = post(&receiver, body("run.completed", "early")).await;
    assert_eq!(response.status, 503, "{}", json(&response));
    assert_eq!(json(&response)["outcome"], "handler_panicked");
    let next = post(&receiver, body("run.completed", "fine")).await;
    assert_eq!(next.status, 200, "{}", json(&next));
}

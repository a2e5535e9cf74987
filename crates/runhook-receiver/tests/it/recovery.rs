//! Claims that recover within the sender's window, handlers that never return, late failures
//! and slow stores, on tokio's paused clock with a wall clock that follows it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Uri};
use runhook::store::{Claim, DEFAULT_LEASE, IdempotencyKey, KeyState, MemoryStore};
use runhook::{Event, HandlerOutcome, ReceiveOutcome};
use runhook_receiver::{Clock, Receiver, ReceiverConfig, Report, WebhookResponse, handler_fn};
use support::{Fault, Faulty};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, sleep_until};

const SECOND: Duration = Duration::from_secs(1);

/// A wall clock that follows tokio's (paused) clock from the test's start.
#[derive(Debug, Clone)]
struct FollowsTokio(Instant);

impl Clock for FollowsTokio {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.0.elapsed()
    }
}

fn body(run_id: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{}}}}"#
    ))
}

async fn post(receiver: &Receiver, run_id: &str) -> WebhookResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let uri = Uri::from_static("/webhooks/tinyfish");
    receiver
        .receive(&Method::POST, &uri, &headers, body(run_id))
        .await
}

fn reports(reported: &mut mpsc::UnboundedReceiver<Report>) -> Vec<Report> {
    std::iter::from_fn(|| reported.try_recv().ok()).collect()
}

/// A handler that counts its calls and processes at once.
fn counting(calls: &Arc<AtomicUsize>) -> impl runhook_receiver::Handler + use<> {
    let calls = Arc::clone(calls);
    handler_fn(move |_event| {
        calls.fetch_add(1, Ordering::SeqCst);
        async { HandlerOutcome::Ok }
    })
}

/// Plays TinyFish's attempts at the given offsets from `start` until one gets 200; returns the
/// 1-based attempt that did, or `None`.
async fn deliver_on_schedule(
    receiver: &Receiver,
    run_id: &str,
    start: Instant,
    offsets: &[u64],
) -> Option<usize> {
    for (index, offset) in offsets.iter().enumerate() {
        sleep_until(start + Duration::from_secs(*offset)).await;
        if post(receiver, run_id).await.status == 200 {
            return Some(index + 1);
        }
    }
    None
}

#[tokio::test(start_paused = true)]
async fn a_claim_abandoned_by_a_crash_is_retaken_within_the_senders_schedule() {
    // Attempt 1 reaches a process that claims the run and dies: nobody renews or settles the
    // claim. The sender times attempt 1 out at 10 s, so its next attempts come at 11, 23, 37 s
    // (and, when each fails fast, at 1, 3 and 7 s).
    for (schedule, expected) in [(&[11u64, 23, 37][..], 2), (&[1, 3, 7][..], 4)] {
        let start = Instant::now();
        let clock = FollowsTokio(start);
        let ledger = Arc::new(MemoryStore::new());
        let key = IdempotencyKey::new("crashed");
        let held = ledger.claim(&key, clock.now(), DEFAULT_LEASE).unwrap();
        assert!(matches!(held, Claim::Acquired(_)));

        let calls = Arc::new(AtomicUsize::new(0));
        let receiver = Receiver::builder(counting(&calls))
            .store(ledger.clone())
            .clock(clock.clone())
            .build()
            .unwrap();
        let processed_by = deliver_on_schedule(&receiver, "crashed", start, schedule).await;
        // Attempt 1 is the one that died; the receiver's answers are attempts 2 to 4.
        assert_eq!(
            processed_by.map(|n| n + 1),
            Some(expected),
            "schedule {schedule:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(ledger.state(&key, clock.now()), KeyState::Done);
    }
}

#[tokio::test(start_paused = true)]
async fn a_claim_left_by_a_runtime_shut_down_is_retaken_in_time() {
    let start = Instant::now();
    let ledger = Arc::new(MemoryStore::new());
    // The first process: its own runtime, whose handler never returns; it is shut down while
    // the handler holds the claim.
    {
        let ledger = ledger.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let receiver = Receiver::builder(handler_fn(|_event| async {
                    std::future::pending::<HandlerOutcome>().await
                }))
                .config(ReceiverConfig::default().with_deadline(Duration::from_millis(50)))
                .store(ledger)
                .clock(FixedClock(SystemTime::UNIX_EPOCH))
                .build()
                .unwrap();
                assert_eq!(post(&receiver, "shut-down").await.status, 503);
            });
            runtime.shutdown_background();
        })
        .join()
        .unwrap();
    }
    let key = IdempotencyKey::new("shut-down");
    let clock = FollowsTokio(start);
    assert_eq!(ledger.state(&key, clock.now()), KeyState::InFlight);

    let calls = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::builder(counting(&calls))
        .store(ledger.clone())
        .clock(clock.clone())
        .build()
        .unwrap();
    let processed_by = deliver_on_schedule(&receiver, "shut-down", start, &[11, 23, 37]).await;
    assert_eq!(
        processed_by,
        Some(1),
        "attempt 2 (t = 11 s) processes the run"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[derive(Debug)]
struct FixedClock(SystemTime);

impl Clock for FixedClock {
    fn now(&self) -> SystemTime {
        self.0
    }
}

#[tokio::test(start_paused = true)]
async fn a_claim_committed_after_the_receiver_gave_up_is_retaken_in_time() {
    let start = Instant::now();
    let calls = Arc::new(AtomicUsize::new(0));
    let receiver = Receiver::builder(counting(&calls))
        .store(Arc::new(Faulty {
            claim: Fault::SlowOnce(Duration::from_secs(9)),
            ..Faulty::default()
        }))
        .clock(FollowsTokio(start))
        .build()
        .unwrap();
    // Attempt 1: the store commits the claim, but only after the 8 s deadline: 503.
    let first = post(&receiver, "late-claim").await;
    assert_eq!(first.status, 503);
    assert_eq!(start.elapsed(), 8 * SECOND);
    // A 503 is a fast failure: the next attempts come 1, 2 and 4 s after each answer.
    let processed_by = deliver_on_schedule(&receiver, "late-claim", start, &[9, 11, 15]).await;
    assert!(
        processed_by.is_some(),
        "the orphaned claim blocked every attempt"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_handler_that_never_returns_is_stopped_released_and_dead_lettered() {
    let start = Instant::now();
    let (observer, mut reported) = mpsc::unbounded_channel::<Report>();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let ledger = Arc::new(MemoryStore::new());
    let receiver = Receiver::builder(handler_fn(move |_event| {
        let first = counted.fetch_add(1, Ordering::SeqCst) == 0;
        async move {
            if first {
                std::future::pending::<()>().await;
            }
            HandlerOutcome::Ok
        }
    }))
    .config(ReceiverConfig::default().with_max_handler_time(Duration::from_secs(60)))
    .store(ledger.clone())
    .clock(FollowsTokio(start))
    .report_to(observer)
    .build()
    .unwrap();

    assert_eq!(post(&receiver, "stuck").await.status, 503);
    assert_eq!(start.elapsed(), 8 * SECOND);
    sleep(Duration::from_secs(50)).await; // t = 58 s
    let key = IdempotencyKey::new("stuck");
    let clock = FollowsTokio(start);
    assert_eq!(
        ledger.state(&key, clock.now()),
        KeyState::InFlight,
        "still renewed"
    );
    sleep(4 * SECOND).await; // t = 62 s
    assert_eq!(
        ledger.state(&key, clock.now()),
        KeyState::Absent,
        "released at the maximum run time, not renewed forever"
    );
    let late: Vec<Report> = reports(&mut reported)
        .into_iter()
        .filter(|report| report.late)
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].outcome, ReceiveOutcome::HandlerTimedOut);
    assert!(late[0].is_late_failure());
    let dead = receiver.dead_letters();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].run_id.as_deref(), Some("stuck"));
    assert_eq!(dead[0].outcome, ReceiveOutcome::HandlerTimedOut);

    // The released run is processed by the next delivery, which resolves the dead letter.
    assert_eq!(post(&receiver, "stuck").await.status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert!(receiver.dead_letters().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_late_failure_is_logged_reported_and_kept_as_a_dead_letter() {
    let (observer, mut reported) = mpsc::unbounded_channel::<Report>();
    let receiver = Receiver::builder(handler_fn(|event| async move {
        sleep(Duration::from_secs(20)).await;
        if event.run_id() == Some("panics") {
            panic!("the handler broke late");
        }
        HandlerOutcome::retry("the warehouse API is down")
    }))
    .report_to(observer)
    .build()
    .unwrap();

    for run_id in ["retries", "panics"] {
        let response = post(&receiver, run_id).await;
        assert_eq!(response.status, 503);
        let reports = reports(&mut reported);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].outcome, ReceiveOutcome::DeadlinePassed);
        assert!(!reports[0].is_late_failure());
    }
    sleep(Duration::from_secs(30)).await;
    let late = reports(&mut reported);
    let outcomes: Vec<_> = late
        .iter()
        .map(|report| {
            (
                report.run_id.as_deref(),
                report.outcome,
                report.is_late_failure(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            (Some("retries"), ReceiveOutcome::Retry, true),
            (Some("panics"), ReceiveOutcome::HandlerPanicked, true),
        ]
    );
    let dead = receiver.take_dead_letters();
    let kept: Vec<_> = dead
        .iter()
        .map(|letter| (letter.run_id.as_deref(), letter.outcome))
        .collect();
    assert_eq!(
        kept,
        [
            (Some("retries"), ReceiveOutcome::Retry),
            (Some("panics"), ReceiveOutcome::HandlerPanicked),
        ]
    );
    assert!(dead[0].reason.contains("the warehouse API is down"));
    assert_eq!(
        dead[0].body,
        body("retries"),
        "the body as received, to reprocess"
    );
    assert!(Event::from_slice(&dead[0].body).is_ok());
    assert!(receiver.dead_letters().is_empty(), "taken");
}

#[tokio::test(start_paused = true)]
async fn dead_letters_are_bounded() {
    let receiver = Receiver::builder(handler_fn(|_event| async {
        sleep(Duration::from_secs(9)).await;
        HandlerOutcome::retry("no")
    }))
    .config(ReceiverConfig::default().with_dead_letter_capacity(2))
    .build()
    .unwrap();
    for run_id in ["a", "b", "c"] {
        assert_eq!(post(&receiver, run_id).await.status, 503);
    }
    sleep(Duration::from_secs(10)).await;
    let kept: Vec<_> = receiver
        .dead_letters()
        .into_iter()
        .map(|letter| letter.run_id)
        .collect();
    assert_eq!(kept, [Some("b".to_owned()), Some("c".to_owned())]);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_store_never_stalls_the_handler_or_its_report() {
    let start = Instant::now();
    let finished = Arc::new(Mutex::new(None::<Duration>));
    let done = Arc::clone(&finished);
    let (observer, mut reported) = mpsc::unbounded_channel::<Report>();
    let store = Arc::new(Faulty {
        complete: Fault::Hangs,
        release: Fault::Hangs,
        renew: Fault::Hangs,
        ..Faulty::default()
    });
    let receiver = Receiver::builder(handler_fn(move |_event| {
        let done = Arc::clone(&done);
        async move {
            // Work in steps, as a handler awaiting its own IO does, within one lease (5 s): a
            // lease that runs out without a renewal would stop it.
            for _ in 0..8 {
                sleep(Duration::from_millis(500)).await;
            }
            *done.lock().unwrap() = Some(start.elapsed());
            HandlerOutcome::Ok
        }
    }))
    .config(ReceiverConfig::default().with_deadline(SECOND))
    .store(store.clone())
    .report_to(observer)
    .build()
    .unwrap();
    assert_eq!(post(&receiver, "slow-store").await.status, 503);
    sleep(Duration::from_secs(20)).await;
    assert_eq!(
        *finished.lock().unwrap(),
        Some(4 * SECOND),
        "the handler ran on while renewals hung"
    );
    assert!(
        store.renewals.load(Ordering::SeqCst) >= 2,
        "renewals kept being tried"
    );
    let late: Vec<_> = reports(&mut reported)
        .into_iter()
        .filter(|report| report.late)
        .collect();
    assert_eq!(late.len(), 1, "the settle timed out and the task reported");
    assert_eq!(late[0].outcome, ReceiveOutcome::Accepted);
    assert_eq!(
        late[0].elapsed,
        4 * SECOND + ReceiverConfig::DEFAULT_STORE_TIMEOUT,
        "settled within the store timeout"
    );
}

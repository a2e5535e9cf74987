//! Inbox mode over real HTTP on 127.0.0.1: the answer comes once the event is stored, before the
//! handler runs; a duplicate is answered without a second row; a failing inbox is a 503.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::inbox_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use inbox_support::faulty::FaultyInbox;
use inbox_support::server::{post, serve};
use inbox_support::{completed, next};
use runhook::HandlerOutcome;
use runhook::inbox::{Inbox, InboxFilter, InboxState, MemoryInbox};
use runhook::store::IdempotencyKey;
use runhook_receiver::inbox::{InboxOutcome, InboxReport};
use runhook_receiver::{Receiver, Report, handler_fn};
use tokio::sync::{Semaphore, mpsc};

/// How long a test waits for something that should happen at once (real time).
const PROMPTLY: Duration = Duration::from_secs(10);

#[tokio::test]
async fn the_answer_comes_once_the_event_is_stored_before_the_handler_runs() {
    let gate = Arc::new(Semaphore::new(0));
    let (started, mut handler_started) = mpsc::unbounded_channel();
    let (inbox_reports, mut inbox_reported) = mpsc::unbounded_channel::<InboxReport>();
    let inbox = Arc::new(MemoryInbox::new());
    let handler_gate = Arc::clone(&gate);
    let receiver = Receiver::with_inbox(
        inbox.clone(),
        Arc::new(handler_fn(move |event| {
            let gate = Arc::clone(&handler_gate);
            let started = started.clone();
            async move {
                let _ = started.send(event.context().attempt());
                let _permit = gate.acquire().await.unwrap();
                HandlerOutcome::Ok
            }
        })),
    )
    .inbox_report_to(inbox_reports)
    .build()
    .unwrap();
    let server = serve(receiver.clone()).await;

    let answer = tokio::time::timeout(PROMPTLY, post(&server, &completed("r1")))
        .await
        .expect("the POST is answered while the handler is blocked");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.outcome(), "accepted");
    assert!(answer.body.contains("stored"), "{}", answer.body);

    // The handler runs afterwards, in a worker, with the attempt number; it is still blocked.
    let attempt = tokio::time::timeout(PROMPTLY, handler_started.recv()).await;
    assert_eq!(attempt.unwrap(), Some(Some(1)));
    let key = IdempotencyKey::new("r1");
    let row = inbox.get(&key).await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (InboxState::Pending, 1));
    assert!(inbox_reported.try_recv().is_err(), "nothing settled yet");

    gate.add_permits(1);
    let report = tokio::time::timeout(PROMPTLY, next(&mut inbox_reported))
        .await
        .unwrap();
    assert_eq!(report.outcome, InboxOutcome::Done);
    assert_eq!((report.key.as_str(), report.attempt), ("r1", 1));
    assert_eq!(report.run_id.as_deref(), Some("r1"));
    assert_eq!(report.event, "run.completed");
    let row = inbox.get(&key).await.unwrap().unwrap();
    assert_eq!(row.state, InboxState::Done);
    receiver.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_duplicate_is_answered_200_without_a_second_row_or_call() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    let (inbox_reports, mut inbox_reported) = mpsc::unbounded_channel::<InboxReport>();
    let inbox = Arc::new(MemoryInbox::new());
    let receiver = Receiver::with_inbox(
        inbox.clone(),
        Arc::new(handler_fn(move |_event| {
            counted.fetch_add(1, Ordering::SeqCst);
            async { HandlerOutcome::Ok }
        })),
    )
    .report_to(reports)
    .inbox_report_to(inbox_reports)
    .build()
    .unwrap();
    let server = serve(receiver.clone()).await;

    let first = post(&server, &completed("r1")).await;
    assert_eq!((first.status, first.outcome().as_str()), (200, "accepted"));
    let again = post(&server, &completed("r1")).await;
    assert_eq!((again.status, again.outcome().as_str()), (200, "duplicate"));
    // Also once the first is done.
    let done = tokio::time::timeout(PROMPTLY, next(&mut inbox_reported))
        .await
        .unwrap();
    assert_eq!(done.outcome, InboxOutcome::Done);
    let late = post(&server, &completed("r1")).await;
    assert_eq!((late.status, late.outcome().as_str()), (200, "duplicate"));

    let rows = inbox.list(&InboxFilter::first(10)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let outcomes: Vec<_> = std::iter::from_fn(|| reported.try_recv().ok())
        .map(|report| (report.outcome.as_str(), report.key.unwrap().to_string()))
        .collect();
    assert_eq!(
        outcomes,
        [("accepted", "r1"), ("duplicate", "r1"), ("duplicate", "r1")]
            .map(|(o, k)| (o, k.to_owned()))
    );
    receiver.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_failing_inbox_is_a_503_and_nothing_is_stored() {
    let inbox = Arc::new(FaultyInbox::default());
    inbox.fail_insert.store(true, Ordering::SeqCst);
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    let receiver = Receiver::with_inbox(
        inbox.clone(),
        Arc::new(handler_fn(|_event| async { HandlerOutcome::Ok })),
    )
    .report_to(reports)
    .build()
    .unwrap();
    let server = serve(receiver.clone()).await;

    let answer = post(&server, &completed("r1")).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.outcome(), "store_unavailable");
    assert!(
        !answer.body.contains("connection lost"),
        "no store detail in the response"
    );
    let report = reported.try_recv().unwrap();
    assert!(
        report.reason.contains("connection lost"),
        "{}",
        report.reason
    );
    assert!(
        inbox
            .rows
            .list(&InboxFilter::first(10))
            .await
            .unwrap()
            .is_empty()
    );

    // Once the inbox is back, the sender's retry is stored.
    inbox.fail_insert.store(false, Ordering::SeqCst);
    let retried = post(&server, &completed("r1")).await;
    assert_eq!(
        (retried.status, retried.outcome().as_str()),
        (200, "accepted")
    );
    receiver.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn an_event_without_a_key_is_keyed_by_the_sha256_of_its_body() {
    let inbox = Arc::new(MemoryInbox::new());
    let receiver = Receiver::with_inbox(
        inbox.clone(),
        Arc::new(handler_fn(|_event| async { HandlerOutcome::Ok })),
    )
    .config(
        runhook_receiver::ReceiverConfig::default()
            .with_key(runhook::store::KeyStrategy::custom(|_| None)),
    )
    .build()
    .unwrap();
    let server = serve(receiver.clone()).await;
    let body = completed("r1");
    assert_eq!(post(&server, &body).await.outcome(), "accepted");
    assert_eq!(post(&server, &body).await.outcome(), "duplicate");
    let rows = inbox.list(&InboxFilter::first(10)).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].key.as_str().starts_with("sha256:"),
        "{}",
        rows[0].key
    );
    assert_eq!(rows[0].key.as_str().len(), "sha256:".len() + 64);
    receiver.shutdown(Duration::from_secs(1)).await;
}

//! The lease rule, the same in both modes: a handler runs only while its lease is held. A lease
//! taken over by another delivery or worker, or one that runs out because renewals keep failing,
//! stops the handler (cancelled, then given 1 s to return), and nothing it
//! returns is recorded. On tokio's paused clock, with a wall clock that follows it.

use crate::inbox_support;
use crate::support;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use inbox_support::{FollowsTokio, at, completed, insert, next, post};
use runhook::inbox::{Inbox, InboxState, MemoryInbox};
use runhook::store::{Claim, IdempotencyKey, IdempotencyStore, MemoryStore};
use runhook::{HandlerOutcome, ReceiveOutcome};
use runhook_receiver::inbox::{InboxOutcome, InboxWorkers};
use runhook_receiver::{
    Clock, Handler, Receiver, ReceiverBuilder, ReceiverConfig, Report, handler_fn,
};
use support::{Fault, Faulty};
use tokio::sync::mpsc;
use tokio::time::{Instant, sleep, timeout};

const SECOND: Duration = Duration::from_secs(1);
/// The lease of both modes here, renewed every second.
const LEASE: Duration = Duration::from_secs(3);

/// A handler that runs until it is cancelled, says when, then answers `Ok` (which must not be
/// recorded once its lease is lost).
fn runs_until_cancelled(cancelled: mpsc::UnboundedSender<Instant>) -> impl Handler + use<> {
    handler_fn(move |event| {
        let cancelled = cancelled.clone();
        async move {
            event.context().cancelled().await;
            let _ = cancelled.send(Instant::now());
            HandlerOutcome::Ok
        }
    })
}

/// A builder of a receiver in inline mode on `store` with `config` and a lease of [`LEASE`],
/// running [`runs_until_cancelled`]; its wall clock, and the channel its handler says on when
/// it was cancelled.
fn inline(
    store: Arc<dyn IdempotencyStore>,
    config: ReceiverConfig,
) -> (
    ReceiverBuilder,
    FollowsTokio,
    mpsc::UnboundedReceiver<Instant>,
) {
    let clock = FollowsTokio::start();
    let (cancelled, saw_cancelled) = mpsc::unbounded_channel();
    let builder = Receiver::builder(runs_until_cancelled(cancelled))
        .config(config.with_lease(LEASE))
        .store(store)
        .clock(clock.clone());
    (builder, clock, saw_cancelled)
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test(start_paused = true)]
async fn inline_a_claim_taken_over_stops_the_handler_and_its_outcome_is_not_recorded() {
    let start = Instant::now();
    let ledger = Arc::new(MemoryStore::new());
    let config = ReceiverConfig::default().with_deadline(SECOND / 2);
    let (builder, clock, mut saw_cancelled) = inline(ledger.clone(), config);
    let (reports, mut reported) = mpsc::unbounded_channel::<Report>();
    let receiver = builder.report_to(reports).build().unwrap();
    let first = post(&receiver, completed("r1")).await;
    assert_eq!(
        first.status, 503,
        "the deadline passed; the handler goes on"
    );

    // Another replica takes the claim over, as it may once the lease looks expired to it.
    let key = IdempotencyKey::new("r1");
    let later = clock.now() + 10 * LEASE;
    let taken = ledger.claim(&key, later, LEASE).unwrap();
    assert!(matches!(taken, Claim::Acquired(_)), "{taken:?}");

    // The next renewal finds the claim gone: the handler is stopped, not left to run beside
    // the other replica's.
    let stopped_at = timeout(60 * SECOND, saw_cancelled.recv())
        .await
        .expect("the handler was never cancelled")
        .unwrap();
    assert!(stopped_at - start <= 2 * SECOND, "{:?}", stopped_at - start);
    sleep(SECOND).await;
    let again = ledger.claim(&key, later, LEASE).unwrap();
    assert!(
        matches!(again, Claim::InFlight { .. }),
        "its Ok was not recorded: the other replica still holds the key ({again:?})"
    );
    let late: Vec<Report> = std::iter::from_fn(|| reported.try_recv().ok())
        .filter(|report| report.late)
        .collect();
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].outcome, ReceiveOutcome::InFlight);
    assert!(late[0].reason.contains("taken over"), "{}", late[0].reason);
    assert!(
        receiver.dead_letters().is_empty(),
        "another delivery processes the event: no dead letter"
    );
}

#[tokio::test(start_paused = true)]
async fn inline_a_claim_taken_over_while_the_sender_waits_is_answered_in_flight() {
    let start = Instant::now();
    let ledger = Arc::new(MemoryStore::new());
    let (builder, clock, mut saw_cancelled) = inline(ledger.clone(), ReceiverConfig::default());
    let receiver = builder.build().unwrap();
    let waiting = tokio::spawn({
        let receiver = receiver.clone();
        async move { post(&receiver, completed("r1")).await }
    });
    sleep(SECOND / 2).await;
    let key = IdempotencyKey::new("r1");
    let taken = ledger.claim(&key, clock.now() + 10 * LEASE, LEASE).unwrap();
    assert!(matches!(taken, Claim::Acquired(_)), "{taken:?}");

    let response = waiting.await.unwrap();
    assert_eq!(start.elapsed(), SECOND, "answered at the next renewal");
    assert_eq!(response.status, 503);
    assert_eq!(json(&response.body)["outcome"], "in_flight");
    assert_eq!(response.headers[http::header::RETRY_AFTER], "3");
    assert!(
        saw_cancelled.try_recv().is_ok(),
        "the handler saw its cancellation"
    );
}

#[tokio::test(start_paused = true)]
async fn inline_a_lease_that_runs_out_without_a_renewal_stops_the_handler() {
    let start = Instant::now();
    let store = Arc::new(Faulty {
        renew: Fault::Fails,
        ..Faulty::default()
    });
    let (builder, clock, mut saw_cancelled) = inline(store.clone(), ReceiverConfig::default());
    let receiver = builder.build().unwrap();
    let response = post(&receiver, completed("r1")).await;
    assert_eq!(response.status, 503);
    assert_eq!(json(&response.body)["outcome"], "store_unavailable");
    assert_eq!(
        start.elapsed(),
        LEASE,
        "answered when the lease ran out, before the deadline"
    );
    assert!(
        saw_cancelled.try_recv().is_ok(),
        "the handler saw its cancellation"
    );
    assert!(
        store.renewals.load(Ordering::SeqCst) >= 2,
        "renewals were tried"
    );
    // Its Ok was not recorded: the key is free to claim again, not done.
    let key = IdempotencyKey::new("r1");
    let again = store.ledger.claim(&key, clock.now() + LEASE, LEASE);
    assert!(matches!(again, Ok(Claim::Acquired(_))), "{again:?}");
}

#[tokio::test(start_paused = true)]
async fn inbox_a_row_taken_over_stops_the_processor_and_its_outcome_is_not_recorded() {
    let clock = FollowsTokio::start();
    let rows = Arc::new(MemoryInbox::new());
    insert(rows.as_ref(), &clock, "r1").await;
    let (cancelled, mut saw_cancelled) = mpsc::unbounded_channel();
    let (reports, mut reported) = mpsc::unbounded_channel();
    let workers = InboxWorkers::builder(rows.clone(), Arc::new(runs_until_cancelled(cancelled)))
        .config(ReceiverConfig::default().with_inbox_lease(LEASE))
        .clock(clock.clone())
        .observer(reports)
        .spawn()
        .unwrap();
    sleep(SECOND / 2).await;
    assert_eq!(workers.running(), 1);

    // Another worker takes the row over, as it may once the lease looks expired to it.
    let taken = rows.claim_due(clock.now() + 10 * LEASE, LEASE, 1).await;
    assert_eq!(taken.unwrap().len(), 1);

    let report = next(&mut reported).await;
    assert_eq!(report.outcome, InboxOutcome::NotHeld);
    assert!(clock.now() <= at(2_000), "stopped at the next renewal");
    assert!(
        saw_cancelled.try_recv().is_ok(),
        "the processor saw its cancellation"
    );
    let row = rows.get(&IdempotencyKey::new("r1")).await.unwrap().unwrap();
    assert_eq!(
        row.state,
        InboxState::Pending,
        "its Ok was not recorded: the other worker holds the row"
    );
    workers.shutdown(SECOND).await;
}

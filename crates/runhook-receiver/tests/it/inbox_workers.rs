//! Inbox workers on tokio's paused clock: lease takeover, a late settlement refused, shutdown,
//! per-run order, the concurrency bound, a processor that settles itself, and build errors.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::inbox_support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use inbox_support::faulty::FaultyInbox;
use inbox_support::{FollowsTokio, at, completed, event, insert, next, post};
use runhook::inbox::{Inbox, InboxClaim, InboxState, MemoryInbox, Settlement};
use runhook::store::{IdempotencyKey, KeyStrategy};
use runhook::{Event, HandlerOutcome};
use runhook_receiver::inbox::{InboxOutcome, InboxProcessor, InboxWorkers, Processed};
use runhook_receiver::{
    Clock, ConfigError, Handler, Received, Receiver, ReceiverConfig, handler_fn,
};
use tokio::sync::{Semaphore, mpsc};
use tokio::time::{Instant, sleep};

const SECOND: Duration = Duration::from_secs(1);
const LEASE: Duration = Duration::from_secs(3);

fn config() -> ReceiverConfig {
    ReceiverConfig::default().with_inbox_lease(LEASE)
}

/// A processor that says it started, then waits for a permit of `gate` (whatever its
/// cancellation says), then processes.
fn gated(gate: &Arc<Semaphore>, started: mpsc::UnboundedSender<()>) -> impl Handler + use<> {
    let gate = Arc::clone(gate);
    handler_fn(move |_event| {
        let (gate, started) = (Arc::clone(&gate), started.clone());
        async move {
            let _ = started.send(());
            let _permit = gate.acquire().await.unwrap();
            HandlerOutcome::Ok
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_row_whose_lease_ran_out_is_taken_over_and_the_late_settlement_is_refused() {
    let clock = FollowsTokio::start();
    let rows = Arc::new(MemoryInbox::new());
    // Worker A cannot renew: its lease runs out while its processor hangs.
    let a_inbox = Arc::new(FaultyInbox::over(rows.clone()));
    a_inbox.fail_renew.store(true, Ordering::SeqCst);
    insert(rows.as_ref(), &clock, "r1").await;
    let gate = Arc::new(Semaphore::new(0));
    let (started, mut a_started) = mpsc::unbounded_channel();
    let (a_reports, mut a_reported) = mpsc::unbounded_channel();
    // One slot, which its hanging attempt holds: A cannot claim the row again itself.
    let a = InboxWorkers::builder(a_inbox.clone(), Arc::new(gated(&gate, started)))
        .config(config().with_inbox_concurrency(1))
        .clock(clock.clone())
        .observer(a_reports)
        .spawn()
        .unwrap();
    a_started.recv().await.unwrap();

    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let b_processor = handler_fn(move |event| {
        assert_eq!(event.context().attempt(), Some(2));
        counted.fetch_add(1, Ordering::SeqCst);
        async { HandlerOutcome::Ok }
    });
    let (b_reports, mut b_reported) = mpsc::unbounded_channel();
    let b = InboxWorkers::builder(rows.clone(), Arc::new(b_processor))
        .config(config())
        .clock(clock.clone())
        .observer(b_reports)
        .spawn()
        .unwrap();
    let taken = next(&mut b_reported).await;
    assert_eq!((taken.attempt, &taken.outcome), (2, &InboxOutcome::Done));
    assert!(clock.now() >= at(3_000), "taken over only after the lease");
    assert!(
        a_inbox.renewals.load(Ordering::SeqCst) >= 2,
        "A kept trying to renew"
    );

    gate.add_permits(1);
    let late = next(&mut a_reported).await;
    assert_eq!((late.attempt, late.outcome), (1, InboxOutcome::NotHeld));
    let row = rows.get(&IdempotencyKey::new("r1")).await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (InboxState::Done, 2));
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    a.shutdown(SECOND).await;
    b.shutdown(SECOND).await;
}

#[tokio::test(start_paused = true)]
async fn a_lease_that_runs_out_without_a_renewal_stops_the_processor_and_the_row_is_taken_over() {
    let clock = FollowsTokio::start();
    let rows = Arc::new(MemoryInbox::new());
    let a_inbox = Arc::new(FaultyInbox::over(rows.clone()));
    a_inbox.fail_renew.store(true, Ordering::SeqCst);
    insert(rows.as_ref(), &clock, "r1").await;
    let (cancelled, mut saw_cancelled) = mpsc::unbounded_channel();
    let a_processor = handler_fn(move |event| {
        let cancelled = cancelled.clone();
        async move {
            event.context().cancelled().await;
            let _ = cancelled.send(());
            HandlerOutcome::Ok
        }
    });
    let (a_reports, mut a_reported) = mpsc::unbounded_channel();
    let _a = InboxWorkers::builder(a_inbox.clone(), Arc::new(a_processor))
        .config(config().with_inbox_concurrency(1))
        .clock(clock.clone())
        .observer(a_reports)
        .spawn()
        .unwrap();
    sleep(SECOND / 2).await;
    let (b_reports, mut b_reported) = mpsc::unbounded_channel();
    let ok = handler_fn(|_event| async { HandlerOutcome::Ok });
    let _b = InboxWorkers::builder(rows.clone(), Arc::new(ok))
        .config(config())
        .clock(clock.clone())
        .observer(b_reports)
        .spawn()
        .unwrap();
    assert_eq!(next(&mut b_reported).await.outcome, InboxOutcome::Done);

    // A could not renew before its lease ran out: it stopped its processor rather than run it
    // beside B's attempt, and wrote nothing.
    let late = next(&mut a_reported).await;
    assert_eq!(late.outcome, InboxOutcome::NotHeld);
    assert!(
        saw_cancelled.try_recv().is_ok(),
        "the processor saw its cancellation"
    );
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_leaves_a_hanging_attempt_to_its_lease_and_the_row_is_not_lost() {
    let clock = FollowsTokio::start();
    let rows = Arc::new(MemoryInbox::new());
    insert(rows.as_ref(), &clock, "r1").await;
    let (started, mut a_started) = mpsc::unbounded_channel();
    let hangs = handler_fn(move |_event| {
        let _ = started.send(());
        std::future::pending::<HandlerOutcome>()
    });
    let (a_reports, mut a_reported) = mpsc::unbounded_channel();
    let a = InboxWorkers::builder(rows.clone(), Arc::new(hangs))
        .config(config())
        .clock(clock.clone())
        .observer(a_reports)
        .spawn()
        .unwrap();
    a_started.recv().await.unwrap();
    let summary = a.shutdown(SECOND).await;
    assert_eq!((summary.in_flight, summary.stopped), (1, 1));
    let stopped = next(&mut a_reported).await;
    assert!(
        matches!(stopped.outcome, InboxOutcome::Unsettled { .. }),
        "{stopped:?}"
    );
    let row = rows.get(&IdempotencyKey::new("r1")).await.unwrap().unwrap();
    assert_eq!(row.state, InboxState::Pending);

    // The same inbox, new workers (a restart): the row is taken again once its lease ran out.
    let ok = handler_fn(|_event| async { HandlerOutcome::Ok });
    let b = InboxWorkers::spawn(rows.clone(), Arc::new(ok), config(), clock.clone()).unwrap();
    let key = IdempotencyKey::new("r1");
    let mut polls = 0;
    while rows.get(&key).await.unwrap().unwrap().state != InboxState::Done {
        polls += 1;
        assert!(polls < 600, "r1 not done after 60 s (paused clock)");
        sleep(SECOND / 10).await;
    }
    assert!(clock.now() >= at(3_000), "retaken once the lease ran out");
    assert_eq!(rows.get(&key).await.unwrap().unwrap().attempts, 2);
    assert_eq!(b.shutdown(SECOND).await.stopped, 0);
}

#[tokio::test(start_paused = true)]
async fn events_of_one_run_are_processed_one_at_a_time_in_order_other_runs_beside_them() {
    let clock = FollowsTokio::start();
    let log = Arc::new(Mutex::new(Vec::<String>::new()));
    let written = Arc::clone(&log);
    let handler = handler_fn(move |event| {
        let log = Arc::clone(&written);
        let name = format!("{} {}", event.run_id().unwrap_or("?"), event.name());
        async move {
            log.lock().unwrap().push(format!("start {name}"));
            sleep(5 * SECOND).await;
            log.lock().unwrap().push(format!("end {name}"));
            HandlerOutcome::Ok
        }
    });
    let (reports, mut reported) = mpsc::unbounded_channel();
    let receiver = Receiver::with_inbox(Arc::new(MemoryInbox::new()), Arc::new(handler))
        .config(ReceiverConfig::default().with_key(KeyStrategy::RunIdAndEvent))
        .clock(clock.clone())
        .inbox_report_to(reports)
        .build()
        .unwrap();
    // "r1:run.started" sorts after "r1:run.completed": the order is the order received.
    assert_eq!(
        post(&receiver, event("r1", "run.started", "RUNNING"))
            .await
            .status,
        200
    );
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(post(&receiver, completed("r1")).await.status, 200);
    assert_eq!(post(&receiver, completed("r2")).await.status, 200);
    for _ in 0..3 {
        assert_eq!(next(&mut reported).await.outcome, InboxOutcome::Done);
    }
    let log = log.lock().unwrap().clone();
    let r1: Vec<_> = log
        .iter()
        .filter(|line| line.contains("r1"))
        .cloned()
        .collect();
    assert_eq!(
        r1,
        [
            "start r1 run.started",
            "end r1 run.started",
            "start r1 run.completed",
            "end r1 run.completed"
        ]
    );
    let position = |line: &str| log.iter().position(|l| l == line).unwrap();
    assert!(
        position("start r2 run.completed") < position("end r1 run.started"),
        "{log:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_more_rows_run_at_once_than_the_concurrency_allows() {
    let clock = FollowsTokio::start();
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (now_running, highest) = (Arc::clone(&running), Arc::clone(&most));
    let handler = handler_fn(move |_event| {
        let (running, most) = (Arc::clone(&now_running), Arc::clone(&highest));
        async move {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            sleep(SECOND).await;
            running.fetch_sub(1, Ordering::SeqCst);
            HandlerOutcome::Ok
        }
    });
    let (reports, mut reported) = mpsc::unbounded_channel();
    let receiver = Receiver::with_inbox(Arc::new(MemoryInbox::new()), Arc::new(handler))
        .config(ReceiverConfig::default().with_inbox_concurrency(2))
        .clock(clock.clone())
        .inbox_report_to(reports)
        .build()
        .unwrap();
    let start = Instant::now();
    for run in 0..6 {
        assert_eq!(
            post(&receiver, completed(&format!("r{run}"))).await.status,
            200
        );
    }
    for _ in 0..6 {
        assert_eq!(next(&mut reported).await.outcome, InboxOutcome::Done);
    }
    assert_eq!(most.load(Ordering::SeqCst), 2);
    assert!(start.elapsed() >= 3 * SECOND, "{:?}", start.elapsed());
}

/// A processor that commits the done mark itself, as a transactional one does.
struct SettlesItself(Arc<MemoryInbox>, FollowsTokio);

#[async_trait]
impl InboxProcessor for SettlesItself {
    async fn process(&self, claim: &InboxClaim, event: Received<Event>) -> Processed {
        assert_eq!(event.run_id(), Some("r1"));
        let key = &claim.entry.key;
        self.0
            .settle(key, claim.token, self.1.now(), Settlement::Done)
            .await
            .unwrap();
        Processed::Done
    }
}

#[tokio::test(start_paused = true)]
async fn a_processor_that_settles_the_row_itself_leaves_nothing_to_settle() {
    let clock = FollowsTokio::start();
    let inbox = Arc::new(MemoryInbox::new());
    let (reports, mut reported) = mpsc::unbounded_channel();
    let receiver = Receiver::with_inbox(
        inbox.clone(),
        Arc::new(SettlesItself(inbox.clone(), clock.clone())),
    )
    .clock(clock.clone())
    .inbox_report_to(reports)
    .build()
    .unwrap();
    post(&receiver, completed("r1")).await;
    assert_eq!(next(&mut reported).await.outcome, InboxOutcome::Done);
    let row = inbox
        .get(&IdempotencyKey::new("r1"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, InboxState::Done);
    let summary = receiver.shutdown(SECOND).await;
    assert_eq!(summary.stopped, 0);
    // After a shutdown, deliveries are refused.
    assert_eq!(post(&receiver, completed("r2")).await.status, 503);
}

#[test]
#[allow(deprecated)] // the builder's former inbox methods keep working
fn inbox_mode_needs_a_runtime_and_a_processor_needs_an_inbox() {
    let ok = || handler_fn(|_event| async { HandlerOutcome::Ok });
    let outside = Receiver::with_inbox(Arc::new(MemoryInbox::new()), Arc::new(ok())).build();
    assert_eq!(outside.unwrap_err(), ConfigError::NoRuntime);
    let former = Receiver::builder(ok())
        .inbox(Arc::new(MemoryInbox::new()))
        .build();
    assert_eq!(former.unwrap_err(), ConfigError::NoRuntime);
    let orphan = Receiver::builder(ok())
        .inbox_processor(Arc::new(ok()))
        .build();
    assert_eq!(orphan.unwrap_err(), ConfigError::ProcessorWithoutInbox);
    let zero = Receiver::builder(ok())
        .config(ReceiverConfig::default().with_inbox_concurrency(0))
        .build();
    assert!(matches!(
        zero,
        Err(ConfigError::ZeroCapacity {
            name: "inbox_concurrency"
        })
    ));
}

/// The workers purge done rows past their retention themselves (every 5 minutes), unless the
/// settings hand the purge to another task (`InboxConfig::purge`, as `runhook listen` does with
/// `runhook_store::Maintenance`).
#[tokio::test(start_paused = true)]
async fn the_workers_purge_done_rows_unless_the_purge_is_handed_to_another_task() {
    for purge in [true, false] {
        let clock = FollowsTokio::start();
        let inbox = Arc::new(MemoryInbox::new());
        let (reports, mut reported) = mpsc::unbounded_channel();
        let mut config = ReceiverConfig::default();
        config.inbox = config.inbox.with_retention(SECOND).with_purge(purge);
        let ok = handler_fn(|_event| async { HandlerOutcome::Ok });
        let receiver = Receiver::with_inbox(inbox.clone(), Arc::new(ok))
            .config(config)
            .clock(clock.clone())
            .inbox_report_to(reports)
            .build()
            .unwrap();
        post(&receiver, completed("r1")).await;
        assert_eq!(next(&mut reported).await.outcome, InboxOutcome::Done);
        // Past the workers' purge interval (5 minutes) and the row's retention.
        sleep(Duration::from_secs(6 * 60)).await;
        let row = inbox.get(&IdempotencyKey::new("r1")).await.unwrap();
        match purge {
            true => assert!(row.is_none(), "the workers purged the done row: {row:?}"),
            false => assert_eq!(row.map(|row| row.state), Some(InboxState::Done)),
        }
        receiver.shutdown(SECOND).await;
    }
}

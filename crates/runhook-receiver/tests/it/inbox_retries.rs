//! Inbox mode's retries on tokio's paused clock, with a wall clock that follows it: the policy's
//! schedule, dead rows (rejected, out of attempts, unparsable), replay, panics and timeouts.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::inbox_support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use inbox_support::{FollowsTokio, completed, next, post};
use runhook::Event;
use runhook::HandlerOutcome;
use runhook::delivery::RetryPolicy;
use runhook::inbox::{Inbox, InboxClaim, InboxPolicy, InboxState, MemoryInbox, NewInboxEntry};
use runhook::store::IdempotencyKey;
use runhook_receiver::inbox::{InboxOutcome, InboxProcessor, InboxReport, InboxWorkers, Processed};
use runhook_receiver::{Handler, Received, Receiver, handler_fn};
use tokio::sync::mpsc::{self, UnboundedReceiver};

const SECOND: Duration = Duration::from_secs(1);

/// A policy without jitter: waits of 1, 2 and 4 s (4 attempts), 5 s per attempt.
fn policy(waits: &[u64]) -> InboxPolicy {
    let retry = RetryPolicy::builder()
        .schedule(waits.iter().map(|secs| Duration::from_secs(*secs)))
        .attempt_timeout(5 * SECOND)
        .build()
        .unwrap();
    InboxPolicy::new(retry, Duration::from_secs(3600))
}

/// A receiver in inbox mode over `inbox`, with `policy`, reporting attempts to the channel.
fn receiver(
    handler: impl Handler,
    inbox: &Arc<MemoryInbox>,
    clock: &FollowsTokio,
    policy: InboxPolicy,
) -> (Receiver, UnboundedReceiver<InboxReport>) {
    let (reports, reported) = mpsc::unbounded_channel();
    let receiver = Receiver::with_inbox(inbox.clone(), Arc::new(handler))
        .clock(clock.clone())
        .inbox_policy(policy)
        .inbox_report_to(reports)
        .build()
        .unwrap();
    (receiver, reported)
}

#[tokio::test(start_paused = true)]
async fn failed_attempts_follow_the_policys_waits_and_each_knows_its_number() {
    let clock = FollowsTokio::start();
    let calls = Arc::new(Mutex::new(Vec::<(Option<u32>, SystemTime)>::new()));
    let (seen, handler_clock) = (Arc::clone(&calls), clock.clone());
    let handler = handler_fn(move |event| {
        let attempt = event.context().attempt();
        seen.lock()
            .unwrap()
            .push((attempt, runhook_receiver::Clock::now(&handler_clock)));
        async move {
            if attempt < Some(3) {
                HandlerOutcome::retry("database down")
            } else {
                HandlerOutcome::Ok
            }
        }
    });
    let inbox = Arc::new(MemoryInbox::new());
    let (receiver, mut reported) = receiver(handler, &inbox, &clock, policy(&[1, 2, 4]));
    assert_eq!(post(&receiver, completed("r1")).await.status, 200);
    let key = IdempotencyKey::new("r1");

    let first = next(&mut reported).await;
    let InboxOutcome::Retry {
        at: first_at,
        error,
    } = &first.outcome
    else {
        panic!("{first:?}")
    };
    assert_eq!((first.attempt, error.as_str()), (1, "database down"));
    let started = calls.lock().unwrap()[0].1;
    assert_eq!(*first_at, started + SECOND, "the first wait is 1 s");
    let row = inbox.get(&key).await.unwrap().unwrap();
    assert_eq!((row.state, row.next_at), (InboxState::Pending, *first_at));
    assert_eq!(row.last_error.as_deref(), Some("database down"));

    let second = next(&mut reported).await;
    let InboxOutcome::Retry { at: second_at, .. } = &second.outcome else {
        panic!("{second:?}")
    };
    let retried = calls.lock().unwrap()[1].1;
    assert!(
        retried >= *first_at && retried <= *first_at + SECOND / 2,
        "{retried:?}"
    );
    assert_eq!(*second_at, retried + 2 * SECOND, "the second wait is 2 s");
    assert_eq!(inbox.get(&key).await.unwrap().unwrap().next_at, *second_at);

    let third = next(&mut reported).await;
    assert_eq!((third.attempt, &third.outcome), (3, &InboxOutcome::Done));
    let calls = calls.lock().unwrap().clone();
    assert!(calls[2].1 >= *second_at);
    let attempts: Vec<_> = calls.iter().map(|(attempt, _)| *attempt).collect();
    assert_eq!(attempts, [Some(1), Some(2), Some(3)]);
    let row = inbox.get(&key).await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (InboxState::Done, 3));
}

#[tokio::test(start_paused = true)]
async fn a_rejected_event_is_dead_at_once_and_a_replay_processes_it() {
    let clock = FollowsTokio::start();
    let fixed = Arc::new(AtomicBool::new(false));
    let fix = Arc::clone(&fixed);
    let handler = handler_fn(move |_event| {
        let fixed = fix.load(Ordering::SeqCst);
        async move {
            if fixed {
                HandlerOutcome::Ok
            } else {
                HandlerOutcome::reject("unknown account")
            }
        }
    });
    let inbox = Arc::new(MemoryInbox::new());
    let (receiver, mut reported) = receiver(handler, &inbox, &clock, policy(&[1, 2, 4]));
    post(&receiver, completed("r1")).await;
    let key = IdempotencyKey::new("r1");

    let dead = next(&mut reported).await;
    let InboxOutcome::Dead { error } = &dead.outcome else {
        panic!("{dead:?}")
    };
    assert!(error.contains("unknown account"), "{error}");
    assert_eq!(dead.attempt, 1);
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(
        reported.try_recv().is_err(),
        "a dead row is not tried again"
    );
    let row = inbox.get(&key).await.unwrap().unwrap();
    assert_eq!(row.state, InboxState::Dead);
    assert!(row.last_error.unwrap().contains("unknown account"));
    // A redelivery of a dead row is a duplicate: it stays dead until replayed.
    assert_eq!(post(&receiver, completed("r1")).await.status, 200);

    fixed.store(true, Ordering::SeqCst);
    let now = runhook_receiver::Clock::now(&clock);
    assert!(receiver.inbox().unwrap().replay(&key, now).await.unwrap());
    receiver.inbox_workers().unwrap().wake();
    let done = next(&mut reported).await;
    assert_eq!((done.attempt, done.outcome), (1, InboxOutcome::Done));
    let row = inbox.get(&key).await.unwrap().unwrap();
    assert_eq!((row.state, row.attempts), (InboxState::Done, 1));
}

#[tokio::test(start_paused = true)]
async fn a_row_out_of_attempts_is_dead_with_the_last_error() {
    let clock = FollowsTokio::start();
    let handler = handler_fn(|_event| async { HandlerOutcome::retry("database down") });
    let inbox = Arc::new(MemoryInbox::new());
    let (receiver, mut reported) = receiver(handler, &inbox, &clock, policy(&[1]));
    post(&receiver, completed("r1")).await;

    let first = next(&mut reported).await;
    assert!(
        matches!(first.outcome, InboxOutcome::Retry { .. }),
        "{first:?}"
    );
    let second = next(&mut reported).await;
    assert_eq!(
        second.outcome,
        InboxOutcome::Dead {
            error: "gave up after 2 attempts: database down".into()
        }
    );
    let depth = receiver.inbox_depth().await.unwrap().unwrap();
    assert_eq!((depth.dead, depth.pending, depth.done), (1, 0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_panic_or_a_timeout_is_a_retry() {
    let clock = FollowsTokio::start();
    let handler = handler_fn(|event| async move {
        match event.context().attempt() {
            Some(1) => panic!("boom"),
            // Ignores its cancellation: dropped after the attempt timeout and the wind-down.
            Some(2) => std::future::pending().await,
            _ => HandlerOutcome::Ok,
        }
    });
    let inbox = Arc::new(MemoryInbox::new());
    let (receiver, mut reported) = receiver(handler, &inbox, &clock, policy(&[1, 2, 4]));
    post(&receiver, completed("r1")).await;

    let panicked = next(&mut reported).await;
    let error = panicked.outcome.error().unwrap();
    assert!(error.contains("panicked: boom"), "{error}");
    let timed_out = next(&mut reported).await;
    let error = timed_out.outcome.error().unwrap();
    assert!(error.contains("attempt timeout of 5s"), "{error}");
    assert!(timed_out.elapsed >= 5 * SECOND, "{:?}", timed_out.elapsed);
    let done = next(&mut reported).await;
    assert_eq!((done.attempt, done.outcome), (3, InboxOutcome::Done));
}

#[tokio::test(start_paused = true)]
async fn a_stored_body_that_no_longer_parses_is_dead_without_a_call() {
    let clock = FollowsTokio::start();
    let inbox = Arc::new(MemoryInbox::new());
    let now = runhook_receiver::Clock::now(&clock);
    let record = NewInboxEntry::new(IdempotencyKey::new("k"), "run.completed", now, "not json");
    inbox.insert(record, now).await.unwrap();
    let (reports, mut reported) = mpsc::unbounded_channel();
    let handler = handler_fn(|_event| async {
        panic!("never called");
        #[allow(unreachable_code)]
        HandlerOutcome::Ok
    });
    let workers = InboxWorkers::builder(inbox.clone(), Arc::new(handler))
        .clock(clock)
        .observer(reports)
        .spawn()
        .unwrap();
    let dead = next(&mut reported).await;
    let error = dead.outcome.error().unwrap();
    assert!(error.contains("no longer parses"), "{error}");
    assert!(matches!(dead.outcome, InboxOutcome::Dead { .. }));
    let summary = workers.shutdown(SECOND).await;
    assert_eq!(summary.stopped, 0);
}

/// Asks for a retry after the waits it is given, one per attempt, then succeeds.
struct AsksToWait(Vec<Duration>);

#[async_trait::async_trait]
impl InboxProcessor for AsksToWait {
    async fn process(&self, claim: &InboxClaim, _event: Received<Event>) -> Processed {
        let attempt = usize::try_from(claim.entry.attempts).unwrap();
        match self.0.get(attempt - 1) {
            Some(after) => Processed::RetryAfter {
                reason: "rate limited".into(),
                after: *after,
            },
            None => Processed::Outcome(HandlerOutcome::Ok),
        }
    }
}

/// A wait the other side asked for delays the next attempt past the schedule, capped by the
/// policy's `Retry-After` cap; one shorter than the schedule does not hasten it; a policy that
/// ignores `Retry-After` keeps its schedule.
#[tokio::test(start_paused = true)]
async fn a_retry_after_delays_the_schedule_up_to_the_policys_cap() {
    for (honoured, expected) in [(true, [7, 60, 4]), (false, [1, 2, 4])] {
        let clock = FollowsTokio::start();
        let inbox = Arc::new(MemoryInbox::new());
        let builder = RetryPolicy::builder()
            .schedule([SECOND, 2 * SECOND, 4 * SECOND])
            .attempt_timeout(5 * SECOND);
        let builder = if honoured {
            builder.honour_retry_after(60 * SECOND)
        } else {
            builder.ignore_retry_after()
        };
        let policy = InboxPolicy::new(builder.build().unwrap(), Duration::from_secs(3600));
        let (reports, mut reported) = mpsc::unbounded_channel();
        let processor = AsksToWait(vec![7 * SECOND, 3600 * SECOND, Duration::ZERO]);
        let receiver = Receiver::with_inbox(inbox.clone(), Arc::new(processor))
            .clock(clock.clone())
            .inbox_policy(policy)
            .inbox_report_to(reports)
            .build()
            .unwrap();
        assert_eq!(post(&receiver, completed("r1")).await.status, 200);
        for wait in expected {
            let report = next(&mut reported).await;
            let InboxOutcome::Retry { at, error } = &report.outcome else {
                panic!("{report:?}")
            };
            let now = runhook_receiver::Clock::now(&clock);
            assert_eq!(
                at.duration_since(now).unwrap().as_secs(),
                wait,
                "honoured: {honoured}, attempt {}",
                report.attempt
            );
            assert_eq!(error, "rate limited");
        }
        let done = next(&mut reported).await;
        assert_eq!((done.attempt, done.outcome), (4, InboxOutcome::Done));
    }
}

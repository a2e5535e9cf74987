//! Unit tests of the delivery state machine, on a virtual clock.

use super::*;
use crate::delivery::NetworkErrorKind;

const S: Duration = Duration::from_secs(1);

/// The origin of the virtual clock: any instant will do, and the clock is never read again.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn send(attempt: u32, deadline: Instant) -> DeliveryAction {
    DeliveryAction::Send { attempt, deadline }
}

#[test]
fn the_first_poll_sends_attempt_one_once() {
    let t0 = origin();
    let mut delivery = Delivery::new(RetryPolicy::tinyfish(), t0);
    assert_eq!(delivery.poll_action(t0), send(1, t0 + 10 * S));
    assert_eq!(delivery.in_flight(), Some(1));
    assert_eq!(
        delivery.poll_action(t0),
        DeliveryAction::WaitUntil(t0 + 10 * S)
    );
    assert_eq!(
        delivery.poll_action(t0 + 9 * S),
        DeliveryAction::WaitUntil(t0 + 10 * S)
    );
    assert_eq!(delivery.attempts().len(), 1);
}

#[test]
fn tinyfish_retries_5xx_on_schedule_then_delivers() {
    let t0 = origin();
    let mut delivery = Delivery::new(RetryPolicy::tinyfish(), t0);
    assert_eq!(delivery.poll_action(t0), send(1, t0 + 10 * S));
    delivery.handle_result(t0 + S, AttemptResult::status(503));
    assert_eq!(
        delivery.poll_action(t0 + S),
        DeliveryAction::WaitUntil(t0 + 2 * S)
    );
    assert_eq!(
        delivery.poll_action(t0 + 2 * S - Duration::from_nanos(1)),
        DeliveryAction::WaitUntil(t0 + 2 * S)
    );
    assert_eq!(delivery.poll_action(t0 + 2 * S), send(2, t0 + 12 * S));
    delivery.handle_result(t0 + 2 * S, AttemptResult::Network(NetworkErrorKind::Reset));
    assert_eq!(
        delivery.poll_action(t0 + 2 * S),
        DeliveryAction::WaitUntil(t0 + 4 * S)
    );
    // Polled late: the attempt starts at the poll, and its deadline counts from there.
    assert_eq!(delivery.poll_action(t0 + 5 * S), send(3, t0 + 15 * S));
    delivery.handle_result(t0 + 6 * S, AttemptResult::status(204));
    let done = DeliveryOutcome::Delivered {
        attempts: 3,
        status: 204,
    };
    assert_eq!(
        delivery.poll_action(t0 + 6 * S),
        DeliveryAction::Done(done.clone())
    );
    assert_eq!(
        delivery.poll_action(t0 + 600 * S),
        DeliveryAction::Done(done.clone())
    );
    assert_eq!(delivery.outcome(), Some(&done));
    let waits: Vec<_> = delivery.attempts().iter().map(|r| r.next_wait).collect();
    assert_eq!(waits, [Some(S), Some(2 * S), None]);
}

#[test]
fn an_unanswered_attempt_times_out_at_its_deadline() {
    let t0 = origin();
    let mut delivery = Delivery::new(RetryPolicy::tinyfish(), t0);
    delivery.poll_action(t0);
    // Polled 3 s late: the timeout is recorded at the deadline and the wait counts from it.
    assert_eq!(delivery.poll_action(t0 + 13 * S), send(2, t0 + 23 * S));
    let first = &delivery.attempts()[0];
    assert_eq!(first.ended, Some(t0 + 10 * S));
    assert_eq!(first.result, Some(AttemptResult::Timeout));
    // A result for the timed-out attempt arriving now belongs to attempt 2 in flight.
    assert_eq!(delivery.in_flight(), Some(2));
}

#[test]
fn four_failures_fail_with_the_last_result() {
    let t0 = origin();
    let mut delivery = Delivery::new(RetryPolicy::tinyfish(), t0);
    let mut now = t0;
    for _ in 0..4 {
        match delivery.poll_action(now) {
            DeliveryAction::Send { .. } => delivery.handle_result(now, AttemptResult::status(500)),
            other => panic!("expected a send, got {other:?}"),
        }
        if let DeliveryAction::WaitUntil(t) = delivery.poll_action(now) {
            now = t;
        }
    }
    assert_eq!(
        delivery.poll_action(now),
        DeliveryAction::Done(DeliveryOutcome::Failed {
            attempts: 4,
            last: AttemptResult::status(500)
        })
    );
    assert_eq!(now - t0, 7 * S);
}

#[test]
fn a_4xx_ends_at_once() {
    let t0 = origin();
    let mut delivery = Delivery::new(RetryPolicy::tinyfish(), t0);
    delivery.poll_action(t0);
    delivery.handle_result(t0, AttemptResult::status(429));
    assert!(delivery.is_done());
    assert_eq!(delivery.attempts().len(), 1);
}

#[test]
fn stray_results_are_ignored() {
    let t0 = origin();
    let mut delivery = Delivery::new(RetryPolicy::tinyfish(), t0);
    delivery.handle_result(t0, AttemptResult::status(200));
    assert!(delivery.attempts().is_empty());
    delivery.poll_action(t0);
    delivery.handle_result(t0, AttemptResult::status(503));
    delivery.handle_result(t0, AttemptResult::status(200)); // during the wait
    assert_eq!(delivery.poll_action(t0), DeliveryAction::WaitUntil(t0 + S));
    assert_eq!(delivery.attempts().len(), 1);
}

#[test]
fn a_retry_after_lengthens_the_schedule_when_honoured() {
    let t0 = origin();
    let after = |secs| AttemptResult::Response {
        status: 429,
        retry_after: Some(secs * S),
    };
    let mut delivery = Delivery::new(RetryPolicy::standard(), t0);
    delivery.poll_action(t0);
    delivery.handle_result(t0, after(7));
    assert_eq!(
        delivery.poll_action(t0),
        DeliveryAction::WaitUntil(t0 + 7 * S)
    );
    delivery.poll_action(t0 + 7 * S);
    delivery.handle_result(t0 + 7 * S, after(3600));
    assert_eq!(
        delivery.poll_action(t0 + 7 * S),
        DeliveryAction::WaitUntil(t0 + 67 * S)
    );
}

#[test]
fn a_short_retry_after_never_hastens_the_schedule() {
    let t0 = origin();
    let zero = AttemptResult::Response {
        status: 503,
        retry_after: Some(Duration::ZERO),
    };
    for policy in [RetryPolicy::standard(), RetryPolicy::tinyfish()] {
        let mut delivery = Delivery::new(policy.clone(), t0);
        delivery.poll_action(t0);
        delivery.handle_result(t0, zero.clone());
        let wait = delivery.attempts()[0].next_wait.unwrap();
        let (low, high) = policy.wait_bounds(1).unwrap();
        assert!(
            wait >= low && wait <= high && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert_eq!(
            delivery.poll_action(t0),
            DeliveryAction::WaitUntil(t0 + wait)
        );
    }
}

#[test]
fn seeds_change_jittered_waits_and_replay_them() {
    let run = |seed| {
        let t0 = origin();
        let mut delivery = Delivery::with_seed(RetryPolicy::standard(), seed, t0);
        delivery.poll_action(t0);
        delivery.handle_result(t0, AttemptResult::status(503));
        delivery.attempts()[0].next_wait.unwrap()
    };
    assert_eq!(run(1), run(1));
    let waits: std::collections::BTreeSet<_> = (0..16).map(run).collect();
    assert!(waits.len() > 1, "jitter does not depend on the seed");
}

#[test]
fn a_single_attempt_policy_never_retries() {
    let t0 = origin();
    let policy = RetryPolicy::builder().schedule([]).build().unwrap();
    let mut delivery = Delivery::new(policy, t0);
    delivery.poll_action(t0);
    delivery.handle_result(t0, AttemptResult::Timeout);
    assert!(matches!(
        delivery.poll_action(t0),
        DeliveryAction::Done(DeliveryOutcome::Failed { attempts: 1, .. })
    ));
}

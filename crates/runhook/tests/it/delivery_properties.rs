//! Property tests for the delivery state machine, driven on a virtual clock with a bounded loop
//! (a livelock fails the test instead of hanging it).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::{Duration, Instant};

use proptest::prelude::*;
use runhook::delivery::{
    AttemptRecord, AttemptResult, Delivery, DeliveryAction, DeliveryOutcome, Jitter,
    NetworkErrorKind, RetryDecision, RetryPolicy, StatusClass,
};

/// The origin of the virtual clock: any instant will do, and the clock is never read again.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// How the backoff of a generated policy is given, kept so the test can compute the expected
/// waits itself.
#[derive(Debug, Clone)]
enum Waits {
    Schedule(Vec<Duration>),
    Exponential {
        base: Duration,
        factor: f64,
        cap: Duration,
    },
}

impl Waits {
    /// The wait before retry `k` (1-based), computed independently of the library.
    fn expected(&self, k: u32) -> Duration {
        match self {
            Waits::Schedule(waits) => waits[k as usize - 1],
            Waits::Exponential { base, factor, cap } => {
                let mut wait = base.as_secs_f64();
                for _ in 1..k {
                    wait *= factor;
                }
                if wait >= cap.as_secs_f64() {
                    *cap
                } else {
                    Duration::from_secs_f64(wait)
                }
            }
        }
    }
}

#[derive(Debug, Clone)]
struct Spec {
    policy: RetryPolicy,
    waits: Waits,
}

fn jitter() -> impl Strategy<Value = Jitter> {
    prop_oneof![
        Just(Jitter::None),
        Just(Jitter::Full),
        (0.0f64..=1.0).prop_map(Jitter::Proportional),
    ]
}

fn class() -> impl Strategy<Value = StatusClass> {
    prop_oneof![
        Just(StatusClass::Delivered),
        Just(StatusClass::Retry),
        Just(StatusClass::GiveUp),
    ]
}

/// A policy from the builder, with any jitter.
fn built_policy(jitter: impl Strategy<Value = Jitter>) -> impl Strategy<Value = Spec> {
    let waits = prop_oneof![
        prop::collection::vec((0u64..5_000).prop_map(ms), 0..8).prop_map(Waits::Schedule),
        (0u64..2_000, 1.0f64..4.0, 0u64..20_000).prop_map(|(base, factor, extra)| {
            Waits::Exponential {
                base: ms(base),
                factor,
                cap: ms(base + extra),
            }
        }),
    ];
    (
        waits,
        1u32..9,
        1u64..20_000,
        jitter,
        prop::collection::vec((100u16..600, class()), 0..4),
        prop::option::of((0u64..120_000).prop_map(ms)),
    )
        .prop_map(
            |(waits, attempts, timeout, jitter, overrides, retry_after)| {
                let mut builder = match &waits {
                    Waits::Schedule(list) => RetryPolicy::builder().schedule(list.iter().copied()),
                    Waits::Exponential { base, factor, cap } => RetryPolicy::builder()
                        .attempts(attempts)
                        .exponential(*base, *factor, *cap),
                };
                builder = builder.attempt_timeout(ms(timeout)).jitter(jitter);
                for (status, class) in overrides {
                    builder = builder.status(status, class);
                }
                builder = match retry_after {
                    Some(cap) => builder.honour_retry_after(cap),
                    None => builder.ignore_retry_after(),
                };
                Spec {
                    policy: builder.build().expect("generated numbers are valid"),
                    waits,
                }
            },
        )
}

fn presets() -> impl Strategy<Value = Spec> {
    let documented = Waits::Schedule(vec![ms(1000), ms(2000), ms(4000)]);
    prop_oneof![
        Just(Spec {
            policy: RetryPolicy::tinyfish(),
            waits: documented.clone()
        }),
        Just(Spec {
            policy: RetryPolicy::standard(),
            waits: documented
        }),
    ]
}

fn any_policy() -> impl Strategy<Value = Spec> {
    prop_oneof![presets(), built_policy(jitter())]
}

/// What the endpoint does on one attempt.
#[derive(Debug, Clone)]
enum Step {
    /// Answers after `latency` (clamped to the deadline).
    Answer {
        result: AttemptResult,
        latency: Duration,
    },
    /// Never answers: the driver lets the deadline pass.
    Silent,
}

fn status() -> impl Strategy<Value = u16> {
    prop_oneof![
        4 => prop::sample::select(vec![200u16, 204, 301, 400, 404, 408, 425, 429, 500, 502, 503]),
        1 => 100u16..=599,
        1 => any::<u16>(),
    ]
}

fn attempt_result() -> impl Strategy<Value = AttemptResult> {
    prop_oneof![
        6 => (status(), prop::option::of((0u64..200_000).prop_map(ms)))
            .prop_map(|(status, retry_after)| AttemptResult::Response { status, retry_after }),
        2 => prop::sample::select(vec![
            NetworkErrorKind::Connect,
            NetworkErrorKind::Tls,
            NetworkErrorKind::Reset,
            NetworkErrorKind::Body,
            NetworkErrorKind::Other,
        ])
        .prop_map(AttemptResult::Network),
        1 => Just(AttemptResult::Timeout),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => (attempt_result(), (0u64..30_000).prop_map(ms))
            .prop_map(|(result, latency)| Step::Answer { result, latency }),
        1 => Just(Step::Silent),
    ]
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(step(), 1..12)
}

/// One driven delivery: everything observed on the way.
#[derive(Debug)]
struct Run {
    start: Instant,
    end: Instant,
    /// Each `Send`: attempt, instant, deadline.
    sends: Vec<(u32, Instant, Instant)>,
    outcome: DeliveryOutcome,
    log: Vec<AttemptRecord>,
}

/// An attempt log relative to its run's start: started, ended, result, wait after.
type Timeline = Vec<(
    Duration,
    Option<Duration>,
    Option<AttemptResult>,
    Option<Duration>,
)>;

/// Drives `delivery` with `steps` (cycled), polling `lateness` after each `WaitUntil`.
fn drive(mut delivery: Delivery, steps: &[Step], lateness: Duration) -> Run {
    let start = origin();
    let mut now = start;
    let timeout = delivery.policy().attempt_timeout();
    let mut script = steps.iter().cycle();
    let mut sends = Vec::new();
    let bound = 4 * delivery.policy().max_attempts() as usize + 4;
    for _ in 0..bound {
        match delivery.poll_action(now) {
            DeliveryAction::Send { attempt, deadline } => {
                assert_eq!(deadline, now + timeout, "deadline of attempt {attempt}");
                sends.push((attempt, now, deadline));
                if let Step::Answer { result, latency } = script.next().unwrap() {
                    now += (*latency).min(timeout);
                    delivery.handle_result(now, result.clone());
                }
            }
            DeliveryAction::WaitUntil(t) => {
                assert!(t > now, "WaitUntil({t:?}) is not in the future of {now:?}");
                // An eager driver polls just before the instant: nothing may happen yet.
                for early in [(t - now) / 2, Duration::from_nanos(1)] {
                    assert_eq!(
                        delivery.poll_action(t - early),
                        DeliveryAction::WaitUntil(t)
                    );
                }
                now = t + lateness;
            }
            DeliveryAction::Done(outcome) => {
                assert_eq!(
                    delivery.poll_action(now + ms(1_000_000)),
                    DeliveryAction::Done(outcome.clone())
                );
                return Run {
                    start,
                    end: now,
                    sends,
                    outcome,
                    log: delivery.attempts().to_vec(),
                };
            }
            other => panic!("unexpected output {other:?}"),
        }
    }
    panic!("no outcome after {bound} polls: livelock");
}

/// Invariants every run keeps, whatever the policy and the endpoint.
fn check_common(policy: &RetryPolicy, run: &Run) -> Result<(), TestCaseError> {
    let n = run.log.len();
    prop_assert!(n >= 1 && n as u32 <= policy.max_attempts());
    prop_assert_eq!(run.sends.len(), n, "one Send per attempt");
    prop_assert_eq!(run.outcome.attempts() as usize, n);
    for (i, ((attempt, sent, _), record)) in run.sends.iter().zip(&run.log).enumerate() {
        prop_assert_eq!(*attempt as usize, i + 1);
        prop_assert_eq!(record.attempt as usize, i + 1);
        prop_assert_eq!(record.started, *sent);
        prop_assert!(record.ended.is_some() && record.result.is_some());
    }
    // No Send before its time.
    for pair in run.log.windows(2) {
        let due = pair[0].ended.unwrap() + pair[0].next_wait.unwrap();
        prop_assert!(
            pair[1].started >= due,
            "attempt {} sent early",
            pair[1].attempt
        );
    }
    // Only the last attempt has no wait after it, and the outcome follows its result.
    prop_assert!(run.log[..n - 1].iter().all(|r| r.next_wait.is_some()));
    let last = run.log[n - 1].result.clone().unwrap();
    prop_assert_eq!(run.log[n - 1].next_wait, None);
    match (&run.outcome, policy.classify(&last)) {
        (DeliveryOutcome::Delivered { status, .. }, RetryDecision::Delivered) => {
            prop_assert_eq!(AttemptResult::status(*status).clone(), strip(&last));
        }
        (DeliveryOutcome::Failed { last: failed, .. }, RetryDecision::GiveUp) => {
            prop_assert_eq!(failed, &last)
        }
        (DeliveryOutcome::Failed { last: failed, .. }, RetryDecision::Retry { .. }) => {
            prop_assert_eq!(failed, &last);
            prop_assert_eq!(
                n as u32,
                policy.max_attempts(),
                "gave up with attempts left"
            );
        }
        (outcome, decision) => {
            prop_assert!(false, "outcome {outcome:?} after a {decision:?} decision")
        }
    }
    // Every earlier attempt was retryable.
    for record in &run.log[..n - 1] {
        let decision = policy.classify(record.result.as_ref().unwrap());
        let retryable = matches!(decision, RetryDecision::Retry { .. });
        prop_assert!(
            retryable,
            "attempt {} was followed by another",
            record.attempt
        );
    }
    Ok(())
}

/// A response without its `Retry-After`, for comparing statuses.
fn strip(result: &AttemptResult) -> AttemptResult {
    match result {
        AttemptResult::Response { status, .. } => AttemptResult::status(*status),
        other => other.clone(),
    }
}

/// The server-requested wait a result carries under `policy`, if honoured.
fn honoured_retry_after(policy: &RetryPolicy, result: &AttemptResult) -> Option<Duration> {
    match policy.classify(result) {
        RetryDecision::Retry { after } => after,
        _ => None,
    }
}

proptest! {
    #[test]
    fn every_run_keeps_the_invariants(spec in any_policy(), steps in steps(),
                                      seed in any::<u64>(), late in 0u64..3_000) {
        let delivery = Delivery::with_seed(spec.policy.clone(), seed, origin());
        let run = drive(delivery, &steps, ms(late));
        check_common(&spec.policy, &run)?;
    }

    #[test]
    fn waits_follow_the_schedule_exactly_without_jitter(
        spec in built_policy(Just(Jitter::None)), steps in steps(), seed in any::<u64>()
    ) {
        let run = drive(Delivery::with_seed(spec.policy.clone(), seed, origin()), &steps, Duration::ZERO);
        check_common(&spec.policy, &run)?;
        for record in &run.log {
            let Some(wait) = record.next_wait else { continue };
            let result = record.result.as_ref().unwrap();
            // At least the server's (capped) wait, never sooner than the schedule.
            let scheduled = spec.waits.expected(record.attempt);
            let expected = honoured_retry_after(&spec.policy, result)
                .map_or(scheduled, |after| after.max(scheduled));
            let error = wait.abs_diff(expected);
            prop_assert!(error <= Duration::from_micros(1),
                "wait after attempt {} is {wait:?}, expected {expected:?}", record.attempt);
        }
    }

    #[test]
    fn jittered_waits_stay_inside_their_bounds(
        spec in built_policy(jitter()), steps in steps(), seed in any::<u64>()
    ) {
        let run = drive(Delivery::with_seed(spec.policy.clone(), seed, origin()), &steps, Duration::ZERO);
        for record in &run.log {
            let Some(wait) = record.next_wait else { continue };
            if let Some(after) = honoured_retry_after(&spec.policy, record.result.as_ref().unwrap()) {
                prop_assert!(after <= spec.policy.retry_after_cap().unwrap());
                prop_assert!(wait >= after, "wait {wait:?} sooner than Retry-After {after:?}");
                if wait == after {
                    continue; // the server's wait was the longer; else the schedule's, below
                }
            }
            let nominal = spec.waits.expected(record.attempt).as_secs_f64();
            let (low, high) = match spec.policy.jitter() {
                Jitter::None => (nominal, nominal),
                Jitter::Full => (0.0, nominal),
                Jitter::Proportional(r) => (nominal * (1.0 - r), nominal * (1.0 + r)),
                other => panic!("unknown jitter {other:?}"),
            };
            let wait = wait.as_secs_f64();
            prop_assert!(wait >= low - 1e-6 && wait <= high + 1e-6,
                "wait {wait} outside [{low}, {high}] with {:?}", spec.policy.jitter());
        }
    }

    #[test]
    fn tinyfish_ends_at_the_first_2xx_or_4xx(steps in steps()) {
        let run = drive(Delivery::new(RetryPolicy::tinyfish(), origin()), &steps, Duration::ZERO);
        check_common(&RetryPolicy::tinyfish(), &run)?;
        let answers: Vec<Option<u16>> = steps.iter().cycle().take(4).map(|step| match step {
            Step::Answer { result: AttemptResult::Response { status, .. }, .. } => Some(*status),
            _ => None,
        }).collect();
        let first_final = answers.iter().position(|s| s.is_some_and(|s| (200..300).contains(&s) || (400..500).contains(&s)));
        match first_final {
            Some(i) => {
                prop_assert_eq!(run.log.len(), i + 1);
                let status = answers[i].unwrap();
                if (200..300).contains(&status) {
                    prop_assert_eq!(&run.outcome, &DeliveryOutcome::Delivered { attempts: i as u32 + 1, status });
                } else {
                    let failed = matches!(&run.outcome, DeliveryOutcome::Failed { last: AttemptResult::Response { status: s, .. }, .. } if *s == status);
                    prop_assert!(failed, "{:?}", run.outcome);
                }
            }
            None => {
                prop_assert_eq!(run.log.len(), 4);
                prop_assert!(!run.outcome.is_delivered());
            }
        }
    }

    #[test]
    fn total_time_is_bounded_by_the_waits_and_the_timeouts(
        spec in any_policy(), steps in steps(), seed in any::<u64>()
    ) {
        let run = drive(Delivery::with_seed(spec.policy.clone(), seed, origin()), &steps, Duration::ZERO);
        let waits: Duration = run.log.iter().filter_map(|r| r.next_wait).sum();
        let bound = waits + spec.policy.attempt_timeout() * run.log.len() as u32;
        prop_assert!(run.end - run.start <= bound, "{:?} > {bound:?}", run.end - run.start);
        prop_assert!(run.end - run.start <= spec.policy.max_total_time());
    }

    #[test]
    fn the_same_seed_replays_the_same_run(
        spec in any_policy(), steps in steps(), seed in any::<u64>(), late in 0u64..3_000
    ) {
        let start = origin();
        let once = drive(Delivery::with_seed(spec.policy.clone(), seed, start), &steps, ms(late));
        let twice = drive(Delivery::with_seed(spec.policy.clone(), seed, start), &steps, ms(late));
        let relative = |run: &Run| -> Timeline {
            run.log.iter().map(|r| (
                r.started - run.start,
                r.ended.map(|e| e - run.start),
                r.result.clone(),
                r.next_wait,
            )).collect()
        };
        prop_assert_eq!(relative(&once), relative(&twice));
        prop_assert_eq!(once.outcome, twice.outcome);
    }

    /// A careless driver: polls at any time (even earlier than before), feeds results whether or
    /// not an attempt is in flight. Nothing panics, and the invariants that do not depend on the
    /// driver hold.
    #[test]
    fn random_drivers_never_panic(
        spec in any_policy(),
        ops in prop::collection::vec((any::<bool>(), 0u64..40_000, attempt_result()), 0..60),
        seed in any::<u64>()
    ) {
        let base = origin() + Duration::from_secs(3_600);
        let mut delivery = Delivery::with_seed(spec.policy.clone(), seed, base);
        let mut done: Option<DeliveryOutcome> = None;
        for (poll, offset, result) in ops {
            // Instants up to 20 s before the creation instant and up to 20 s after it, jumping
            // around rather than advancing.
            let now = (base - Duration::from_secs(20)) + ms(offset);
            if poll {
                let output = delivery.poll_action(now);
                if let Some(outcome) = &done {
                    prop_assert_eq!(&output, &DeliveryAction::Done(outcome.clone()));
                }
                if let DeliveryAction::Done(outcome) = output {
                    done = Some(outcome);
                }
            } else {
                delivery.handle_result(now, result);
            }
            prop_assert!(delivery.attempts().len() as u32 <= spec.policy.max_attempts());
            if let Some(outcome) = delivery.outcome() {
                prop_assert_eq!(outcome.attempts() as usize, delivery.attempts().len());
            }
        }
    }
}

#[test]
fn jitter_spreads_waits_across_seeds() {
    // The standard preset draws its first wait from [750 ms, 1250 ms]: 64 seeds must not agree.
    let first_waits: Vec<Duration> = (0..64)
        .map(|seed| {
            let steps = [Step::Answer {
                result: AttemptResult::status(503),
                latency: Duration::ZERO,
            }];
            let delivery = Delivery::with_seed(RetryPolicy::standard(), seed, origin());
            drive(delivery, &steps, Duration::ZERO).log[0]
                .next_wait
                .unwrap()
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = first_waits.iter().collect();
    assert!(distinct.len() > 32, "{first_waits:?}");
    assert!(first_waits.iter().any(|w| *w < ms(900)) && first_waits.iter().any(|w| *w > ms(1100)));
}

#[test]
fn the_checks_can_fail() {
    // A hand-made run whose second attempt starts before its wait is over must be rejected.
    let policy = RetryPolicy::tinyfish();
    let run = drive(
        Delivery::new(policy.clone(), origin()),
        &[
            Step::Answer {
                result: AttemptResult::status(503),
                latency: ms(10),
            },
            Step::Answer {
                result: AttemptResult::status(200),
                latency: ms(10),
            },
        ],
        Duration::ZERO,
    );
    assert!(check_common(&policy, &run).is_ok());
    let mut early = run;
    early.log[1].started -= ms(1);
    early.sends[1].1 -= ms(1);
    assert!(check_common(&policy, &early).is_err());
}

//! The retry core: one delivery state-machine step, classifying a result, and an inbox
//! attempt's decision.
//!
//! Run: `cargo bench -p runhook --bench delivery`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};
use runhook::delivery::{AttemptResult, Delivery, DeliveryAction, NetworkErrorKind, RetryPolicy};
use runhook::inbox::{Attempted, InboxEntry, InboxPolicy, NewInboxEntry, decide_attempt};
use runhook::store::IdempotencyKey;

/// The origin of the virtual clock: any instant will do, and the clock is never read again.
#[allow(clippy::disallowed_methods)]
fn origin() -> Instant {
    Instant::now()
}

/// A delivery with attempt 1 in flight.
fn in_flight(policy: &RetryPolicy, start: Instant) -> Delivery {
    let mut delivery = Delivery::with_seed(policy.clone(), 42, start);
    assert!(matches!(
        delivery.poll_action(start),
        DeliveryAction::Send { attempt: 1, .. }
    ));
    delivery
}

/// `handle_result` + `poll_action`: the work a driver asks of the core per attempt.
fn step(c: &mut Criterion) {
    let start = origin();
    let now = start + Duration::from_millis(150);
    let mut group = c.benchmark_group("delivery_step");
    for (name, policy, result) in [
        (
            "tinyfish_503_retry",
            RetryPolicy::tinyfish(),
            AttemptResult::status(503),
        ),
        (
            "standard_503_jittered_retry",
            RetryPolicy::standard(),
            AttemptResult::status(503),
        ),
        (
            "standard_429_retry_after",
            RetryPolicy::standard(),
            AttemptResult::Response {
                status: 429,
                retry_after: Some(Duration::from_secs(3)),
            },
        ),
        (
            "tinyfish_200_delivered",
            RetryPolicy::tinyfish(),
            AttemptResult::status(200),
        ),
    ] {
        group.bench_with_input(BenchmarkId::from_parameter(name), &result, |b, result| {
            b.iter_batched_ref(
                || in_flight(&policy, start),
                |delivery| {
                    delivery.handle_result(now, black_box(result.clone()));
                    black_box(delivery.poll_action(black_box(now)))
                },
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

/// A whole TinyFish delivery that fails four times, on a virtual clock.
fn full_run(c: &mut Criterion) {
    let start = origin();
    c.bench_function("delivery_full_run/tinyfish_4x503", |b| {
        b.iter(|| {
            let mut delivery = Delivery::new(RetryPolicy::tinyfish(), start);
            let mut now = start;
            loop {
                match delivery.poll_action(now) {
                    DeliveryAction::Send { .. } => {
                        delivery.handle_result(now, black_box(AttemptResult::status(503)))
                    }
                    DeliveryAction::WaitUntil(t) => now = t,
                    DeliveryAction::Done(outcome) => break black_box(outcome),
                    _ => unreachable!(),
                }
            }
        })
    });
}

/// `RetryPolicy::classify`: pure, on every kind of result.
fn classify(c: &mut Criterion) {
    let mut group = c.benchmark_group("classify");
    let results = [
        ("200", AttemptResult::status(200)),
        ("503", AttemptResult::status(503)),
        (
            "429_retry_after",
            AttemptResult::Response {
                status: 429,
                retry_after: Some(Duration::from_secs(120)),
            },
        ),
        ("network", AttemptResult::Network(NetworkErrorKind::Connect)),
        ("timeout", AttemptResult::Timeout),
    ];
    for (policy_name, policy) in [
        ("tinyfish", RetryPolicy::tinyfish()),
        ("standard", RetryPolicy::standard()),
    ] {
        for (name, result) in &results {
            group.bench_with_input(BenchmarkId::new(policy_name, name), result, |b, result| {
                b.iter(|| policy.classify(black_box(result)))
            });
        }
    }
    group.finish();
}

/// `inbox::decide_attempt`: the settlement of one inbox attempt, run once per attempt by every
/// inbox worker (the seed's SHA-256 and the jitter draw included).
fn decide(c: &mut Criterion) {
    let received = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
    let now = received + Duration::from_secs(30);
    let record = NewInboxEntry::new(
        IdempotencyKey::new("run-42"),
        "run.completed",
        received,
        "{}",
    );
    let mut entry = InboxEntry::pending(record);
    entry.attempts = 3;
    let policy = InboxPolicy::default();
    let mut group = c.benchmark_group("inbox_decide");
    for (name, attempted) in [
        ("succeeded", Attempted::Succeeded),
        ("failed_jittered_retry", Attempted::failed("db down")),
        (
            "failed_retry_after",
            Attempted::failed_asking("rate limited", Duration::from_secs(120)),
        ),
        ("rejected", Attempted::rejected("unknown account")),
    ] {
        group.bench_with_input(BenchmarkId::from_parameter(name), &attempted, |b, a| {
            b.iter(|| decide_attempt(&policy, black_box(&entry), black_box(now), a.clone()))
        });
    }
    group.finish();
}

criterion_group!(benches, step, full_run, classify, decide);
criterion_main!(benches);

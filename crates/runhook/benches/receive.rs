//! The receive pipeline of the core (`receive`: checks, parse with the repeated-key check) and the
//! in-memory store (claim + complete), each alone.
//!
//! Run: `cargo bench -p runhook --bench receive`

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::hint::black_box;
use std::time::{Duration, SystemTime};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Uri};
use runhook::Event;
use runhook::receive::{RequestChecks, Verdict, receive};
use runhook::store::{Claim, DEFAULT_RETENTION, IdempotencyKey, MemoryStore};

/// The documented `run.completed` payload (fixtures/valid/01-docs-run-completed.json).
const DOCS_COMPLETED: &[u8] = include_bytes!("../../../fixtures/valid/01-docs-run-completed.json");

fn pipeline(c: &mut Criterion) {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    let uri = Uri::from_static("/webhooks/tinyfish?token=t");
    let config = RequestChecks::default();
    let mut lax = RequestChecks::default();
    lax.reject_duplicate_keys = false;
    assert!(matches!(
        receive(&Method::POST, &uri, &headers, DOCS_COMPLETED, &config),
        Verdict::Accept(Event::Completed(_))
    ));

    let mut group = c.benchmark_group("receive");
    group.throughput(Throughput::Bytes(DOCS_COMPLETED.len() as u64));
    group.bench_function("docs_completed", |b| {
        b.iter(|| {
            receive(
                &Method::POST,
                &uri,
                &headers,
                black_box(DOCS_COMPLETED),
                &config,
            )
        })
    });
    group.bench_function("docs_completed_no_duplicate_key_check", |b| {
        b.iter(|| {
            receive(
                &Method::POST,
                &uri,
                &headers,
                black_box(DOCS_COMPLETED),
                &lax,
            )
        })
    });
    // The same document with one drifted field: the lenient slow path.
    let drifted = String::from_utf8(DOCS_COMPLETED.to_vec())
        .unwrap()
        .replacen("\"num_of_steps\": 3", "\"num_of_steps\": \"3\"", 1);
    let Verdict::Accept(event) =
        receive(&Method::POST, &uri, &headers, drifted.as_bytes(), &config)
    else {
        panic!("the drifted document was refused")
    };
    assert_eq!(event.drift_problems().len(), 1);
    group.bench_function("docs_completed_drift", |b| {
        b.iter(|| {
            receive(
                &Method::POST,
                &uri,
                &headers,
                black_box(drifted.as_bytes()),
                &config,
            )
        })
    });
    group.bench_function("reject_content_type", |b| {
        let empty = HeaderMap::new();
        b.iter(|| {
            receive(
                &Method::POST,
                &uri,
                &empty,
                black_box(DOCS_COMPLETED),
                &config,
            )
        })
    });
    group.finish();
}

/// A store holding `filled` completed keys (retained for 72 h).
fn prefilled(capacity: usize, filled: usize, now: SystemTime) -> MemoryStore {
    let ledger = MemoryStore::with_capacity(capacity);
    for i in 0..filled {
        let key = IdempotencyKey::new(format!("seed-{i:08}"));
        let Claim::Acquired(token) = ledger.claim(&key, now, LEASE).unwrap() else {
            unreachable!()
        };
        ledger
            .complete(&key, token, now, DEFAULT_RETENTION)
            .unwrap();
    }
    ledger
}

const LEASE: Duration = Duration::from_secs(60);

fn uuid_like(i: usize) -> IdempotencyKey {
    IdempotencyKey::new(format!("4562765d-156e-4c47-b217-{i:012}"))
}

fn ledger(c: &mut Criterion) {
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
    let mut group = c.benchmark_group("ledger");

    // Claim + complete of a key absent from a store holding `filled` keys, no eviction: a ring
    // of 1000 keys completed with zero retention, so each is absent again on its next turn.
    let ring: Vec<IdempotencyKey> = (0..1000).map(uuid_like).collect();
    for filled in [0usize, 99_000] {
        let ledger = prefilled(MemoryStore::DEFAULT_CAPACITY, filled, now);
        let mut next = 0usize;
        group.bench_with_input(
            BenchmarkId::new("claim_complete", filled),
            &filled,
            |b, _| {
                b.iter(|| {
                    let key = &ring[next % ring.len()];
                    next += 1;
                    let Ok(Claim::Acquired(token)) = ledger.claim(key, now, LEASE) else {
                        unreachable!()
                    };
                    ledger.complete(key, token, now, Duration::ZERO).unwrap();
                })
            },
        );
    }

    // The same at capacity: every claim evicts the oldest completed key first.
    let fresh: Vec<IdempotencyKey> = (0..200_000).map(uuid_like).collect();
    let ledger = prefilled(
        MemoryStore::DEFAULT_CAPACITY,
        MemoryStore::DEFAULT_CAPACITY,
        now,
    );
    let mut next = 0usize;
    group.bench_function("claim_complete_evicting", |b| {
        b.iter(|| {
            // 200 000 keys in a store of 100 000: a key has been evicted before its next turn.
            let key = &fresh[next % fresh.len()];
            next += 1;
            let Ok(Claim::Acquired(token)) = ledger.claim(key, now, LEASE) else {
                unreachable!()
            };
            ledger.complete(key, token, now, DEFAULT_RETENTION).unwrap();
        })
    });

    // A duplicate: the key is done.
    let ledger = prefilled(MemoryStore::DEFAULT_CAPACITY, 10_000, now);
    let key = IdempotencyKey::new("seed-00005000");
    group.bench_function("claim_duplicate", |b| {
        b.iter(|| ledger.claim(black_box(&key), now, LEASE))
    });
    group.finish();
}

criterion_group!(benches, pipeline, ledger);
criterion_main!(benches);

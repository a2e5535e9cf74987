//! The receiver's hot path, side by side with the core's verdict alone as the baseline:
//! `runhook::receive` (checks and parse) vs `Receiver::receive` (plus claim, handler task,
//! complete) vs `Receiver::receive_body` (plus the body read within the limit, timeout and
//! budget), and a duplicate.
//!
//! Run: `cargo bench -p runhook-receiver --bench receiver`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

use std::hint::black_box;
use std::time::Duration;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body_util::Full;
use runhook::HandlerOutcome;
use runhook::receive::{RequestChecks, Verdict, receive};
use runhook_receiver::{Receiver, ReceiverConfig, handler_fn};

/// The documented `run.completed` payload.
const DOCS_COMPLETED: &[u8] = include_bytes!("../../../fixtures/valid/01-docs-run-completed.json");

fn receiver_path(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let uri = Uri::from_static("/webhooks/tinyfish");
    let body = Bytes::from_static(DOCS_COMPLETED);
    // Keys expire at once, so every delivery of the one payload is processed anew.
    let processing = Receiver::builder(handler_fn(|_event| async { HandlerOutcome::Ok }))
        .config(ReceiverConfig::default().with_retention(Duration::from_nanos(1)))
        .build()
        .unwrap();
    let remembering = Receiver::new(handler_fn(|_event| async { HandlerOutcome::Ok }));
    let config = RequestChecks::default();
    assert!(matches!(
        receive(&Method::POST, &uri, &headers, DOCS_COMPLETED, &config),
        Verdict::Accept(_)
    ));
    let first = runtime.block_on(remembering.receive(&Method::POST, &uri, &headers, body.clone()));
    assert_eq!(first.status, 200);

    let mut group = c.benchmark_group("receiver");
    group.throughput(Throughput::Bytes(DOCS_COMPLETED.len() as u64));
    group.bench_function("baseline_core_receive", |b| {
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
    group.bench_function("receive_processed", |b| {
        b.iter(|| {
            let response =
                runtime.block_on(processing.receive(&Method::POST, &uri, &headers, body.clone()));
            assert_eq!(response.status, 200);
            response
        })
    });
    group.bench_function("receive_body_processed", |b| {
        b.iter(|| {
            let response = runtime.block_on(processing.receive_body(
                &Method::POST,
                &uri,
                &headers,
                Full::new(body.clone()),
            ));
            assert_eq!(response.status, 200);
            response
        })
    });
    group.bench_function("receive_duplicate", |b| {
        b.iter(|| {
            runtime.block_on(remembering.receive(&Method::POST, &uri, &headers, body.clone()))
        })
    });
    group.finish();
}

criterion_group!(benches, receiver_path);
criterion_main!(benches);

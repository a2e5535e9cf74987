//! Parsing a webhook body into the typed event (strict, and lenient with the repeated-key check),
//! side by side with `serde_json::Value`.
//!
//! Run: `cargo bench -p runhook --bench parse`

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use runhook::Event;
use serde_json::{Value, json};
use std::hint::black_box;

/// The documented `run.completed` payload (TinyFish webhook docs), verbatim.
const DOCS_COMPLETED: &str = include_str!("../../../fixtures/valid/01-docs-run-completed.json");

/// A completed run with 200 steps.
fn two_hundred_steps() -> Vec<u8> {
    let steps: Vec<Value> = (0..200)
        .map(|i| {
            json!({
                "id": format!("09de224d-fb2b-45b7-b067-{i:012}"),
                "timestamp": format!("2026-03-25T10:{:02}:{:02}Z", 30 + i / 60, i % 60),
                "status": "RUNNING",
                "action": format!("Click the link number {i} on https://example.com/catalogue"),
                "screenshot": null,
                "duration": "1.2s"
            })
        })
        .collect();
    let body = json!({
        "event": "run.completed",
        "run_id": "4562765d-156e-4c47-b217-55b3ec4a9720",
        "status": "COMPLETED",
        "data": {
            "run_id": "4562765d-156e-4c47-b217-55b3ec4a9720",
            "status": "COMPLETED",
            "goal": "Walk the catalogue and extract every product",
            "created_at": "2026-03-25T10:30:00Z",
            "started_at": "2026-03-25T10:30:05Z",
            "finished_at": "2026-03-25T10:34:45Z",
            "num_of_steps": 200,
            "result": { "products": 200 },
            "error": null,
            "steps": steps
        }
    });
    serde_json::to_vec(&body).expect("serializable")
}

fn parse(c: &mut Criterion) {
    let payloads = [
        ("docs_completed", DOCS_COMPLETED.as_bytes().to_vec()),
        ("200_steps", two_hundred_steps()),
    ];
    let mut group = c.benchmark_group("parse");
    for (name, bytes) in &payloads {
        assert!(Event::from_slice(bytes).is_ok(), "{name} must parse");
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_with_input(BenchmarkId::new("typed_event", name), bytes, |b, bytes| {
            b.iter(|| Event::from_slice(black_box(bytes)))
        });
        // The receiver's default parse: typed, plus the repeated-key check.
        assert!(
            Event::from_slice_lenient(bytes)
                .unwrap()
                .drift_problems()
                .is_empty()
        );
        group.bench_with_input(
            BenchmarkId::new("lenient_checked", name),
            bytes,
            |b, bytes| b.iter(|| Event::from_slice_lenient(black_box(bytes))),
        );
        group.bench_with_input(
            BenchmarkId::new("serde_json_value", name),
            bytes,
            |b, bytes| b.iter(|| serde_json::from_slice::<Value>(black_box(bytes))),
        );
    }
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);

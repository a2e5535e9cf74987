//! `GET /v1/runs` after 20 000 runs: a page of 1 and of 100, newest first, a status filter, and
//! a cursor deep in the list, from the runs in memory and from a SQLite store. Real HTTP on
//! 127.0.0.1 (one keep-alive connection), so each figure includes the request's round trip.
//! The target: under 50 ms for `limit=1`.
//!
//! Run: `cargo bench -p runhook-emulator --bench list`

#![allow(clippy::unwrap_used, clippy::expect_used)] // bench code: a panic is a failure report

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use runhook_emulator::{Emulator, EmulatorConfig, StoreConfig};
use serde_json::{Value, json};

const RUNS: usize = 20_000;
const KEY: &str = "sk-bench";

/// An emulator holding `RUNS` runs (finished ones and failed ones), and a client.
async fn emulator(store: StoreConfig) -> (Emulator, reqwest::Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = EmulatorConfig::new([KEY])
        .speed(1_000_000.0)
        .max_runs(RUNS)
        .store(store);
    let emulator = Emulator::start(config, listener).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    for batch in 0..RUNS / 100 {
        let runs: Vec<Value> = (0..100)
            .map(|i| {
                let goal = if i % 10 == 0 {
                    format!("Book a flight #{batch}/{i} [fail]")
                } else {
                    format!("Extract the page title #{batch}/{i}")
                };
                json!({"url": "https://example.com", "goal": goal})
            })
            .collect();
        let response = client
            .post(format!("{}/v1/automation/run-batch", emulator.base_url()))
            .header("x-api-key", KEY)
            .json(&json!({"runs": runs}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    // Let the runs finish (1 000 000 times faster than scripted).
    tokio::time::sleep(Duration::from_secs(2)).await;
    (emulator, client)
}

async fn list(emulator: &Emulator, client: &reqwest::Client, query: &str) -> Value {
    let response = client
        .get(format!("{}/v1/runs?{query}", emulator.base_url()))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn lists(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sqlite =
        StoreConfig::parse(&format!("sqlite:{}", dir.path().join("runs.db").display())).unwrap();
    for (name, store) in [("memory", StoreConfig::Memory), ("sqlite", sqlite)] {
        let (emulator, client) = runtime.block_on(emulator(store));
        let first = runtime.block_on(list(&emulator, &client, "limit=1"));
        assert_eq!(first["pagination"]["total"], RUNS);
        // A cursor halfway down the list.
        let middle = runtime.block_on(list(&emulator, &client, "limit=100&sort_direction=asc"));
        let mut cursor = middle["pagination"]["next_cursor"]
            .as_str()
            .unwrap()
            .to_owned();
        for _ in 0..RUNS / 200 - 1 {
            let page = runtime.block_on(list(
                &emulator,
                &client,
                &format!("limit=100&sort_direction=asc&cursor={cursor}"),
            ));
            cursor = page["pagination"]["next_cursor"]
                .as_str()
                .unwrap()
                .to_owned();
        }
        let mut group = c.benchmark_group(format!("list_20000_runs/{name}"));
        for (label, query) in [
            ("limit=1", "limit=1".to_owned()),
            ("limit=100", "limit=100".to_owned()),
            ("status=FAILED&limit=1", "status=FAILED&limit=1".to_owned()),
            ("cursor_mid&limit=20", format!("cursor={cursor}")),
            ("goal&limit=1", "goal=flight&limit=1".to_owned()),
        ] {
            group.bench_function(label, |b| {
                b.iter(|| runtime.block_on(list(&emulator, &client, &query)));
            });
        }
        group.finish();
        runtime.block_on(emulator.shutdown());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = lists
}
criterion_main!(benches);

//! Dispatcher benchmarks (a plain bench binary; see `benches/README.md` and
//! `cargo xtask bench --only dispatch`).
//!
//! ```text
//! cargo bench -p runhook-dispatch --bench dispatch                 # throughput + memory
//! cargo bench -p runhook-dispatch --bench dispatch -- throughput [--target URL] [--deliveries N]
//! cargo bench -p runhook-dispatch --bench dispatch -- memory [--deliveries N]
//! cargo bench -p runhook-dispatch --bench dispatch -- reqwest [--target URL] [--deliveries N]
//! cargo bench -p runhook-dispatch --bench dispatch -- serve [--addr 127.0.0.1:PORT] [--workers N]
//! ```
//!
//! - `throughput`: deliveries per second to a receiver that answers 200 at once: the in-process
//!   receiver (on its own runtime thread), or `--target` (e.g. a `serve` process that a plain
//!   load generator such as wrk also hits).
//! - `memory`: bytes held per pending retry. N deliveries go to a receiver that always answers
//!   503 under a policy whose first wait is an hour, so after the first attempts every delivery
//!   is pending in the timer queue; a counting global allocator measures what they hold, beyond
//!   the one shared payload.
//! - `reqwest`: the same requests from 64 tasks looping over a bare `reqwest::Client`, to tell
//!   the dispatcher's own cost from the HTTP client's.
//! - `serve`: only the receiver, until killed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use cap::Cap;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use runhook::delivery::{AttemptResult, Delivery};
use runhook::{AddressPolicy, RetryPolicy};
use runhook_dispatch::{DeliveryHandle, DispatcherBuilder};
use tokio::sync::broadcast::error::RecvError;

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

const PAYLOAD: &[u8] = include_bytes!("../../../fixtures/valid/01-docs-run-completed.json");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let option = |name: &str| {
        args.iter()
            .position(|arg| arg == name)
            .and_then(|at| args.get(at + 1))
            .cloned()
    };
    let deliveries = option("--deliveries").map(|n| n.parse::<usize>().expect("--deliveries N"));
    let mode = args
        .iter()
        .find(|arg| !arg.starts_with("--") && !arg.contains(['.', ':', '/']));
    match mode.map(String::as_str) {
        Some("throughput") => throughput(option("--target"), deliveries.unwrap_or(50_000)),
        Some("memory") => memory(deliveries.unwrap_or(100_000)),
        Some("reqwest") => plain_reqwest(option("--target"), deliveries.unwrap_or(50_000)),
        Some("serve") => serve(
            option("--addr").unwrap_or_else(|| "127.0.0.1:8099".to_owned()),
            option("--workers").map_or(1, |n| n.parse().expect("--workers N")),
        ),
        Some(other) => panic!("unknown mode {other:?}: throughput, memory or serve"),
        None if args.iter().any(|arg| arg == "--bench") => {
            throughput(None, deliveries.unwrap_or(50_000));
            memory(deliveries.unwrap_or(100_000));
        }
        // `cargo test --benches` runs this binary without `--bench`: nothing to measure.
        None => {}
    }
}

/// A receiver that answers `status` with `{}` at once, on `listener`.
async fn receive(listener: tokio::net::TcpListener, status: u16) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let service = service_fn(move |_request: Request<hyper::body::Incoming>| async move {
                let mut response = Response::new(Full::new(Bytes::from_static(b"{}")));
                *response.status_mut() = StatusCode::from_u16(status).unwrap();
                Ok::<_, Infallible>(response)
            });
            let _ = auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Starts a receiver on its own runtime thread; returns its address.
fn spawn_receiver(status: u16) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            receive(listener, status).await;
        });
    });
    rx.recv().unwrap()
}

fn serve(addr: String, workers: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        println!(
            "serving 200 on http://{}/hook",
            listener.local_addr().unwrap()
        );
        receive(listener, 200).await;
    });
}

fn local() -> DispatcherBuilder {
    DispatcherBuilder::new().address_policy(AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    })
}

fn throughput(target: Option<String>, deliveries: usize) {
    let url = target.unwrap_or_else(|| format!("http://{}/hook", spawn_receiver(200)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dispatcher = local()
            .max_in_flight(64)
            .max_per_host(64)
            .max_pending(deliveries.max(1_000))
            .build()
            .unwrap();
        let body = Bytes::from_static(PAYLOAD);
        // Warm up: open the connections.
        let warm: Vec<_> = (0..1_000)
            .map(|_| dispatcher.submit(&url, body.clone(), RetryPolicy::tinyfish()).unwrap())
            .collect();
        for handle in warm {
            assert!(handle.outcome().await.is_delivered());
        }
        let started = Instant::now();
        let handles: Vec<_> = (0..deliveries)
            .map(|_| dispatcher.submit(&url, body.clone(), RetryPolicy::tinyfish()).unwrap())
            .collect();
        let mut delivered = 0usize;
        for handle in handles {
            delivered += usize::from(handle.outcome().await.is_delivered());
        }
        let elapsed = started.elapsed();
        assert_eq!(delivered, deliveries);
        println!(
            "throughput: {deliveries} deliveries of {} bytes to {url} in {:.2} s = {:.0} deliveries/s \
             (64 in flight, 1 dispatcher worker thread)",
            PAYLOAD.len(),
            elapsed.as_secs_f64(),
            deliveries as f64 / elapsed.as_secs_f64()
        );
        dispatcher.shutdown(Duration::ZERO).await;
    });
}

fn plain_reqwest(target: Option<String>, deliveries: usize) {
    let url = target.unwrap_or_else(|| format!("http://{}/hook", spawn_receiver(200)));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .unwrap();
        let body = Bytes::from_static(PAYLOAD);
        let run = |count: usize| {
            let mut tasks = tokio::task::JoinSet::new();
            for worker in 0..64 {
                let (client, url, body) = (client.clone(), url.clone(), body.clone());
                let share = count / 64 + usize::from(worker < count % 64);
                tasks.spawn(async move {
                    for _ in 0..share {
                        let mut response = client
                            .post(&url)
                            .header("content-type", "application/json")
                            .body(body.clone())
                            .send()
                            .await
                            .unwrap();
                        assert!(response.status().is_success());
                        while response.chunk().await.unwrap().is_some() {}
                    }
                });
            }
            tasks.join_all()
        };
        run(1_000).await;
        let started = Instant::now();
        run(deliveries).await;
        let elapsed = started.elapsed();
        println!(
            "reqwest alone: {deliveries} POSTs to {url} in {:.2} s = {:.0} requests/s \
             (64 tasks, 1 worker thread)",
            elapsed.as_secs_f64(),
            deliveries as f64 / elapsed.as_secs_f64()
        );
    });
}

fn memory(deliveries: usize) {
    core_delivery_memory(deliveries);
    let addr = spawn_receiver(503);
    let url = format!("http://{addr}/hook");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let dispatcher = local()
            .max_in_flight(64)
            .max_per_host(64)
            .max_pending(deliveries + 1_000)
            .report_capacity(64)
            .build()
            .unwrap();
        let hour = Duration::from_secs(3600);
        let policy = RetryPolicy::builder()
            .attempts(4)
            .schedule([hour, hour, hour])
            .build()
            .unwrap();
        let body = Bytes::from_static(PAYLOAD).to_vec();
        let body = Bytes::from(body); // one heap copy, shared by every delivery
        let mut reports = dispatcher.subscribe();

        // Warm up (connections, buffers), then measure from a steady state.
        let warm: Vec<DeliveryHandle> = (0..1_000)
            .map(|_| dispatcher.submit(&url, body.clone(), policy.clone()).unwrap())
            .collect();
        first_attempts(&mut reports, warm.len()).await;
        tokio::time::sleep(Duration::from_millis(200)).await;

        let before = ALLOCATOR.allocated();
        let started = Instant::now();
        let mut handles: Vec<DeliveryHandle> = Vec::with_capacity(deliveries);
        for _ in 0..deliveries {
            handles.push(dispatcher.submit(&url, body.clone(), policy.clone()).unwrap());
        }
        first_attempts(&mut reports, deliveries).await;
        let first_attempts_took = started.elapsed();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let after = ALLOCATOR.allocated();
        let handles_vec = handles.capacity() * std::mem::size_of::<DeliveryHandle>();
        let held = after.saturating_sub(before);
        println!(
            "memory: {deliveries} pending retries hold {:.1} MiB: {:.0} bytes each \
             ({:.0} without the caller's Vec<DeliveryHandle>); payload {} bytes shared, not counted; \
             first attempts took {:.2} s",
            held as f64 / (1024.0 * 1024.0),
            held as f64 / deliveries as f64,
            held.saturating_sub(handles_vec) as f64 / deliveries as f64,
            PAYLOAD.len(),
            first_attempts_took.as_secs_f64(),
        );
        drop(handles);
        drop(warm);
        dispatcher.shutdown(Duration::ZERO).await;
    });
}

/// Waits until `count` first attempts have been reported (lagged reports count too).
async fn first_attempts(
    reports: &mut tokio::sync::broadcast::Receiver<runhook_dispatch::AttemptReport>,
    count: usize,
) {
    let mut seen = 0usize;
    while seen < count {
        match reports.recv().await {
            Ok(report) => {
                assert_eq!(report.status, Some(503));
                seen += 1;
            }
            Err(RecvError::Lagged(missed)) => seen += usize::try_from(missed).unwrap(),
            Err(RecvError::Closed) => panic!("the dispatcher stopped"),
        }
    }
}

/// For comparison: the core's state machine alone, after one 503, waiting for its retry.
fn core_delivery_memory(deliveries: usize) {
    let now = Instant::now();
    let before = ALLOCATOR.allocated();
    let mut all = Vec::with_capacity(deliveries);
    for seed in 0..deliveries {
        let mut delivery = Delivery::with_seed(RetryPolicy::tinyfish(), seed as u64, now);
        let _ = delivery.poll_action(now);
        delivery.handle_result(now, AttemptResult::status(503));
        let _ = delivery.poll_action(now);
        all.push(delivery);
    }
    let held = ALLOCATOR.allocated() - before;
    println!(
        "memory: the core's Delivery alone (tinyfish policy, one 503 handled): {:.0} bytes each \
         ({} inline)",
        held as f64 / deliveries as f64,
        std::mem::size_of::<Delivery>()
    );
    drop(all);
}

//! Test helpers (feature `testing`): [`post_event`] and [`post_bytes`] post to a receiver
//! in-process, for the tests of your own handlers; and the conformance suite every adapter runs
//! over real HTTP.
//!
//! One table of cases, [`fixtures/vectors/receive.json`], each a sequence of requests with the
//! status expected for each, the handler calls expected and the idempotency store afterwards:
//! every row of docs/protocol.md §4.3, the documented examples, content types, methods, the body
//! limit, hostile bodies, duplicates (sequential and concurrent), handler retries, rejections and
//! panics, the deadline and a failing store.
//!
//! [`attacks`] holds hostile clients (slowloris, stalled bodies, h2c streams, SIGTERM) to run
//! against a server in a process of its own.
//!
//! [`run_confirmer_suite`] checks a [`RunConfirmer`](crate::RunConfirmer) (confirm by API): its
//! answers, and a receiver confirming with it.
//!
//! An adapter implements [`HttpIntegration`] in a test and calls [`run_conformance_suite`]; the
//! suite builds a fresh [`Receiver`](crate::Receiver) per case (scripted handler, chosen store),
//! asks the integration to serve it on 127.0.0.1, and talks to it with a plain HTTP/1.1 client.
//!
//! [`fixtures/vectors/receive.json`]: https://github.com/runhook/runhook/blob/main/fixtures/vectors/receive.json

pub mod attacks;
mod client;
mod confirm;
mod harness;
mod integration;
mod load;
mod post;
mod suite;
mod vectors;

pub use confirm::run_confirmer_suite;
pub use integration::{HttpIntegration, TestServer};
pub use load::{Shutdown, run_load_bench};
pub use post::{TEST_PATH, TestResponse, post_bytes, post_event, webhook_request};

/// The names of the cases, in the order they run.
pub fn case_names() -> Vec<String> {
    match vectors::cases() {
        Ok(cases) => cases.into_iter().map(|case| case.name).collect(),
        Err(problem) => panic!("{problem}"),
    }
}

/// Runs every case against `I`, then panics with the list of failed cases and their problems,
/// if any. Call it from a `#[tokio::test(flavor = "multi_thread")]`.
pub async fn run_conformance_suite<I: HttpIntegration>() {
    let cases = match vectors::cases() {
        Ok(cases) => cases,
        Err(problem) => panic!("{problem}"),
    };
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(problems) = suite::run_case::<I>(case).await {
            failures.push(format!("  {}:\n    {}", case.name, problems.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} receive conformance cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    println!("receive conformance: all {} cases hold", cases.len());
}

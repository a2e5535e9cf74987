//! The integration tests of `runhook-receiver` in one test binary, so that they link once:
//! one module per area. A new test file goes in this folder, declared below: a file directly in
//! `tests/` would be a test binary of its own, linked on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

// Helpers shared by the modules below.
mod inbox_support;
mod support;

mod confirm;
mod conformance;
mod inbox_http;
mod inbox_retries;
mod inbox_workers;
mod lease_rule;
mod limits;
mod metrics;
mod receiver;
mod recovery;
mod shutdown;

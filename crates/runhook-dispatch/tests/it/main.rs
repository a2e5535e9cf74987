//! The integration tests of `runhook-dispatch` in one test binary, so that they link once:
//! one module per area. A new test file goes in this folder, declared below: a file directly in
//! `tests/` would be a test binary of its own, linked on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

// Helpers shared by the modules below.
mod support;

mod address;
mod faults;
mod panic;
mod realtime;
mod relay;
mod schedule;
mod sender;
mod shutdown;
mod status_then_body_fault;

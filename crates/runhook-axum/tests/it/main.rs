//! The integration tests of `runhook-axum` in one test binary, so that they link once:
//! one module per area. A new test file goes in this folder, declared below: a file directly in
//! `tests/` would be a test binary of its own, linked on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod attacks;
mod conformance;
mod context;
mod extract;
mod readme;
mod testing_your_handler;

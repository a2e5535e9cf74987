//! The integration tests of `runhook-emulator` in one test binary, so that they link once:
//! one module per area. A new test file goes in this folder, declared below: a file directly in
//! `tests/` would be a test binary of its own, linked on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

// Helpers shared by the modules below.
mod support;

mod api;
mod bounds;
mod cancel;
mod clock;
mod fidelity;
mod list;
mod openapi;
mod persistence;
mod scripting;
mod sse;
mod webhooks;

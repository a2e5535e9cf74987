//! The integration tests of `runhook-cli` in one test binary, so that they link once:
//! one module per area. A new test file goes in this folder, declared below: a file directly in
//! `tests/` would be a test binary of its own, linked on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

// Helpers shared by the modules below.
mod support;

mod attacks;
mod catch_up;
mod confirm_api;
mod console;
mod console_postgres;
mod defects;
mod demo;
mod demo_console;
mod edges;
mod emulate;
mod inbox_cli;
mod listen;
mod listen_edges;
mod reconcile;
mod relay;
mod secrets;
mod send;
mod stores;
mod trigger;
mod validate;

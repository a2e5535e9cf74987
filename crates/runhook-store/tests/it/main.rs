//! The integration tests of `runhook-store` in one test binary, so that they link once:
//! one module per area. A new test file goes in this folder, declared below: a file directly in
//! `tests/` would be a test binary of its own, linked on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

// Helpers shared by the modules below.
mod support;

mod conformance;
mod exactly_once;
mod inbox_conformance;
mod inbox_migration;
mod model;
mod postgres_groups;
mod postgres_tls;
mod reconcile_conformance;
mod sqlite;
mod transactional;

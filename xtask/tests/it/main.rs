//! The integration tests of `xtask` in one test binary, so that they link once:
//! one module per area. A new test file goes in this folder, declared below: a file directly in
//! `tests/` would be a test binary of its own, linked on its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod bench;
mod check;
mod copies;

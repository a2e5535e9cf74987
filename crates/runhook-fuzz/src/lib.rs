//! The bodies of runhook's fuzz targets: what each target calls and what it asserts, written once.
//!
//! The fuzz targets under `fuzz/fuzz_targets/` (built by `cargo xtask fuzz` with libFuzzer) are
//! one line each, calling [`run`] or the function named in [`TARGETS`]; the test
//! `tests/replay.rs` runs the same functions over every seed and every committed crash input
//! (`fuzz/regressions/<target>/`), so a crash found once stays a failing test until it is fixed.
//! A body panics when an invariant breaks; a panic is what libFuzzer reports as a crash.
//! See `docs/fuzzing.md`.

mod emulator;
mod endpoint;
mod events;
mod input;
mod receive;
mod sse;
mod targets;

pub use emulator::emulator_request;
pub use endpoint::{retry_after, webhook_url};
pub use events::event;
pub use receive::{receive, url_token};
pub use sse::sse;
pub use targets::{Body, TARGETS, run};

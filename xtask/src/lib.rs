//! `cargo xtask`: the project's own checks.
//!
//! `cargo xtask check` validates every fixture against the JSON Schema and the core types, and
//! every shared vector against the core. The same checks run as `#[test]`s, so a plain
//! `cargo test --workspace` fails on a broken fixture too. It also checks that the files the
//! published crates embed are identical to their sources under `docs/` and `fixtures/`
//! ([`copies`]); `cargo xtask sync` refreshes them. `cargo xtask fuzz` builds and runs the fuzz
//! targets ([`fuzz`]), and `cargo xtask bench` runs every benchmark ([`bench`](mod@bench)).

pub mod bench;
pub mod check;
pub mod copies;
pub mod fixtures;
pub mod fuzz;
pub mod json_diff;
pub mod report;
pub mod run_time;
pub mod vectors;

pub use check::check;
pub use copies::sync;
pub use report::{Problem, Report};

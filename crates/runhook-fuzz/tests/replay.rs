//! Replays every seed and every committed crash input of each fuzz target through its body, so
//! the invariants the fuzzers check hold in a plain `cargo test`.
//!
//! How a crash input gets here: `cargo xtask fuzz` copies each input libFuzzer reports
//! (`crash-<sha1>`, `timeout-…`, `oom-…`) from `target/fuzz/artifacts/<target>/` into
//! `fuzz/regressions/<target>/` and fails. Commit the file with the fix: this test runs it from
//! then on (and fails until the bug is fixed). See docs/fuzzing.md.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use xtask::fuzz::{Seed, regressions, seeds, target_names};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs each input through the target `name`; the names of those that panicked.
fn replay(name: &str, inputs: &[Seed]) -> Vec<String> {
    inputs
        .iter()
        .filter(|input| {
            catch_unwind(AssertUnwindSafe(|| runhook_fuzz::run(name, &input.bytes))).is_err()
        })
        .map(|input| input.name.clone())
        .collect()
}

#[test]
fn every_fuzz_target_has_a_body_and_every_body_a_target() {
    let files = target_names(&root()).unwrap();
    let mut bodies: Vec<String> = runhook_fuzz::TARGETS
        .iter()
        .map(|(name, _)| (*name).to_owned())
        .collect();
    bodies.sort();
    assert_eq!(
        files, bodies,
        "fuzz/fuzz_targets/*.rs and runhook_fuzz::TARGETS differ"
    );
}

#[test]
fn the_seeds_pass_every_target() {
    for (name, _) in runhook_fuzz::TARGETS {
        let inputs = seeds(&root(), name).unwrap();
        assert!(!inputs.is_empty(), "{name} has no seed");
        let failed = replay(name, &inputs);
        assert!(failed.is_empty(), "{name}: these seeds fail: {failed:?}");
    }
}

#[test]
fn the_committed_crash_inputs_pass_every_target() {
    for (name, _) in runhook_fuzz::TARGETS {
        let inputs = regressions(&root(), name).unwrap();
        let failed = replay(name, &inputs);
        assert!(
            failed.is_empty(),
            "{name}: these inputs of fuzz/regressions/{name}/ fail: {failed:?}"
        );
    }
}

#[test]
fn a_failing_input_fails_the_replay() {
    // The body of `receive` refuses nothing by panicking; a run of an unknown target is `false`.
    assert!(!runhook_fuzz::run("no-such-target", b""));
    let broken = |data: &[u8]| assert!(data.is_empty(), "not empty");
    let caught = catch_unwind(|| broken(b"x"));
    assert!(caught.is_err());
}

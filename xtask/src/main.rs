//! `cargo xtask <command>`: see `cargo xtask help`.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <check|sync|bench> [--root DIR]

  check   validate every fixture against the JSON Schema and the core types, run the shared
          retry and inbox vectors (fixtures/vectors/) through the core, and check that the
          files the crates embed equal their sources in docs/ and fixtures/
  sync    copy those sources (docs/schema/*.json, fixtures/vectors/receive.json) into the crates
  bench   [--quick] [--only SUITE,...] [--render]: every benchmark (criterion, adapters, stores,
          peers, dispatch) into target/bench/summary.json, docs/benchmarks/*.svg,
          docs/benchmarks.md and README.md's performance line; needs wrk (apt-get install wrk)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = match args.iter().position(|a| a == "--root") {
        Some(i) => match args.get(i + 1) {
            Some(dir) => PathBuf::from(dir),
            None => return usage_error("--root needs a directory"),
        },
        None => workspace_root(),
    };
    match args.first().map(String::as_str) {
        Some("check") => run_check(&root),
        Some("sync") => run_sync(&root),
        Some("bench") => match xtask::bench::cli(&root, &args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Some("help" | "--help" | "-h") => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => usage_error(&format!("unknown command {other:?}")),
        None => usage_error("no command given"),
    }
}

fn run_check(root: &std::path::Path) -> ExitCode {
    let report = xtask::check(root);
    for problem in &report.problems {
        eprintln!("error: {problem}");
    }
    println!(
        "xtask check: {} valid and {} invalid fixtures, {} retry and {} inbox vectors, {} problem(s)",
        report.valid_fixtures,
        report.invalid_fixtures,
        report.retry_vectors,
        report.inbox_vectors,
        report.problems.len()
    );
    if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run_sync(root: &std::path::Path) -> ExitCode {
    match xtask::sync(root) {
        Ok(changed) if changed.is_empty() => {
            println!("xtask sync: every copy is up to date");
            ExitCode::SUCCESS
        }
        Ok(changed) => {
            for copy in changed {
                println!("updated {copy}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("error: {message}\n\n{USAGE}");
    ExitCode::from(2)
}

/// The workspace root: the parent of this crate's manifest directory.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

//! `cargo xtask <command>`: see `cargo xtask help`.

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <check|sync|bench> [--root DIR]
       cargo xtask fuzz [--seconds N] [--target NAME]... [--jobs N] [--root DIR]

  check   validate every fixture against the JSON Schema and the core types, run the shared
          retry and inbox vectors (fixtures/vectors/) through the core, and check that the
          files the crates embed equal their sources in docs/ and fixtures/
  sync    copy those sources (docs/schema/*.json, fixtures/vectors/receive.json) into the crates
  fuzz    build the fuzz targets of fuzz/ and run each for N seconds (default 30), --jobs at a
          time (default 2); every target unless --target names some. libFuzzer comes from the
          libfuzzer-sys crate, which compiles it from its C++ sources with the system's C++
          compiler; the targets are built on the stable toolchain with the coverage flags
          cargo-fuzz passes and no sanitizer, under target/fuzz. A crashing input is copied to
          fuzz/regressions/<target>/ (commit it: cargo test replays it) and the command fails.
          See docs/fuzzing.md
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
        Some("fuzz") => run_fuzz(&root, &without_root(&args[1..])),
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

fn run_fuzz(root: &std::path::Path, args: &[String]) -> ExitCode {
    let options = match xtask::fuzz::Options::parse(args) {
        Ok(options) => options,
        Err(message) => return usage_error(&message),
    };
    let reports = match xtask::fuzz::fuzz(root, &options) {
        Ok(reports) => reports,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::FAILURE;
        }
    };
    let (mut execs, mut crashes, mut failed) = (0, 0, 0);
    for report in &reports {
        let stats = &report.stats;
        println!(
            "fuzz {:<17} {:>10} execs  cov {:>6}  ft {:>6}  corpus {:>5}  crashes {}",
            report.name,
            stats.execs,
            stats.cov,
            stats.ft,
            stats.corpus,
            report.crashes.len()
        );
        for crash in &report.crashes {
            println!("  crash: {} ({})", crash.display(), report.log.display());
        }
        if let Some(panic) = &stats.panic {
            println!("  {panic}");
        }
        if let Some(failure) = &report.failure {
            println!("  failed: {failure} ({})", report.log.display());
        }
        execs += stats.execs;
        crashes += report.crashes.len();
        failed += usize::from(!report.is_clean());
    }
    println!(
        "xtask fuzz: {} target(s), {} s each, {execs} execs, {crashes} crash(es), {failed} target(s) failed",
        reports.len(),
        options.seconds
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        if crashes > 0 {
            println!(
                "the crashing inputs are in fuzz/regressions/: commit them with the fix \
                 (cargo test -p runhook-fuzz replays them)"
            );
        }
        ExitCode::FAILURE
    }
}

/// `args` without `--root DIR`.
fn without_root(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if arg == "--root" {
            args.next();
        } else {
            out.push(arg.clone());
        }
    }
    out
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

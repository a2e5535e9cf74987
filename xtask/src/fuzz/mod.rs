//! `cargo xtask fuzz`: builds the fuzz targets of `fuzz/` for libFuzzer on the stable toolchain
//! ([`libfuzzer`] says how) and runs each for a while, two at a time; a crash is copied into
//! `fuzz/regressions/<target>/`, where the replay test of crates/runhook-fuzz runs it from then
//! on. See docs/fuzzing.md.

pub mod libfuzzer;
mod process;
pub mod seeds;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use seeds::{Seed, regressions, seeds};

use process::{Job, run_bounded, run_pool};

/// How long the build may take before it is stopped.
const BUILD_TIMEOUT: Duration = Duration::from_secs(45 * 60);

/// How much longer than `--seconds` a target may run (loading its corpus, writing a crash)
/// before it is stopped.
const RUN_MARGIN: Duration = Duration::from_secs(60);

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How long each target runs.
    pub seconds: u64,
    /// The targets to run (all when empty).
    pub targets: Vec<String>,
    /// How many targets run at once.
    pub jobs: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seconds: 30,
            targets: Vec::new(),
            jobs: 2,
        }
    }
}

impl Options {
    /// Reads `--seconds N`, `--target NAME` (repeatable) and `--jobs N`.
    pub fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Options::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match arg.as_str() {
                "--seconds" => {
                    options.seconds = positive(&value("--seconds")?, "--seconds")?;
                }
                "--jobs" => options.jobs = positive(&value("--jobs")?, "--jobs")? as usize,
                "--target" => options.targets.push(value("--target")?),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(options)
    }
}

fn positive(text: &str, name: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("{name} takes a whole number above 0, not {text:?}")),
    }
}

/// The fuzz targets: the files `fuzz/fuzz_targets/<name>.rs`, sorted.
pub fn target_names(root: &Path) -> io::Result<Vec<String>> {
    let mut names: Vec<String> = fs::read_dir(root.join("fuzz/fuzz_targets"))?
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "rs").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    Ok(names)
}

/// What one target's run found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetReport {
    /// The target.
    pub name: String,
    /// libFuzzer's figures.
    pub stats: libfuzzer::Stats,
    /// The failing inputs, as copied into `fuzz/regressions/<target>/`.
    pub crashes: Vec<PathBuf>,
    /// Why the run failed without a failing input (it overran, or could not start), if it did.
    pub failure: Option<String>,
    /// libFuzzer's output.
    pub log: PathBuf,
}

impl TargetReport {
    /// Whether the run found nothing wrong.
    pub fn is_clean(&self) -> bool {
        self.crashes.is_empty() && self.failure.is_none()
    }
}

/// Builds the targets and runs each for `options.seconds`; the reports in target order.
pub fn fuzz(root: &Path, options: &Options) -> Result<Vec<TargetReport>, String> {
    let all = target_names(root).map_err(|e| format!("cannot list fuzz/fuzz_targets: {e}"))?;
    let chosen = if options.targets.is_empty() {
        all.clone()
    } else {
        options.targets.clone()
    };
    if let Some(unknown) = chosen.iter().find(|name| !all.contains(name)) {
        return Err(format!(
            "no fuzz target {unknown:?}; the targets are: {}",
            all.join(", ")
        ));
    }
    // The workspace's target directory (`CARGO_TARGET_DIR` if set), in its own `fuzz/` folder.
    let work = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir).join("fuzz"),
        _ => root.join("target/fuzz"),
    };
    let work = std::path::absolute(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let binaries = build(root, &work, &chosen)?;
    let mut jobs = Vec::new();
    for (name, binary) in chosen.iter().zip(binaries) {
        jobs.push(prepare(root, &work, name, binary, options.seconds)?);
    }
    let limit = Duration::from_secs(options.seconds) + RUN_MARGIN;
    let outcomes = run_pool(jobs, options.jobs, limit);
    outcomes
        .into_iter()
        .map(|(job, outcome)| report(root, job, outcome))
        .collect()
}

/// Builds the chosen targets in release mode with the coverage flags; their binaries.
fn build(root: &Path, work: &Path, targets: &[String]) -> Result<Vec<PathBuf>, String> {
    let host = host_triple()?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command
        .current_dir(root.join("fuzz"))
        .args(["build", "--release", "--manifest-path", "Cargo.toml"])
        .arg("--target-dir")
        .arg(work)
        // With an explicit target, the flags reach the targets' code only, not build scripts or
        // proc macros (which would need libFuzzer's symbols).
        .args(["--target", &host])
        .env("RUSTFLAGS", libfuzzer::RUSTFLAGS.join(" "))
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET");
    for target in targets {
        command.args(["--bin", target]);
    }
    println!(
        "xtask fuzz: building {} target(s) with libFuzzer (libfuzzer-sys compiles it from its C++ sources)",
        targets.len()
    );
    match run_bounded(&mut command, BUILD_TIMEOUT) {
        Ok(status) if status.success() => {}
        Ok(status) => return Err(format!("the fuzz build failed ({status})")),
        Err(error) => return Err(format!("the fuzz build did not finish: {error}")),
    }
    let dir = work.join(&host).join("release");
    Ok(targets.iter().map(|name| dir.join(name)).collect())
}

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = std::process::Command::new(rustc)
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| "rustc -vV names no host".to_owned())
}

/// Writes the seeds of `name`, empties its artifacts folder, and makes its libFuzzer command.
fn prepare(
    root: &Path,
    work: &Path,
    name: &str,
    binary: PathBuf,
    seconds: u64,
) -> Result<Job, String> {
    let io = |e: io::Error| format!("{name}: {e}");
    let corpus = work.join("corpus").join(name);
    let seed_dir = work.join("seeds").join(name);
    let artifacts = work.join("artifacts").join(name);
    let logs = work.join("logs");
    for dir in [&seed_dir, &artifacts] {
        if dir.exists() {
            fs::remove_dir_all(dir).map_err(io)?;
        }
    }
    for dir in [&corpus, &seed_dir, &artifacts, &logs] {
        fs::create_dir_all(dir).map_err(io)?;
    }
    for seed in seeds(root, name).map_err(io)? {
        fs::write(seed_dir.join(&seed.name), &seed.bytes).map_err(io)?;
    }
    let mut command = std::process::Command::new(binary);
    command
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={}", libfuzzer::MAX_LEN))
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        // New inputs go to the first folder (under target/, never committed); the seeds are read.
        .arg(&corpus)
        .arg(&seed_dir);
    Ok(Job {
        name: name.to_owned(),
        command,
        log: logs.join(format!("{name}.log")),
        artifacts,
    })
}

/// Reads a finished run: its figures, and its failing inputs copied into `fuzz/regressions/`.
fn report(
    root: &Path,
    job: Job,
    outcome: Result<std::process::ExitStatus, String>,
) -> Result<TargetReport, String> {
    let log_text = fs::read(&job.log).unwrap_or_default();
    let stats = libfuzzer::parse(&String::from_utf8_lossy(&log_text));
    let mut crashes = Vec::new();
    let mut found: Vec<PathBuf> = fs::read_dir(&job.artifacts)
        .map_err(|e| format!("{}: {e}", job.name))?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| {
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            libfuzzer::ARTIFACT_PREFIXES
                .iter()
                .any(|p| name.starts_with(p))
        })
        .collect();
    found.sort();
    if !found.is_empty() {
        let dir = root.join("fuzz/regressions").join(&job.name);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", job.name))?;
        for artifact in found {
            let to = dir.join(artifact.file_name().unwrap_or_default());
            fs::copy(&artifact, &to).map_err(|e| format!("{}: {e}", job.name))?;
            crashes.push(to.strip_prefix(root).map(Path::to_path_buf).unwrap_or(to));
        }
    }
    let failure = match outcome {
        Ok(status) if status.success() || !crashes.is_empty() => None,
        Ok(status) => Some(format!("libFuzzer exited with {status} and left no input")),
        Err(why) => Some(why),
    };
    Ok(TargetReport {
        name: job.name,
        stats,
        crashes,
        failure,
        log: job.log,
    })
}

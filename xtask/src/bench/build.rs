//! One release build (the `bench` profile) of every benchmark binary, `runhook` and this xtask
//! (its fixed-rate load generator), in one cargo invocation so features unify once. Without debug
//! info (`CARGO_PROFILE_BENCH_DEBUG=false`): no figure needs it, and it is most of the link time.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// The packages built, each with every bench target and binary.
const PACKAGES: [&str; 8] = [
    "runhook",
    "runhook-store",
    "runhook-axum",
    "runhook-warp",
    "runhook-poem",
    "runhook-cli",
    "runhook-dispatch",
    "xtask",
];

/// The built executables, by `package/target` (`runhook-cli/runhook`, `runhook/parse`, …).
#[derive(Debug, Default)]
pub struct Executables {
    by_name: BTreeMap<String, PathBuf>,
}

impl Executables {
    /// The executable of `package/target`.
    pub fn get(&self, name: &str) -> Result<&Path> {
        self.by_name
            .get(name)
            .map(PathBuf::as_path)
            .with_context(|| format!("{name} was not built"))
    }
}

/// `cargo build --profile bench --benches --bins -p …`; the executables it produced.
pub fn build(root: &Path) -> Result<Executables> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned()));
    command
        .current_dir(root)
        .env("CARGO_PROFILE_BENCH_DEBUG", "false")
        .args(["build", "--profile", "bench", "--benches", "--bins"])
        .args(["--message-format", "json-render-diagnostics"])
        .args([
            "--features",
            "runhook-store/postgres,runhook-store/redis,runhook-store/sqlite",
        ])
        .stderr(Stdio::inherit());
    for package in PACKAGES {
        command.args(["-p", package]);
    }
    eprintln!("bench: building every benchmark in the bench profile (release + debug info)");
    let out = command.output().context("running cargo build")?;
    if !out.status.success() {
        bail!("the benchmarks did not build");
    }
    let mut executables = Executables::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let (Some(exe), Some(target), Some(package)) = (
            message["executable"].as_str(),
            message["target"]["name"].as_str(),
            message["package_id"].as_str(),
        ) else {
            continue;
        };
        executables
            .by_name
            .insert(format!("{}/{target}", package_name(package)), exe.into());
    }
    Ok(executables)
}

/// The name in a package id: `path+file:///…/crates/runhook-cli#0.1.0` (the directory; every
/// workspace crate's directory is its name) or `registry+…#name@version`.
fn package_name(id: &str) -> &str {
    let before_hash = id.split('#').next().unwrap_or(id);
    let after_hash = id.split('#').nth(1).unwrap_or("");
    match after_hash.split_once('@') {
        Some((name, _)) => name,
        None => before_hash.rsplit('/').next().unwrap_or(before_hash),
    }
}

#[cfg(test)]
mod tests {
    use super::package_name;

    #[test]
    fn package_ids_name_their_package() {
        assert_eq!(
            package_name("path+file:///w/crates/runhook-cli#0.1.0"),
            "runhook-cli"
        );
        assert_eq!(package_name("path+file:///w/xtask#xtask@0.0.0"), "xtask");
    }
}

//! The criterion benches: run from their built executables, read back from
//! `<home>/<group>/<bench>/new/estimates.json`.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};

use super::process::output;

/// Runs a criterion bench executable (`--bench`, filtered), its data under `home`.
pub fn run(exe: &Path, home: &Path, filter: Option<&str>, quick: bool) -> Result<()> {
    let mut command = Command::new(exe);
    command.env("CRITERION_HOME", home).arg("--bench");
    if quick {
        command.args([
            "--warm-up-time",
            "0.5",
            "--measurement-time",
            "1",
            "--sample-size",
            "10",
        ]);
    }
    if let Some(filter) = filter {
        command.arg(filter);
    }
    output(command).map(drop)
}

/// The mean time per iteration of `id` (`group/bench[/parameter]`), in nanoseconds.
pub fn mean_ns(home: &Path, id: &str) -> Result<f64> {
    let path = home.join(id).join("new/estimates.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    parse_mean_ns(&text).with_context(|| format!("no mean in {}", path.display()))
}

/// `mean.point_estimate` of an `estimates.json`.
pub fn parse_mean_ns(text: &str) -> Option<f64> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value["mean"]["point_estimate"].as_f64()
}

//! What every suite shares: the settings of the run, the executables, the load generators, and
//! the summary being filled.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::Result;

use super::build::Executables;
use super::process::output;
use super::summary::{Curve, Record, Summary};
use super::wrk::{self, LoadResult};

/// The fresh-run-id wrk script, relative to the repository's root.
pub const FRESH_RUN_ID: &str = "scripts/wrk/fresh-run-id.lua";
/// The payload of every load run: the documented `run.completed`.
pub const DOCS_PAYLOAD: &str = "fixtures/valid/01-docs-run-completed.json";

/// The settings and state of one run.
#[derive(Debug)]
pub struct Context {
    /// The repository's root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
    /// Server logs of this run.
    pub logs: PathBuf,
    /// The built executables.
    pub exes: Executables,
    /// `--quick`.
    pub quick: bool,
    /// Length of each measured load run.
    pub duration: Duration,
    /// Length of the warm-up before a server's first measured run.
    pub warmup: Duration,
    /// Concurrent connections of every load run.
    pub connections: usize,
    /// The payload POSTed by wrk, relative to the root ([`DOCS_PAYLOAD`] unless a suite needs
    /// another).
    pub payload: &'static str,
    /// What has been measured so far.
    pub summary: Summary,
}

impl Context {
    /// wrk (closed loop, fresh run ids) against `http://addr{path}` for `duration`.
    pub fn wrk(&self, addr: SocketAddr, path: &str, duration: Duration) -> Result<LoadResult> {
        let url = format!("http://{addr}{path}");
        let payload = self.root.join(self.payload);
        let result = wrk::run(
            &self.root,
            &payload,
            &url,
            FRESH_RUN_ID,
            self.connections,
            duration,
        )?;
        if let Some(warning) = result.warning() {
            self.warn(&format!("{url}: {warning}"));
        }
        Ok(result)
    }

    /// A warm-up then a measured wrk run.
    pub fn measure(&self, addr: SocketAddr, path: &str) -> Result<LoadResult> {
        self.wrk(addr, path, self.warmup)?;
        self.wrk(addr, path, self.duration)
    }

    /// The fixed-rate generator (this xtask, built in the bench profile) at `rate` requests/s.
    pub fn paced(&self, addr: SocketAddr, path: &str, rate: f64) -> Result<LoadResult> {
        let mut command = Command::new(self.exes.get("xtask/xtask")?);
        command.current_dir(&self.root).args([
            "bench",
            "--paced",
            &addr.to_string(),
            path,
            &format!("{rate:.0}"),
            &self.connections.to_string(),
            &self.duration.as_secs().to_string(),
        ]);
        let out = output(command)?;
        let line = out.lines().find(|l| l.starts_with("RESULT ")).unwrap_or("");
        let result = wrk::parse_result(line)?;
        if let Some(warning) = result.warning() {
            self.warn(&format!("paced {addr}{path}: {warning}"));
        }
        Ok(result)
    }

    /// Prints a warning (the run goes on).
    pub fn warn(&self, message: &str) {
        eprintln!("bench: WARNING: {message}");
    }

    /// Adds a record and prints it; returns a copy to compare others with.
    pub fn push(&mut self, record: Record) -> Record {
        let ratio = record
            .ratio
            .map_or(String::new(), |r| format!(" ratio {r:.3}"));
        let verdict = match (record.target.as_deref(), record.met) {
            (Some(t), Some(true)) => format!(" (target {t}: met)"),
            (Some(t), _) => format!(" (target {t}: MISSED)"),
            _ => String::new(),
        };
        eprintln!(
            "bench: {} = {:.4} {}{ratio}{verdict}",
            record.name, record.value, record.unit
        );
        self.summary.records.push(record.clone());
        record
    }

    /// Adds a load run's latency distribution to the plots.
    pub fn curve(&mut self, group: &str, name: &str, result: &LoadResult) {
        self.summary.curves.push(Curve {
            group: group.to_owned(),
            name: name.to_owned(),
            points: result.cdf.clone(),
        });
    }

    /// Notes what could not be measured.
    pub fn note(&mut self, message: String) {
        eprintln!("bench: NOT MEASURED: {message}");
        self.summary.notes.push(message);
    }

    /// A scratch directory of this run.
    pub fn scratch(&self, name: &str) -> Result<PathBuf> {
        let dir = self.logs.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Criterion's data directory for this run.
    pub fn criterion_home(&self) -> PathBuf {
        self.target.join("criterion")
    }

    /// The repository path `relative`.
    pub fn path(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }

    /// Where a server may wait to start.
    pub fn start_wait(&self) -> Duration {
        Duration::from_secs(60)
    }

    /// The logs directory.
    pub fn logs(&self) -> &Path {
        &self.logs
    }
}

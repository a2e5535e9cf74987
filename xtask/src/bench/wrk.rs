//! Closed-loop load with wrk (Debian's `wrk` 4.1: `apt-get install wrk`), the documented payload
//! with a fresh `run_id` per request (`scripts/wrk/fresh-run-id.lua`), and what both load
//! generators report.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// What one load run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadResult {
    /// Responses received.
    pub requests: u64,
    /// Responses per second.
    pub rps: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// Responses that were not 2xx.
    pub non2xx: u64,
    /// Connect, read, write and timeout errors.
    pub errors: u64,
    /// `(percentile, ms)` points of the latency distribution.
    pub cdf: Vec<(f64, f64)>,
}

impl LoadResult {
    /// A warning if any response was not 2xx or any socket failed (`None` when clean).
    pub fn warning(&self) -> Option<String> {
        (self.non2xx != 0 || self.errors != 0).then(|| {
            format!(
                "{} non-2xx responses and {} socket errors out of {}",
                self.non2xx, self.errors, self.requests
            )
        })
    }
}

/// Fails with how to install wrk when it is missing.
pub fn require() -> Result<()> {
    match Command::new("wrk").arg("--version").output() {
        Ok(_) => Ok(()),
        Err(_) => bail!(
            "wrk is not installed: `apt-get install wrk` (Debian/Ubuntu) or `brew install wrk`, \
             then run `cargo xtask bench` again"
        ),
    }
}

/// `wrk -t1 -cCONNECTIONS -dDURATION --latency -s SCRIPT URL`, with the payload at `payload`
/// (for `fresh-run-id.lua`).
pub fn run(
    root: &Path,
    payload: &Path,
    url: &str,
    script: &str,
    connections: usize,
    duration: Duration,
) -> Result<LoadResult> {
    let out = Command::new("wrk")
        .current_dir(root)
        .env("RUNHOOK_PAYLOAD", payload)
        .args([
            "-t1",
            &format!("-c{connections}"),
            &format!("-d{}s", duration.as_secs().max(1)),
            "--latency",
            "-s",
            script,
            url,
        ])
        .output()
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if let Some(line) = stdout.lines().find(|l| l.starts_with("RESULT ")) {
        return parse_result(line);
    }
    // A script without a RESULT line (the dispatcher's post.lua): wrk's own summary.
    parse_summary(&stdout).with_context(|| {
        format!(
            "no figures in wrk's output for {url}: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Parses `RESULT requests=N duration_us=N rps=X p50_us=N p99_us=N non2xx=N socket_errors=N cdf=…`.
pub fn parse_result(line: &str) -> Result<LoadResult> {
    let number = |name: &str| -> Result<f64> {
        field(line, name)
            .and_then(|v| v.parse().ok())
            .with_context(|| format!("no {name} in {line:?}"))
    };
    let cdf = field(line, "cdf")
        .unwrap_or("")
        .split(',')
        .filter_map(|pair| {
            let (p, us) = pair.split_once(':')?;
            Some((p.parse().ok()?, us.parse::<f64>().ok()? / 1000.0))
        })
        .collect();
    Ok(LoadResult {
        requests: number("requests")? as u64,
        rps: number("rps")?,
        p50_ms: number("p50_us")? / 1000.0,
        p99_ms: number("p99_us")? / 1000.0,
        non2xx: number("non2xx")? as u64,
        errors: number("socket_errors")? as u64,
        cdf,
    })
}

/// The value of `name=value` in a line of such fields.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
}

/// Parses wrk's own summary (`Requests/sec:`, the `--latency` table, `Non-2xx`).
fn parse_summary(text: &str) -> Option<LoadResult> {
    let rps: f64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))?
        .trim()
        .parse()
        .ok()?;
    let percentile = |p: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(p))
            .and_then(|v| duration_ms(v.trim()))
    };
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let non2xx = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    let cdf = ["50%", "75%", "90%", "99%"]
        .into_iter()
        .filter_map(|p| Some((p.trim_end_matches('%').parse().ok()?, percentile(p)?)))
        .collect();
    Some(LoadResult {
        requests,
        rps,
        p50_ms: percentile("50%").unwrap_or(f64::NAN),
        p99_ms: percentile("99%").unwrap_or(f64::NAN),
        non2xx,
        errors: 0,
        cdf,
    })
}

/// `123.45us`, `1.20ms`, `2.00s` in milliseconds.
fn duration_ms(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    Some(number.parse::<f64>().ok()? * scale)
}

/// The `RESULT` line of a result, as `fresh-run-id.lua` prints it (what [`parse_result`] reads).
pub fn format_result(result: &LoadResult, duration: Duration) -> String {
    let cdf: Vec<String> = result
        .cdf
        .iter()
        .map(|(p, ms)| format!("{p}:{:.0}", ms * 1000.0))
        .collect();
    format!(
        "RESULT requests={} duration_us={} rps={:.1} p50_us={:.0} p99_us={:.0} non2xx={} \
         socket_errors={} cdf={}",
        result.requests,
        duration.as_micros(),
        result.rps,
        result.p50_ms * 1000.0,
        result.p99_ms * 1000.0,
        result.non2xx,
        result.errors,
        cdf.join(",")
    )
}

//! `cargo xtask bench [--quick]`: every benchmark of the project in one command.
//!
//! It builds every bench binary once (the `bench` profile), then runs, one after the other on
//! this machine: the criterion benches ([`micro`]), the adapters under load ([`adapters`]), the
//! route on each store and the inbox's time to ack ([`stores`]), `runhook listen`, the relay and
//! the receivers users would write instead ([`peers`]), and the dispatcher ([`dispatch`]). Each
//! figure becomes a [`summary::Record`], compared with a baseline measured in the same run; a
//! suite that fails is noted as not measured, and the others still run. The summary is written to
//! `<target>/bench/summary.json`; the plots to `docs/benchmarks/`, the tables to the generated
//! block of `docs/benchmarks.md` and the performance line of `README.md`.
//!
//! Load comes from wrk (closed loop, `apt-get install wrk`) and, for the latency at a fixed rate,
//! from [`loadgen`]. PostgreSQL and Redis are the test servers (`RUNHOOK_TEST_POSTGRES_URL`,
//! `RUNHOOK_TEST_REDIS_URL`); everything runs on 127.0.0.1.

pub mod adapters;
pub mod build;
pub mod context;
pub mod criterion;
pub mod dispatch;
pub mod loadgen;
pub mod markdown;
pub mod micro;
pub mod peers;
pub mod plots;
pub mod process;
pub mod stores;
pub mod summary;
pub mod wrk;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

use context::Context;
use summary::Summary;

/// The suites, in the order they run.
pub const SUITES: [&str; 5] = ["criterion", "adapters", "stores", "peers", "dispatch"];

/// `cargo xtask bench` with `args` (after `bench`).
pub fn cli(root: &Path, args: &[String]) -> Result<()> {
    if let Some(at) = args.iter().position(|a| a == "--paced") {
        return paced(root, &args[at + 1..]);
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let summary_path = target.join("bench/summary.json");
    if args.iter().any(|a| a == "--render") {
        let text = std::fs::read_to_string(&summary_path)
            .with_context(|| format!("{}", summary_path.display()))?;
        return render(root, &serde_json::from_str(&text)?);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let only: Option<Vec<String>> = args.iter().position(|a| a == "--only").map(|at| {
        args.get(at + 1)
            .map_or(vec![], |s| s.split(',').map(str::to_owned).collect())
    });
    if let Some(only) = &only
        && let Some(unknown) = only.iter().find(|s| !SUITES.contains(&s.as_str()))
    {
        bail!("unknown suite {unknown:?}: one of {}", SUITES.join(", "));
    }
    wrk::require()?;
    let exes = build::build(root)?;
    let logs = target.join("bench/logs");
    if logs.exists() {
        std::fs::remove_dir_all(&logs)?;
    }
    std::fs::create_dir_all(&logs)?;
    let (duration, warmup) = if quick { (3, 1) } else { (10, 2) };
    let mut ctx = Context {
        root: root.to_path_buf(),
        target: target.clone(),
        logs,
        exes,
        quick,
        duration: Duration::from_secs(duration),
        warmup: Duration::from_secs(warmup),
        connections: 64,
        payload: context::DOCS_PAYLOAD,
        summary: Summary {
            quick,
            machine: summary::machine(),
            load_before: summary::load_average(),
            ..Summary::default()
        },
    };
    let started = Instant::now();
    for suite in SUITES {
        if only.as_ref().is_some_and(|o| !o.iter().any(|s| s == suite)) {
            continue;
        }
        let outcome = match suite {
            "criterion" => micro::run(&mut ctx),
            "adapters" => adapters::run(&mut ctx),
            "stores" => stores::run(&mut ctx),
            "peers" => peers::run(&mut ctx),
            _ => dispatch::run(&mut ctx),
        };
        if let Err(e) = outcome {
            ctx.note(format!("{suite}: {e:#}"));
        }
    }
    ctx.summary.load_after = summary::load_average();
    ctx.summary.wall_seconds = started.elapsed().as_secs_f64();
    std::fs::write(
        &summary_path,
        serde_json::to_string_pretty(&ctx.summary)? + "\n",
    )?;
    eprintln!("bench: wrote {}", summary_path.display());
    let (met, missed) = ctx.summary.targets();
    eprintln!(
        "bench: {} targets met, {} missed, {} not measured; {:.0} s",
        met.len(),
        missed.len(),
        ctx.summary.notes.len(),
        ctx.summary.wall_seconds
    );
    if only.is_some() {
        eprintln!("bench: --only: docs/benchmarks.md and the plots are left as they were");
        return Ok(());
    }
    render(root, &ctx.summary)
}

/// Writes the plots, the generated block of `docs/benchmarks.md` and the README's line.
pub fn render(root: &Path, summary: &Summary) -> Result<()> {
    plots::draw(summary, &root.join("docs/benchmarks"))?;
    let page_path = root.join("docs/benchmarks.md");
    let page = std::fs::read_to_string(&page_path)?;
    let page = markdown::replace_between(
        &page,
        markdown::BEGIN,
        markdown::END,
        &markdown::block(summary),
    )?;
    std::fs::write(&page_path, page)?;
    let readme_path = root.join("README.md");
    let readme = std::fs::read_to_string(&readme_path)?;
    let readme = markdown::replace_between(
        &readme,
        markdown::README_BEGIN,
        markdown::README_END,
        &markdown::readme_line(summary),
    )?;
    std::fs::write(&readme_path, readme)?;
    eprintln!(
        "bench: wrote docs/benchmarks.md, docs/benchmarks/*.svg and README.md's performance line"
    );
    Ok(())
}

/// `--paced ADDR PATH RATE CONNECTIONS SECONDS`: the fixed-rate generator, one RESULT line.
fn paced(root: &Path, args: &[String]) -> Result<()> {
    let [addr, path, rate, connections, seconds] = args else {
        bail!("usage: bench --paced ADDR PATH RATE CONNECTIONS SECONDS");
    };
    let body = std::fs::read_to_string(root.join(context::DOCS_PAYLOAD))?;
    let duration = Duration::from_secs(seconds.parse()?);
    let result = loadgen::paced(
        addr.parse()?,
        path,
        &loadgen::Payload::new(&body)?,
        rate.parse()?,
        connections.parse()?,
        duration,
    )?;
    println!("{}", wrk::format_result(&result, duration));
    Ok(())
}

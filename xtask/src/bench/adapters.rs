//! The adapters under load: for each framework, one process (`benches/load.rs`, 1 tokio worker)
//! serving `/bare`, `/parse` and `/webhook`; wrk on each in turn, then the webhook route at 80 %
//! of the rate wrk reached on it, paced.

use std::process::Command;

use anyhow::Result;

use super::context::Context;
use super::process::{Server, free_port};
use super::summary::Record;

/// The frameworks with an adapter.
pub const FRAMEWORKS: [&str; 3] = ["axum", "warp", "poem"];

/// Runs every adapter's load bench.
pub fn run(ctx: &mut Context) -> Result<()> {
    for fw in FRAMEWORKS {
        eprintln!("bench: adapter {fw}");
        if let Err(e) = one(ctx, fw) {
            ctx.note(format!("adapter {fw}: {e:#}"));
        }
    }
    Ok(())
}

fn one(ctx: &mut Context, fw: &str) -> Result<()> {
    let port = free_port()?;
    let mut command = Command::new(ctx.exes.get(&format!("runhook-{fw}/load"))?);
    command
        .current_dir(&ctx.root)
        .args(["--port", &port.to_string(), "--workers", "1"]);
    let server = Server::start(fw, command, port, ctx.logs(), ctx.start_wait())?;
    let bare = ctx.measure(server.addr, "/bare")?;
    let parse = ctx.wrk(server.addr, "/parse", ctx.duration)?;
    let webhook = ctx.wrk(server.addr, "/webhook", ctx.duration)?;
    let rate = 0.8 * webhook.rps;
    let paced = ctx.paced(server.addr, "/webhook", rate)?;
    let log = server.stop();
    if let Some(line) = log.lines().find(|l| l.starts_with("webhook outcomes")) {
        eprintln!("bench: {fw}: {line}");
    }

    let group = "adapters";
    let base = ctx.push(Record::plain(
        group,
        &format!("{fw}/bare"),
        bare.rps,
        "req/s",
    ));
    let parse_record =
        ctx.push(Record::plain(group, &format!("{fw}/parse"), parse.rps, "req/s").against(&base));
    ctx.push(
        Record::plain(group, &format!("{fw}/webhook"), webhook.rps, "req/s")
            .against(&base)
            .target(">= 0.7"),
    );
    ctx.push(
        Record::plain(
            group,
            &format!("{fw}/webhook_over_parse"),
            webhook.rps,
            "req/s",
        )
        .against(&parse_record)
        .target(">= 0.95"),
    );
    ctx.push(Record::plain(
        group,
        &format!("{fw}/webhook_p99_closed_loop"),
        webhook.p99_ms,
        "ms",
    ));
    ctx.push(Record::plain(
        group,
        &format!("{fw}/paced_rate"),
        paced.rps,
        "req/s",
    ));
    ctx.push(
        Record::plain(
            group,
            &format!("{fw}/webhook_p99_at_80pct"),
            paced.p99_ms,
            "ms",
        )
        .target("<= 2"),
    );
    ctx.curve(group, &format!("{fw} bare (wrk)"), &bare);
    ctx.curve(group, &format!("{fw} webhook (wrk)"), &webhook);
    ctx.curve(group, &format!("{fw} webhook at 80 % (paced)"), &paced);
    Ok(())
}

//! The dispatcher against wrk and a bare reqwest loop on the same receiver (the dispatch bench's
//! `serve`, 1 tokio worker), then the memory held per pending retry.

use std::process::Command;

use anyhow::{Context as _, Result};

use super::context::{Context, DOCS_PAYLOAD};
use super::process::{Server, free_port, output};
use super::summary::Record;
use super::wrk;

/// wrk's script for this bench: the documented payload, unchanged (the dispatcher sends one).
const POST_LUA: &str = "crates/runhook-dispatch/benches/post.lua";

/// Runs the dispatcher benches.
pub fn run(ctx: &mut Context) -> Result<()> {
    let exe = ctx.exes.get("runhook-dispatch/dispatch")?.to_path_buf();
    let port = free_port()?;
    let mut serve = Command::new(&exe);
    serve.args([
        "serve",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--workers",
        "1",
    ]);
    let server = Server::start(
        "dispatch-receiver",
        serve,
        port,
        ctx.logs(),
        ctx.start_wait(),
    )?;
    let url = format!("http://{}/hook", server.addr);
    eprintln!("bench: wrk, the dispatcher and a bare reqwest loop against {url}");
    let payload = ctx.path(DOCS_PAYLOAD);
    wrk::run(
        &ctx.root,
        &payload,
        &url,
        POST_LUA,
        ctx.connections,
        ctx.warmup,
    )?;
    let load = wrk::run(
        &ctx.root,
        &payload,
        &url,
        POST_LUA,
        ctx.connections,
        ctx.duration,
    )?;
    let deliveries = if ctx.quick { "50000" } else { "200000" };
    let mut dispatcher = Command::new(&exe);
    dispatcher.args(["throughput", "--target", &url, "--deliveries", deliveries]);
    let dispatcher = output(dispatcher)?;
    let mut reqwest = Command::new(&exe);
    reqwest.args(["reqwest", "--target", &url, "--deliveries", deliveries]);
    let reqwest = output(reqwest)?;
    drop(server.stop());

    let group = "dispatch";
    let base = ctx.push(Record::plain(group, "wrk", load.rps, "req/s"));
    let bare = rate_before(&reqwest, " requests/s").context("no rate in the reqwest output")?;
    let sent = rate_before(&dispatcher, " deliveries/s").context("no rate in the output")?;
    ctx.push(Record::plain(group, "reqwest_loop", bare, "req/s").against(&base));
    ctx.push(
        Record::plain(group, "dispatcher", sent, "req/s")
            .against(&base)
            .target(">= 0.6"),
    );

    let mut memory = Command::new(&exe);
    memory.args(["memory", "--deliveries", "100000"]);
    let memory = output(memory)?;
    let bytes = memory
        .split_once("MiB: ")
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .context("no bytes per retry in the memory output")?;
    ctx.push(Record::plain(group, "bytes_per_pending_retry", bytes, "B").target("<= 2048"));
    Ok(())
}

/// The number just before `suffix` (`… = 52995 deliveries/s`).
fn rate_before(text: &str, suffix: &str) -> Option<f64> {
    let (before, _) = text.split_once(suffix)?;
    before.rsplit(' ').next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::rate_before;

    #[test]
    fn rates_are_read_from_the_bench_lines() {
        let line = "throughput: 50000 deliveries of 905 bytes to http://x/hook in 1.00 s = \
                    52995 deliveries/s (64 in flight, 1 dispatcher worker thread)";
        assert_eq!(rate_before(line, " deliveries/s"), Some(52995.0));
    }
}

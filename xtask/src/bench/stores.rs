//! The webhook route on each store, and the inbox's time to ack: one process
//! (`runhook-cli/benches/stores.rs`, 1 tokio worker) serving the route once per store and in
//! inbox mode; wrk on each route in turn; then the databases' raw insert-and-commit loops.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use super::context::Context;
use super::process::{Server, free_port, http_get, output};
use super::summary::Record;
use super::wrk::LoadResult;

/// PostgreSQL and Redis: the test servers' URLs (as the store tests).
fn urls() -> (String, String) {
    (
        std::env::var("RUNHOOK_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
        std::env::var("RUNHOOK_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned()),
    )
}

/// Runs the stores and inbox load benches.
pub fn run(ctx: &mut Context) -> Result<()> {
    let (postgres, redis) = urls();
    let schema = format!("runhook_bench_xtask_{}", std::process::id());
    let prefix = format!("runhook:bench:xtask:{}:", std::process::id());
    let result = measure(ctx, &postgres, &schema, &redis, &prefix);
    cleanup(&postgres, &schema, &redis, &prefix);
    result
}

fn measure(
    ctx: &mut Context,
    postgres: &str,
    schema: &str,
    redis: &str,
    prefix: &str,
) -> Result<()> {
    let exe = ctx.exes.get("runhook-cli/stores")?.to_path_buf();
    let port = free_port()?;
    let mut command = Command::new(&exe);
    command.current_dir(&ctx.root).args([
        "--port",
        &port.to_string(),
        "--workers",
        "1",
        "--postgres",
        postgres,
        "--postgres-schema",
        schema,
        "--redis",
        redis,
        "--redis-prefix",
        prefix,
    ]);
    let server = Server::start("stores", command, port, ctx.logs(), ctx.start_wait())?;

    eprintln!("bench: the webhook route on each store");
    let routes = [
        ("memory", "/webhook"),
        ("sqlite", "/webhook-sqlite"),
        ("postgres", "/webhook-postgres"),
        ("redis", "/webhook-redis"),
    ];
    for (_, path) in routes {
        ctx.wrk(server.addr, path, ctx.warmup)?;
    }
    let mut results = Vec::new();
    for (_, path) in routes {
        results.push(ctx.wrk(server.addr, path, ctx.duration)?);
    }

    eprintln!("bench: the inbox's time to ack");
    settle(port)?;
    let inboxes = [("sqlite", "/inbox-sqlite"), ("postgres", "/inbox-postgres")];
    let mut acks: Vec<(LoadResult, f64)> = Vec::new();
    for (_, path) in inboxes {
        ctx.wrk(server.addr, path, ctx.warmup)?;
        settle(port)?;
        let ack = ctx.wrk(server.addr, path, ctx.duration)?;
        let drained = settle(port)?;
        acks.push((ack, drained));
    }
    drop(server.stop());

    let group = "stores";
    let memory = ctx.push(Record::plain(group, "memory", results[0].rps, "req/s"));
    for ((store, _), result) in routes.iter().zip(&results).skip(1) {
        let record = Record::plain(group, store, result.rps, "req/s").against(&memory);
        ctx.push(if *store == "postgres" {
            record.target(">= 0.5")
        } else {
            record
        });
    }
    for ((store, _), result) in routes.iter().zip(&results) {
        let record = Record::plain(group, &format!("{store}_p99"), result.p99_ms, "ms");
        ctx.push(if *store == "postgres" {
            record.target("<= 50")
        } else {
            record
        });
        ctx.curve(group, &format!("route on {store}"), result);
    }

    eprintln!("bench: the databases' raw insert-and-commit loops");
    let mut raw = Command::new(&exe);
    raw.current_dir(&ctx.root).args([
        "--raw",
        &ctx.duration.as_secs().to_string(),
        "--connections",
        &ctx.connections.to_string(),
        "--postgres",
        postgres,
        "--postgres-schema",
        schema,
    ]);
    let raw = output(raw)?;
    let group = "inbox";
    for ((backend, _), (ack, drained)) in inboxes.iter().zip(&acks) {
        let raw_rps = raw_rate(&raw, backend)
            .with_context(|| format!("no RAW line for {backend} in {raw:?}"))?;
        let base = ctx.push(Record::plain(
            group,
            &format!("{backend}_raw"),
            raw_rps,
            "rows/s",
        ));
        ctx.push(
            Record::plain(group, &format!("{backend}_ack"), ack.rps, "req/s")
                .against(&base)
                .target(">= 0.5"),
        );
        ctx.push(Record::plain(
            group,
            &format!("{backend}_ack_p99"),
            ack.p99_ms,
            "ms",
        ));
        ctx.push(Record::plain(
            group,
            &format!("{backend}_drain"),
            *drained,
            "s",
        ));
        ctx.curve(group, &format!("ack on {backend}"), ack);
    }
    ctx.curve(group, "inline, memory store", &results[0]);
    Ok(())
}

/// `rps` of the `RAW backend=NAME … rps=X` line.
fn raw_rate(text: &str, backend: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with("RAW ") && l.contains(&format!("backend={backend} ")))?
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("rps="))?
        .parse()
        .ok()
}

/// Waits (up to 5 minutes) until the inboxes hold no unfinished row; the seconds waited.
fn settle(port: u16) -> Result<f64> {
    let started = Instant::now();
    let mut last = String::new();
    while started.elapsed() < Duration::from_secs(300) {
        last = http_get(port, "/inbox-unfinished").unwrap_or_default();
        if last == "sqlite=0 postgres=0" {
            return Ok(started.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("the inboxes did not drain in 5 minutes: {last}")
}

/// Drops the schema and deletes the Redis keys (best effort, with psql and redis-cli).
fn cleanup(postgres: &str, schema: &str, redis: &str, prefix: &str) {
    let dropped = Command::new("psql")
        .args([
            "-q",
            postgres,
            "-c",
            &format!("DROP SCHEMA IF EXISTS {schema} CASCADE"),
        ])
        .output();
    if !dropped.is_ok_and(|o| o.status.success()) {
        eprintln!("bench: could not drop the schema {schema}: drop it yourself");
    }
    // The token counter is `<prefix>\0token`, which no command line can carry: hence the Lua.
    let script = "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1] .. '*')) do \
                  redis.call('UNLINK', k) n = n + 1 end \
                  redis.call('UNLINK', ARGV[1] .. '\\0token') return n";
    let deleted = Command::new("redis-cli")
        .args(["-u", redis, "EVAL", script, "0", prefix])
        .output();
    if !deleted.is_ok_and(|o| o.status.success()) {
        eprintln!("bench: could not delete the Redis keys {prefix}*: they expire by their TTLs");
    }
}

#[cfg(test)]
mod tests {
    use super::raw_rate;

    #[test]
    fn raw_lines_give_their_rate() {
        let text = "RAW backend=sqlite connections=1 rps=21000\n\
                    RAW backend=postgres connections=64 rps=19000\n";
        assert_eq!(raw_rate(text, "postgres"), Some(19000.0));
        assert_eq!(raw_rate(text, "redis"), None);
    }
}

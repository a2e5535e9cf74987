//! `runhook listen`, the relay, and the receivers users would write instead, under the same load
//! in the same run: the Flask receiver of TinyFish's docs under gunicorn (2 workers), the Express
//! one on node, and the axum adapter's webhook route (2 tokio workers, as `listen` has on 2
//! cores). The peers' packages are pinned (`bench/peers/`) and installed under the target
//! directory: a virtualenv for Flask, `npm ci` for Express.

use std::path::Path;
use std::process::Command;

use anyhow::{Context as _, Result};

use super::context::{Context, DOCS_PAYLOAD};
use super::process::{Server, free_port, output};
use super::summary::Record;
use super::wrk::LoadResult;

/// The path every receiver here serves.
const PATH: &str = "/webhooks/tinyfish";

/// The payload of this suite: a `run.completed` whose result has the `product_name` and `price`
/// the docs' receivers read.
const PRICE_PAYLOAD: &str = "fixtures/valid/02-blog-run-completed.json";

/// Runs the receivers one after the other and records their ratios.
pub fn run(ctx: &mut Context) -> Result<()> {
    ctx.payload = PRICE_PAYLOAD;
    let result = measure(ctx);
    ctx.payload = DOCS_PAYLOAD;
    result
}

fn measure(ctx: &mut Context) -> Result<()> {
    let runhook = ctx.exes.get("runhook-cli/runhook")?.to_path_buf();
    let scratch = ctx.scratch("peers")?;
    let mut measured: Vec<(&str, LoadResult)> = Vec::new();

    let sqlite = format!("sqlite:{}", scratch.join("listen.db").display());
    for (name, store) in [
        ("listen_memory", "memory"),
        ("listen_sqlite", sqlite.as_str()),
    ] {
        let listen = |port: u16| -> Result<Command> {
            let mut command = Command::new(&runhook);
            command
                .arg("listen")
                .args(["--store", store, "--addr", &local(port)]);
            Ok(command)
        };
        match serve_and_load(ctx, name, listen, PATH) {
            Ok(result) => measured.push((name, result)),
            Err(e) => ctx.note(format!("{name}: {e:#}")),
        }
    }
    match relay(ctx, &runhook, &scratch) {
        Ok(result) => measured.push(("relay_sqlite", result)),
        Err(e) => ctx.note(format!("relay: {e:#}")),
    }
    let axum = |port: u16| -> Result<Command> {
        let mut command = Command::new(ctx.exes.get("runhook-axum/load")?);
        command.args(["--port", &port.to_string(), "--workers", "2"]);
        Ok(command)
    };
    match serve_and_load(ctx, "axum-2-workers", axum, "/webhook") {
        Ok(result) => measured.push(("axum_webhook", result)),
        Err(e) => ctx.note(format!("axum webhook route, 2 workers: {e:#}")),
    }
    match serve_and_load(ctx, "flask", |port| flask(ctx, port), PATH) {
        Ok(result) => measured.push(("flask", result)),
        Err(e) => ctx.note(format!("Flask peer: {e:#}")),
    }
    match serve_and_load(ctx, "express", |port| express(ctx, port), PATH) {
        Ok(result) => measured.push(("express", result)),
        Err(e) => ctx.note(format!("Express peer: {e:#}")),
    }

    let group = "peers";
    let mut records = Vec::new();
    for (name, result) in &measured {
        records.push(ctx.push(Record::plain(group, name, result.rps, "req/s")));
        ctx.push(Record::plain(
            group,
            &format!("{name}_p99"),
            result.p99_ms,
            "ms",
        ));
        ctx.curve(group, name, result);
    }
    let find = |name: &str| records.iter().find(|r| r.name == format!("{group}/{name}"));
    let ratios = [
        (
            "listen_memory",
            "flask",
            "listen_memory_over_flask",
            Some(">= 9"),
        ),
        (
            "listen_memory",
            "express",
            "listen_memory_over_express",
            Some(">= 6"),
        ),
        ("listen_sqlite", "flask", "listen_sqlite_over_flask", None),
        (
            "listen_sqlite",
            "express",
            "listen_sqlite_over_express",
            None,
        ),
        (
            "listen_memory",
            "axum_webhook",
            "listen_memory_over_axum",
            Some(">= 0.9"),
        ),
        (
            "listen_sqlite",
            "listen_memory",
            "listen_sqlite_over_memory",
            Some(">= 0.6"),
        ),
        (
            "relay_sqlite",
            "listen_sqlite",
            "relay_over_listen_sqlite",
            None,
        ),
    ];
    for (figure, baseline, name, target) in ratios {
        if let (Some(f), Some(b)) = (find(figure), find(baseline)) {
            let record = Record::plain(group, name, f.value, "req/s").against(b);
            let record = match target {
                Some(t) => record.target(t),
                None => record,
            };
            ctx.push(record);
        }
    }
    Ok(())
}

/// `127.0.0.1:PORT`.
fn local(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// Starts the server `make` gives for a free port, then a warm-up and a measured wrk run.
fn serve_and_load(
    ctx: &Context,
    name: &str,
    make: impl FnOnce(u16) -> Result<Command>,
    path: &str,
) -> Result<LoadResult> {
    eprintln!("bench: {name}");
    let port = free_port()?;
    let mut command = make(port)?;
    command.current_dir(&ctx.root);
    let server = Server::start(name, command, port, ctx.logs(), ctx.start_wait())?;
    let result = ctx.measure(server.addr, path);
    drop(server.stop());
    result
}

/// The relay (`listen --forward-to`, SQLite inbox) forwarding to the dispatcher bench's receiver.
fn relay(ctx: &Context, runhook: &Path, scratch: &Path) -> Result<LoadResult> {
    let app_port = free_port()?;
    let mut app = Command::new(ctx.exes.get("runhook-dispatch/dispatch")?);
    app.args(["serve", "--addr", &local(app_port), "--workers", "1"]);
    let app = Server::start("relay-app", app, app_port, ctx.logs(), ctx.start_wait())?;
    let relay = |port: u16| -> Result<Command> {
        let mut command = Command::new(runhook);
        command.arg("listen").args([
            "--store",
            &format!("sqlite:{}", scratch.join("relay.db").display()),
            "--forward-to",
            &format!("http://127.0.0.1:{app_port}/hook"),
            "--addr",
            &local(port),
        ]);
        Ok(command)
    };
    let result = serve_and_load(ctx, "relay", relay, PATH);
    drop(app.stop());
    result
}

/// gunicorn with 2 workers on the Flask app, from a virtualenv with the pinned requirements.
fn flask(ctx: &Context, port: u16) -> Result<Command> {
    let venv = ctx.target.join("bench-peers/venv");
    let requirements = ctx.path("bench/peers/flask/requirements.txt");
    let stamp = venv.join("requirements.txt");
    let wanted = std::fs::read_to_string(&requirements)?;
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        eprintln!(
            "bench: installing Flask and gunicorn (pinned) into {}",
            venv.display()
        );
        let mut create = Command::new("python3");
        create.args(["-m", "venv"]).arg(&venv);
        output(create).context("python3 -m venv (install python3-venv)")?;
        let mut pip = Command::new(venv.join("bin/pip"));
        pip.args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements);
        output(pip)?;
        std::fs::write(&stamp, wanted)?;
    }
    let mut command = Command::new(venv.join("bin/gunicorn"));
    command
        .args(["--workers", "2", "--bind", &local(port), "--chdir"])
        .arg(ctx.path("bench/peers/flask"))
        .arg("app:app");
    Ok(command)
}

/// node on the Express app, its packages installed with `npm ci` from the lock file.
fn express(ctx: &Context, port: u16) -> Result<Command> {
    let dir = ctx.target.join("bench-peers/express");
    std::fs::create_dir_all(&dir)?;
    let source = ctx.path("bench/peers/express");
    let lock = std::fs::read_to_string(source.join("package-lock.json"))?;
    let installed = std::fs::read_to_string(dir.join("package-lock.json")).ok();
    for file in ["package.json", "server.mjs"] {
        std::fs::copy(source.join(file), dir.join(file))?;
    }
    if installed.as_deref() != Some(lock.as_str()) || !dir.join("node_modules").exists() {
        eprintln!("bench: installing Express (npm ci) into {}", dir.display());
        std::fs::write(dir.join("package-lock.json"), &lock)?;
        let mut npm = Command::new("npm");
        npm.current_dir(&dir)
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
        output(npm).context("npm ci (install node and npm)")?;
    }
    let mut command = Command::new("node");
    command
        .arg(dir.join("server.mjs"))
        .env("PORT", port.to_string());
    Ok(command)
}

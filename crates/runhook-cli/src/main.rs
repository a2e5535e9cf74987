//! `runhook`: send, trigger, receive and validate TinyFish-style run webhooks from the command
//! line, and emulate the TinyFish runs API.
//!
//! Exit codes: 0 success (delivered, or every file valid); 1 the work was done but failed (not
//! delivered, or a file is invalid); 2 bad usage or input (unreadable file, invalid payload,
//! refused URL or address, bad option). A closed stdout (`runhook ... | head -1`) ends a command
//! quietly with 0.

mod commands;
mod delivery_args;
mod exit;
mod forward;
mod out;
mod overrides;
mod payload;
mod progress;
mod prune;
mod repeat;
mod signals;
mod store;
mod timefmt;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::Exit;

/// Send, trigger, receive and validate TinyFish-style run webhooks.
#[derive(Debug, Parser)]
#[command(name = "runhook", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// POST a webhook payload to a URL the way TinyFish delivers it (validated first; retried
    /// per the policy).
    Send(commands::send::Args),
    /// Send a realistic built-in event with a fresh run id, like `stripe trigger`.
    Trigger(commands::trigger::Args),
    /// Receive webhooks locally and print one line per request (accepted, duplicate, rejected,
    /// ...); can misbehave on purpose.
    Listen(Box<commands::listen::Args>),
    /// Look into a relay's inbox (`listen --forward-to`): list rows, show one, replay dead
    /// ones, purge done ones.
    Inbox(commands::inbox::Args),
    /// Check payload files against the schema and the consistency rules.
    Validate(commands::validate::Args),
    /// Serve a local TinyFish-compatible runs API: scripted runs, SSE, and webhooks with
    /// TinyFish's retry policy and injectable faults.
    Emulate(commands::emulate::Args),
    /// Run the whole loop offline in a few seconds: the emulator, a receiver over HTTPS with an
    /// inbox, runs on every path (completed, failed, cancelled, retried, duplicate) and forged
    /// POSTs; prints a timeline and a summary, exits 0 only if every path behaved.
    Demo(commands::demo::Args),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(commands::completions::Args),
}

/// Parses the command line, runs the subcommand and maps its result to the exit code.
fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let result = match cli.command {
        Command::Send(args) => commands::send::run(args),
        Command::Trigger(args) => commands::trigger::run(args),
        Command::Listen(args) => commands::listen::run(*args),
        Command::Inbox(args) => commands::inbox::run(args),
        Command::Validate(args) => commands::validate::run(args),
        Command::Emulate(args) => commands::emulate::run(args),
        Command::Demo(args) => commands::demo::run(args),
        Command::Completions(args) => commands::completions::run(args),
    };
    match result {
        Ok(exit) => exit.into(),
        // The reader of stdout has gone (`| head -1`): nothing more to say to anyone.
        Err(error) if out::is_closed(&error) => Exit::Success.into(),
        Err(error) => {
            eprintln!("runhook: {error:#}");
            Exit::Usage.into()
        }
    }
}

/// Logs go to stderr, off unless `RUST_LOG` asks for them (e.g. `RUST_LOG=runhook_dispatch=debug`).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

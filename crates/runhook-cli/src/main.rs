//! `runhook`: send, trigger, receive and validate TinyFish-style run webhooks from the command
//! line, and emulate the TinyFish runs API.
//!
//! Exit codes: 0 success (delivered, or every file valid); 1 the work was done but failed (not
//! delivered, or a file is invalid); 2 bad usage or input (unreadable file, invalid payload,
//! refused URL or address, bad option). A closed stdout (`runhook ... | head -1`) ends a command
//! quietly with 0.

mod commands;
mod console;
mod delivery_args;
mod exit;
mod out;
mod overrides;
mod payload;
mod progress;
mod reconcile;
mod repeat;
mod signals;
mod store;
mod timefmt;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use runhook::endpoint::redact_url;

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
    /// Serve the web console over a relay's inbox: every event, its state and attempts, the
    /// failed ones, and replay or purge from the browser.
    Console(commands::console::Args),
    /// Sweep the TinyFish runs API once for runs that ended but whose webhooks never arrived
    /// (the receiver was down), process each once as `listen` would (or store it in the
    /// relay's inbox with --inbox), and exit. Needs TINYFISH_API_KEY.
    Reconcile(commands::reconcile::Args),
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
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => with_port_tip(error, std::env::args().collect()).exit(),
    };
    init_tracing();
    let result = match cli.command {
        Command::Send(args) => commands::send::run(args),
        Command::Trigger(args) => commands::trigger::run(args),
        Command::Listen(args) => commands::listen::run(*args),
        Command::Inbox(args) => commands::inbox::run(args),
        Command::Console(args) => commands::console::run(args),
        Command::Reconcile(args) => commands::reconcile::run(args),
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
            // Whatever an error quotes (a store URL, a target, a base URL) is printed without
            // its secrets.
            let error = format!("{error:#}");
            eprintln!("runhook: {}", redact_url(&error));
            Exit::Usage.into()
        }
    }
}

/// `runhook listen --port 9000` (or `emulate`): clap's "unexpected argument", with a tip that
/// names the option to use, `--addr 127.0.0.1:9000`.
fn with_port_tip(mut error: clap::Error, args: Vec<String>) -> clap::Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    let port_option = |arg: &str| arg == "--port" || arg.starts_with("--port=");
    let unknown_port = error.kind() == ErrorKind::UnknownArgument
        && matches!(error.get(ContextKind::InvalidArg), Some(ContextValue::String(arg)) if port_option(arg));
    let command = args.iter().skip(1).find(|arg| !arg.starts_with('-'));
    let Some(command) = command.filter(|name| *name == "listen" || *name == "emulate") else {
        return error;
    };
    if !unknown_port {
        return error;
    }
    let given = args.iter().position(|arg| port_option(arg)).and_then(|at| {
        match args[at].strip_prefix("--port=") {
            Some(value) => Some(value),
            None => args.get(at + 1).map(String::as_str),
        }
    });
    let port = given
        .and_then(|value| value.parse::<u16>().ok())
        .map_or_else(|| "PORT".to_owned(), |port| port.to_string());
    let tip = format!(
        "`runhook {command}` takes an address, not a port: use '--addr 127.0.0.1:{port}' (or \
         '--addr 0.0.0.0:{port}' for every interface)"
    );
    error.insert(
        ContextKind::Suggested,
        ContextValue::StyledStrs(vec![tip.into()]),
    );
    error
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

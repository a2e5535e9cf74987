//! `runhook console`: the web console over an inbox (SQLite or PostgreSQL), beside the relays
//! that fill it or from any replica. The pages are the library's `runhook_console`; this file
//! opens the inbox, checks who may connect, serves and prints.
//!
//! Exit codes: 0 stopped by a signal; 2 bad usage (a non-loopback address without a token, an
//! inbox that cannot be opened, an address that cannot be bound).

use std::net::SocketAddr;

use anyhow::{Context, bail};
use runhook_console::Console;

use crate::console::{DEFAULT_CONSOLE_ADDR, bind, console_token, console_url, serve, with_token};
use crate::exit::Exit;
use crate::out;
use crate::store::{DEFAULT_STORE, StoreUrl};

/// Arguments of `runhook console`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The inbox: sqlite:PATH (the default, sqlite:./runhook.db; the file must exist) or
    /// postgres://… (the relay's --store).
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
    /// The address to serve the console on. Loopback by default; any other address needs
    /// --console-token-env.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_CONSOLE_ADDR)]
    addr: SocketAddr,
    /// The environment variable holding the console's token: every request then needs it (a
    /// login form sets a cookie; API clients send `Authorization: Bearer TOKEN`).
    #[arg(long, value_name = "VAR")]
    console_token_env: Option<String>,
}

/// Serves the console until SIGINT or SIGTERM.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let token = console_token(args.addr, args.console_token_env.as_deref())?;
    let url = StoreUrl::parse(&args.store)?;
    if !matches!(url, StoreUrl::Sqlite(_) | StoreUrl::Postgres { .. }) {
        bail!(
            "--store {:?}: the console reads an inbox, in sqlite: or postgres://",
            runhook::endpoint::redact_url(&args.store)
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let result = runtime.block_on(async move {
        let inbox = url.open_existing_inbox().await?;
        let router = with_token(Console::over_inbox(inbox), token).router();
        let signals = crate::signals::stop_signals().context("cannot listen for signals")?;
        let (listener, bound) = bind(args.addr).await?;
        out::line(&format!("console on {}", console_url(bound)))?;
        eprintln!("runhook: console over the inbox {}", url.describe());
        serve(listener, router, signals).await?;
        eprintln!("runhook: stopped");
        Ok(Exit::Success)
    });
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}

//! `runhook inbox`: look into the inbox a relay (`runhook listen --forward-to`) keeps, and act on
//! it: list rows, show one, replay dead ones, retry waiting pending ones now, purge done ones.
//!
//! Exit codes: 0 done; 1 the store failed during the operation, or `show`/`replay` found no such
//! row (or, for `replay`, a row that is not dead); 2 bad usage, or a store that cannot be opened.

mod retry;
mod view;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use runhook::inbox::{Inbox, InboxFilter, InboxState, Purge};
use runhook::store::IdempotencyKey;

use crate::exit::Exit;
use crate::out;
use crate::store::{DEFAULT_STORE, StoreUrl};

/// Arguments of `runhook inbox`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: Command,
}

/// The store option every subcommand takes.
#[derive(Debug, clap::Args)]
struct StoreArg {
    /// The inbox: sqlite:PATH (the default, sqlite:./runhook.db) or postgres://…
    #[arg(long, value_name = "URL", default_value = DEFAULT_STORE)]
    store: String,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// List rows, oldest first: key, state, attempts, event, run_id, received_at, next_at,
    /// last_error.
    List {
        #[command(flatten)]
        store: StoreArg,
        /// Only rows in this state.
        #[arg(long, value_name = "STATE", value_parser = parse_state)]
        state: Option<InboxState>,
        /// One JSON object per row instead of a table.
        #[arg(long)]
        json: bool,
        /// At most N rows.
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: usize,
    },
    /// Show every field of one row, its body pretty-printed.
    Show {
        #[command(flatten)]
        store: StoreArg,
        /// The row's idempotency key.
        key: String,
        /// One JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Make a dead row pending again (attempts counted from zero, a new series of attempts):
    /// it is forwarded again. With --force, a done row too: its handler runs again.
    Replay {
        #[command(flatten)]
        store: StoreArg,
        /// The dead row's key (with --force: a done or dead row's).
        #[arg(
            value_name = "KEY",
            required_unless_present = "all_dead",
            conflicts_with = "all_dead"
        )]
        key: Option<String>,
        /// Every dead row.
        #[arg(long)]
        all_dead: bool,
        /// Replay the row of KEY even if it is done (to run the handler again, after fixing a
        /// bug): it goes through the inbox again, and its earlier attempts stay in its history.
        #[arg(long, requires = "key")]
        force: bool,
    },
    /// Make pending rows that wait for a later attempt due now (attempts and last error kept):
    /// the relay forwards them at once, at most its concurrency at a time. Rows being forwarded
    /// now, done and dead rows are left alone (dead rows: `inbox replay`). Prints the count.
    Retry {
        #[command(flatten)]
        store: StoreArg,
        /// The rows to retry: pending ones (required).
        #[arg(long, required = true)]
        pending: bool,
        /// Only rows that match; repeat for several conditions, all of which must hold:
        /// key=KEY (one row), run_id=PREFIX (rows whose run_id starts with PREFIX) or
        /// event=NAME (e.g. event=run.completed). Without it: every pending row.
        #[arg(long, value_name = "NAME=VALUE", value_parser = retry::parse_condition)]
        filter: Vec<retry::Condition>,
        /// One JSON object ({"kind":"retried","rows":N}) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Delete the done rows that finished more than DURATION ago (e.g. 72h, 30m, 7d).
    Purge {
        #[command(flatten)]
        store: StoreArg,
        /// How long done rows are kept: N followed by ms, s, m, h or d.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        done_before: Duration,
    },
}

/// Runs the subcommand.
pub(crate) fn run(args: Args) -> anyhow::Result<Exit> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let store = match &args.command {
            Command::List { store, .. }
            | Command::Show { store, .. }
            | Command::Replay { store, .. }
            | Command::Retry { store, .. }
            | Command::Purge { store, .. } => &store.store,
        };
        let url = StoreUrl::parse(store)?;
        if !matches!(url, StoreUrl::Sqlite(_) | StoreUrl::Postgres { .. }) {
            bail!(
                "--store {:?}: the inbox needs sqlite: or postgres://",
                runhook::endpoint::redact_url(store)
            );
        }
        // Cannot be opened (a missing SQLite file included: never created here): a usage error
        // (exit 2), reported by main.
        let inbox = url.open_existing_inbox().await?;
        match operate(args.command, inbox).await {
            Ok(exit) => Ok(exit),
            Err(error) if out::is_closed(&error) => Err(error),
            Err(error) => {
                let error = format!("{error:#}");
                eprintln!("runhook: {}", runhook::endpoint::redact_url(&error));
                Ok(Exit::Failure)
            }
        }
    })
}

/// The operation itself, on an open inbox.
async fn operate(command: Command, inbox: Arc<dyn Inbox>) -> anyhow::Result<Exit> {
    match command {
        Command::List {
            state, json, limit, ..
        } => {
            let mut filter = InboxFilter::first(limit);
            if let Some(state) = state {
                filter = filter.in_state(state);
            }
            let rows = inbox.list(&filter).await.context("cannot list the inbox")?;
            view::list(&rows, json)?;
            Ok(Exit::Success)
        }
        Command::Show { key, json, .. } => {
            let entry = inbox
                .get(&IdempotencyKey::new(key.as_str()))
                .await
                .context("cannot read the inbox")?;
            match entry {
                Some(entry) => {
                    let history = inbox
                        .attempts(&entry.key)
                        .await
                        .context("cannot read the inbox")?;
                    view::show(&entry, &history, json)?;
                    Ok(Exit::Success)
                }
                None => {
                    eprintln!("runhook: no row with the key {key:?} in the inbox");
                    Ok(Exit::Failure)
                }
            }
        }
        Command::Replay {
            key: Some(key),
            force,
            ..
        } => replay_one(inbox.as_ref(), &key, force).await,
        Command::Replay { key: None, .. } => replay_dead(inbox.as_ref()).await,
        Command::Retry { filter, json, .. } => {
            retry::retry_pending(inbox.as_ref(), filter, json).await
        }
        Command::Purge { done_before, .. } => {
            let before = SystemTime::now()
                .checked_sub(done_before)
                .unwrap_or(SystemTime::UNIX_EPOCH);
            let purged = inbox
                .purge(Purge::Done, before)
                .await
                .context("cannot purge the inbox")?;
            out::line(&format!(
                "purged {purged} done row(s) finished before {}",
                crate::timefmt::rfc3339(before)
            ))?;
            Ok(Exit::Success)
        }
    }
}

/// `replay KEY`: the row must be dead; with `--force`, done or dead.
async fn replay_one(inbox: &dyn Inbox, key: &str, force: bool) -> anyhow::Result<Exit> {
    let id = IdempotencyKey::new(key);
    let now = SystemTime::now();
    let replayed = if force {
        inbox.replay_finished(&id, now).await
    } else {
        inbox.replay(&id, now).await
    };
    if replayed.context("cannot replay")? {
        out::line(&format!("replayed {key}"))?;
        return Ok(Exit::Success);
    }
    match inbox.get(&id).await.context("cannot read the inbox")? {
        None => eprintln!("runhook: no row with the key {key:?} in the inbox; nothing replayed"),
        Some(entry) if entry.state == InboxState::Pending => eprintln!(
            "runhook: the row {key:?} is pending, not dead; only dead rows are replayed (and \
             done ones with --force). To try it now rather than at its next attempt ({}), run \
             `runhook inbox retry --pending --filter key={key}`",
            crate::timefmt::rfc3339(entry.next_at)
        ),
        Some(entry) => eprintln!(
            "runhook: the row {key:?} is {}, not dead; only dead rows are replayed (add --force \
             to replay a done row: its handler runs again)",
            entry.state
        ),
    }
    Ok(Exit::Failure)
}

/// `replay --all-dead`: each dead row, one line each, then the count.
async fn replay_dead(inbox: &dyn Inbox) -> anyhow::Result<Exit> {
    const PAGE: usize = 500;
    let mut dead = Vec::new();
    let mut filter = InboxFilter::first(PAGE).in_state(InboxState::Dead);
    loop {
        let page = inbox.list(&filter).await.context("cannot list the inbox")?;
        let Some(last) = page.last() else { break };
        filter = filter.after(last);
        let full = page.len() == PAGE;
        dead.extend(page.into_iter().map(|entry| entry.key));
        if !full {
            break;
        }
    }
    let mut replayed = 0u64;
    let now = SystemTime::now();
    for key in dead {
        // A row replayed meanwhile by someone else is no longer dead: skipped.
        if inbox.replay(&key, now).await.context("cannot replay")? {
            out::line(&format!("replayed {key}"))?;
            replayed += 1;
        }
    }
    out::line(&format!("replayed {replayed} dead row(s)"))?;
    Ok(Exit::Success)
}

/// Parses `--state`: pending, done or dead.
fn parse_state(text: &str) -> Result<InboxState, String> {
    text.parse()
}

/// Parses a duration: a whole number followed by `ms`, `s`, `m`, `h` or `d` (`72h`, `30m`, `7d`).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let usage =
        || format!("{text:?} is not a duration: use a number and a unit, e.g. 72h, 30m, 7d");
    let number: u64 = number.parse().map_err(|_| usage())?;
    let unit_ms: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(usage()),
    };
    number
        .checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(usage)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_number_and_a_unit() {
        assert_eq!(
            parse_duration("72h").unwrap(),
            Duration::from_secs(72 * 3600)
        );
        assert_eq!(parse_duration("30m").unwrap(), Duration::from_secs(1800));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86400)
        );
        assert_eq!(parse_duration("0s").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in [
            "",
            "h",
            "72",
            "1.5h",
            "-1h",
            "3 weeks",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}

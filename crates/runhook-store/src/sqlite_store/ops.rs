//! The store's operations as SQL, each run by the writer inside its open transaction, under
//! the operation's own savepoint.

use std::time::Duration;

use runhook::store::{Claim, ClaimToken, KeyState};
use rusqlite::{Connection, OptionalExtension, params};

use super::PURGE_LIMIT;
use crate::PURGE_MARGIN;
use crate::millis::millis;
use crate::sqlite::Failure;

/// What a settlement does to the claim its token holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Settle {
    Complete,
    Renew,
    Release,
}

/// A store operation, with times in ms since the epoch.
#[derive(Debug)]
pub(crate) enum Op {
    Claim {
        key: String,
        now: i64,
        lease: i64,
    },
    Settle {
        key: String,
        token: u64,
        now: i64,
        span: i64,
        kind: Settle,
    },
    State {
        key: String,
        now: i64,
    },
    Purge {
        now: i64,
    },
    Count,
}

impl Op {
    /// Whether it may write (so its transaction takes the write lock at `BEGIN`).
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self,
            Op::Claim { .. } | Op::Settle { .. } | Op::Purge { .. }
        )
    }

    /// The time of a claim (the writer purges after every so many claims, at the claim's time).
    pub(crate) fn claimed_at(&self) -> Option<i64> {
        match self {
            Op::Claim { now, .. } => Some(*now),
            _ => None,
        }
    }
}

/// A store operation's answer.
#[derive(Debug)]
pub(crate) enum Reply {
    Claim(Claim),
    Settled(bool),
    State(KeyState),
    Count(u64),
}

/// Runs one operation inside the open transaction.
pub(crate) fn apply(connection: &Connection, op: Op) -> Result<Reply, Failure> {
    match op {
        Op::Claim { key, now, lease } => claim(connection, &key, now, lease).map(Reply::Claim),
        Op::Settle {
            key,
            token,
            now,
            span,
            kind,
        } => settle(connection, &key, token, now, span, kind).map(Reply::Settled),
        Op::State { key, now } => state(connection, &key, now).map(Reply::State),
        Op::Purge { now } => purge(connection, now).map(Reply::Count),
        Op::Count => count(connection).map(Reply::Count),
    }
}

/// Claims `key` at `now` for `lease` ms: reads the row, then (if it is absent or expired) takes
/// the next token and writes the claim.
fn claim(connection: &Connection, key: &str, now: i64, lease: i64) -> Result<Claim, Failure> {
    let row: Option<(bool, i64)> = connection
        .prepare_cached("SELECT done, until_ms FROM runhook_idempotency WHERE key = ?1")?
        .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    if let Some((done, until)) = row
        && until > now
    {
        return Ok(if done {
            Claim::Done
        } else {
            Claim::InFlight {
                retry_after: Duration::from_millis((until - now).unsigned_abs()),
            }
        });
    }
    let token: i64 = connection
        .prepare_cached("UPDATE runhook_token SET last = last + 1 WHERE id = 1 RETURNING last")?
        .query_row([], |row| row.get(0))?;
    connection
        .prepare_cached(
            "INSERT INTO runhook_idempotency (key, done, token, until_ms) VALUES (?1, 0, ?2, ?3)
             ON CONFLICT (key) DO UPDATE
             SET done = 0, token = excluded.token, until_ms = excluded.until_ms",
        )?
        .execute(params![key, token, now.saturating_add(lease)])?;
    Ok(Claim::Acquired(ClaimToken::new(token.unsigned_abs())))
}

/// Completes, renews or releases the claim `token` holds: `false` if it holds none (also after
/// a takeover, or once the key is done).
fn settle(
    connection: &Connection,
    key: &str,
    token: u64,
    now: i64,
    span: i64,
    kind: Settle,
) -> Result<bool, Failure> {
    let Ok(token) = i64::try_from(token) else {
        return Ok(false);
    };
    let until = now.saturating_add(span);
    let changed = match kind {
        Settle::Complete => connection
            .prepare_cached(
                "UPDATE runhook_idempotency SET done = 1, until_ms = ?3
                 WHERE key = ?1 AND done = 0 AND token = ?2",
            )?
            .execute(params![key, token, until])?,
        Settle::Renew => connection
            .prepare_cached(
                "UPDATE runhook_idempotency SET until_ms = ?3
                 WHERE key = ?1 AND done = 0 AND token = ?2",
            )?
            .execute(params![key, token, until])?,
        Settle::Release => connection
            .prepare_cached(
                "DELETE FROM runhook_idempotency WHERE key = ?1 AND done = 0 AND token = ?2",
            )?
            .execute(params![key, token])?,
    };
    Ok(changed == 1)
}

/// The state of `key` at `now`.
fn state(connection: &Connection, key: &str, now: i64) -> Result<KeyState, Failure> {
    let row: Option<(bool, i64)> = connection
        .prepare_cached("SELECT done, until_ms FROM runhook_idempotency WHERE key = ?1")?
        .query_row([key], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(match row {
        Some((true, until)) if until > now => KeyState::Done,
        Some((false, until)) if until > now => KeyState::InFlight,
        _ => KeyState::Absent,
    })
}

/// One purge: completed keys past their retention, then claims [`PURGE_MARGIN`] past their
/// lease, at most [`PURGE_LIMIT`] rows in all (each an index range on `(done, until_ms)`).
pub(crate) fn purge(connection: &Connection, now: i64) -> Result<u64, Failure> {
    let limit = i64::try_from(PURGE_LIMIT).unwrap_or(i64::MAX);
    let delete = |done: bool, before: i64, limit: i64| -> Result<i64, Failure> {
        let deleted = connection
            .prepare_cached(
                "DELETE FROM runhook_idempotency WHERE key IN (
                   SELECT key FROM runhook_idempotency
                   WHERE done = ?1 AND until_ms <= ?2 LIMIT ?3)",
            )?
            .execute(params![done, before, limit])?;
        Ok(i64::try_from(deleted).unwrap_or(i64::MAX))
    };
    let done = delete(true, now, limit)?;
    let mut deleted = done;
    if done < limit {
        deleted += delete(
            false,
            now.saturating_sub(millis(PURGE_MARGIN)),
            limit - done,
        )?;
    }
    Ok(deleted.unsigned_abs())
}

/// The rows the table holds, expired ones included.
fn count(connection: &Connection) -> Result<u64, Failure> {
    let rows: i64 =
        connection.query_row("SELECT COUNT(*) FROM runhook_idempotency", [], |row| {
            row.get(0)
        })?;
    Ok(rows.unsigned_abs())
}

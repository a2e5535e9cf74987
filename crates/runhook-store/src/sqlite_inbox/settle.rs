//! How [`SqliteInbox`](super::SqliteInbox) ends an attempt: the row's update, fenced by the
//! token, and the attempt added to the row's history (its newest
//! [`ATTEMPT_HISTORY_LIMIT`](runhook::inbox::ATTEMPT_HISTORY_LIMIT) kept), in the operation's
//! savepoint.

use runhook::inbox::ATTEMPT_HISTORY_LIMIT;
use rusqlite::{Connection, OptionalExtension, params};

use super::ops::{End, Reply};
use crate::inbox_row::Recorded;
use crate::sqlite::Failure;

/// Adds an attempt to a row's history (the same attempt again replaces it).
const RECORD: &str = "INSERT INTO runhook_inbox_attempts
       (key, series, attempt, started_at, finished_at, outcome, error, next_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
     ON CONFLICT (key, series, attempt) DO UPDATE SET
       started_at = excluded.started_at, finished_at = excluded.finished_at,
       outcome = excluded.outcome, error = excluded.error, next_at = excluded.next_at";

/// Deletes the attempts of `?1` older than its newest [`ATTEMPT_HISTORY_LIMIT`].
fn trim() -> String {
    format!(
        "DELETE FROM runhook_inbox_attempts
         WHERE key = ?1 AND (series, attempt) <= (
           SELECT series, attempt FROM runhook_inbox_attempts WHERE key = ?1
           ORDER BY series DESC, attempt DESC LIMIT 1 OFFSET {ATTEMPT_HISTORY_LIMIT})"
    )
}

/// Ends the attempt `token` holds on `key` as `end` says, and records it: one row changed, or
/// none if `token` holds it no more.
pub(super) fn settle(
    connection: &Connection,
    key: &str,
    token: i64,
    now: i64,
    end: &End,
    recorded: &Recorded,
) -> Result<Reply, Failure> {
    // A settled row keeps its token but loses its lease: the token holds it no more.
    const HELD: &str = "WHERE key = ?1 AND token = ?2 AND state = 'pending' \
                        AND lease_until IS NOT NULL \
                        RETURNING replays, attempts, claimed_at";
    let settled = |sql: String, params: &[&dyn rusqlite::ToSql]| {
        connection
            .prepare_cached(&sql)?
            .query_row(params, |row| {
                Ok((
                    row.get::<_, i64>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, Option<i64>>(2)?,
                ))
            })
            .optional()
    };
    let row = match end {
        End::Done => settled(
            format!(
                "UPDATE runhook_inbox SET state = 'done', finished_at = ?3, lease_until = NULL \
                 {HELD}"
            ),
            params![key, token, now],
        )?,
        End::Retry { at, error } => settled(
            format!(
                "UPDATE runhook_inbox SET next_at = ?3, last_error = ?4, lease_until = NULL \
                 {HELD}"
            ),
            params![key, token, at, error],
        )?,
        End::Dead { error } => settled(
            format!(
                "UPDATE runhook_inbox
                 SET state = 'dead', finished_at = ?3, last_error = ?4, lease_until = NULL {HELD}"
            ),
            params![key, token, now, error],
        )?,
    };
    let Some((series, attempt, claimed_at)) = row else {
        return Ok(Reply::Changed(0));
    };
    // A row claimed before the claim time was kept (schema version 3) started at its settlement.
    let started_at = claimed_at.unwrap_or(now);
    connection.prepare_cached(RECORD)?.execute(params![
        key,
        series,
        attempt,
        started_at,
        now,
        recorded.outcome,
        recorded.error,
        recorded.next_at
    ])?;
    connection.prepare_cached(&trim())?.execute([key])?;
    Ok(Reply::Changed(1))
}

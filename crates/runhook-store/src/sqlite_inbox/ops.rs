//! The statements of [`SqliteInbox`](super::SqliteInbox): each operation, run by the writer
//! thread inside the transaction of its group, under the operation's own savepoint.

use bytes::Bytes;
use rusqlite::{Connection, OptionalExtension, Row, params};

use super::console;
use crate::inbox_row::{COLUMNS, ClaimBounds, RawEntry, Recorded};
use crate::sqlite::Failure;

/// One operation, its times already in milliseconds since the epoch.
#[derive(Debug)]
pub(crate) enum Op {
    Insert {
        key: String,
        run_id: Option<String>,
        event: String,
        received_at: i64,
        body: Bytes,
        drift: String,
        source: &'static str,
    },
    Claim(ClaimBounds),
    Renew {
        key: String,
        token: i64,
        lease_until: i64,
    },
    /// Ends the attempt, and adds it to the row's history as `recorded` says.
    Settle {
        key: String,
        token: i64,
        now: i64,
        end: End,
        recorded: Recorded,
    },
    Get {
        key: String,
    },
    List {
        state: Option<&'static str>,
        after: Option<(i64, String)>,
        limit: i64,
    },
    /// Makes the waiting pending rows of the filter due at `now`.
    RetryPending {
        key: Option<String>,
        run_id_prefix: Option<String>,
        event: Option<String>,
        now: i64,
    },
    Purge {
        state: &'static str,
        before: i64,
    },
    /// What a console reads, replays and purges.
    Console(console::Op),
}

impl Op {
    /// Whether it may write (so its transaction takes the write lock at `BEGIN`).
    pub(crate) fn writes(&self) -> bool {
        match self {
            Op::Get { .. } | Op::List { .. } => false,
            Op::Console(op) => op.writes(),
            _ => true,
        }
    }
}

/// How a settle ends an attempt.
#[derive(Debug)]
pub(crate) enum End {
    Done,
    Retry { at: i64, error: String },
    Dead { error: String },
}

/// What an operation answers.
#[derive(Debug)]
pub(crate) enum Reply {
    /// `None`: a new row; otherwise the state of the row already there.
    Inserted(Option<String>),
    /// Rows read or claimed (a claimed row carries its new token).
    Rows(Vec<RawEntry>),
    /// How many rows an update or delete touched.
    Changed(u64),
    /// The depth counts: pending, held, retrying, done, dead; the oldest pending row's receipt.
    Depth([i64; 5], Option<i64>),
    /// Activity counts: kind (`received`, `done`, `dead`), minute start, count.
    Activity(Vec<(String, i64, i64)>),
    /// A row's attempt history, oldest first.
    Attempts(Vec<crate::inbox_row::RawAttempt>),
}

/// The rows that are due at `?1`, earliest due first, at most `?2`: pending, due, not leased,
/// and for a row of a run, the run's oldest pending row while no row of the run is leased. The
/// order is the partial index `runhook_inbox_pending`'s, so the scan stops at the limit: named,
/// since without statistics SQLite would rather walk the state index and sort the backlog.
const DUE: &str = "SELECT key FROM runhook_inbox AS r INDEXED BY runhook_inbox_pending
     WHERE r.state = 'pending' AND r.next_at <= ?1
       AND (r.lease_until IS NULL OR r.lease_until <= ?1)
       AND (r.run_id IS NULL OR (
         NOT EXISTS (SELECT 1 FROM runhook_inbox AS o
                     WHERE o.run_id = r.run_id AND o.state = 'pending'
                       AND (o.received_at, o.key) < (r.received_at, r.key))
         AND NOT EXISTS (SELECT 1 FROM runhook_inbox AS o
                         WHERE o.run_id = r.run_id AND o.state = 'pending'
                           AND o.lease_until > ?1)))
     ORDER BY r.next_at, r.key
     LIMIT ?2";

/// Runs `op` in the writer's open transaction.
pub(crate) fn apply(connection: &Connection, op: Op) -> Result<Reply, Failure> {
    match &op {
        Op::Insert {
            key,
            run_id,
            event,
            received_at,
            body,
            drift,
            source,
        } => insert(
            connection,
            NewRow {
                key,
                run_id: run_id.as_deref(),
                event,
                received_at: *received_at,
                body,
                drift,
                source,
            },
        ),
        Op::Claim(bounds) => claim(connection, *bounds).map(Reply::Rows),
        Op::Renew {
            key,
            token,
            lease_until,
        } => changed(
            connection,
            "UPDATE runhook_inbox SET lease_until = ?3
             WHERE key = ?1 AND token = ?2 AND state = 'pending' AND lease_until IS NOT NULL",
            params![key, token, lease_until],
        ),
        Op::Settle {
            key,
            token,
            now,
            end,
            recorded,
        } => super::settle::settle(connection, key, *token, *now, end, recorded),
        Op::Get { key } => {
            let sql = format!("SELECT {COLUMNS} FROM runhook_inbox WHERE key = ?1");
            let row = connection
                .prepare_cached(&sql)?
                .query_row([key], raw_entry)
                .optional()?;
            Ok(Reply::Rows(row.into_iter().collect()))
        }
        Op::List {
            state,
            after,
            limit,
        } => list(connection, *state, after.as_ref(), *limit).map(Reply::Rows),
        Op::RetryPending {
            key,
            run_id_prefix,
            event,
            now,
        } => changed(
            connection,
            "UPDATE runhook_inbox SET next_at = ?4
             WHERE state = 'pending' AND next_at > ?4
               AND (lease_until IS NULL OR lease_until <= ?4)
               AND (?1 IS NULL OR key = ?1)
               AND (?2 IS NULL OR substr(run_id, 1, length(?2)) = ?2)
               AND (?3 IS NULL OR event = ?3)",
            params![key, run_id_prefix, event, now],
        ),
        Op::Purge { state, before } => {
            // The histories first, while their rows still say which they are.
            connection
                .prepare_cached(
                    "DELETE FROM runhook_inbox_attempts WHERE key IN (
                       SELECT key FROM runhook_inbox WHERE state = ?1 AND finished_at < ?2)",
                )?
                .execute(params![state, before])?;
            changed(
                connection,
                "DELETE FROM runhook_inbox WHERE state = ?1 AND finished_at < ?2",
                params![state, before],
            )
        }
        Op::Console(op) => console::apply(connection, op),
    }
}

pub(super) fn changed(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Reply, Failure> {
    let rows = connection.prepare_cached(sql)?.execute(params)?;
    Ok(Reply::Changed(rows as u64))
}

/// A new row's columns.
struct NewRow<'a> {
    key: &'a str,
    run_id: Option<&'a str>,
    event: &'a str,
    received_at: i64,
    body: &'a [u8],
    drift: &'a str,
    source: &'a str,
}

fn insert(connection: &Connection, row: NewRow<'_>) -> Result<Reply, Failure> {
    let NewRow {
        key,
        run_id,
        event,
        received_at,
        body,
        drift,
        source,
    } = row;
    let inserted = connection
        .prepare_cached(
            "INSERT INTO runhook_inbox (key, run_id, event, received_at, body, drift, state,
                                        attempts, next_at, token, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?4, 0, ?7)
             ON CONFLICT (key) DO NOTHING",
        )?
        .execute(params![
            key,
            run_id,
            event,
            received_at,
            body,
            drift,
            source
        ])?;
    if inserted == 1 {
        return Ok(Reply::Inserted(None));
    }
    // In the writer's transaction: the row that conflicted is still there.
    let state: String = connection
        .prepare_cached("SELECT state FROM runhook_inbox WHERE key = ?1")?
        .query_row([key], |row| row.get(0))?;
    Ok(Reply::Inserted(Some(state)))
}

/// Claims the due rows (in the operation's savepoint, so a failure claims none of them).
fn claim(savepoint: &Connection, bounds: ClaimBounds) -> Result<Vec<RawEntry>, Failure> {
    let ClaimBounds {
        now,
        lease_until,
        limit,
    } = bounds;
    let keys = savepoint
        .prepare_cached(DUE)?
        .query_map(params![now, limit], |row| row.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let count = i64::try_from(keys.len()).unwrap_or(i64::MAX);
    let last: i64 = savepoint
        .prepare_cached(
            "UPDATE runhook_inbox_token SET last = last + ?1 WHERE id = 1 RETURNING last",
        )?
        .query_row([count], |row| row.get(0))?;
    let sql = format!(
        "UPDATE runhook_inbox
         SET attempts = attempts + 1, lease_until = ?2, token = ?3, claimed_at = ?4
         WHERE key = ?1 RETURNING {COLUMNS}"
    );
    let mut claimed = Vec::with_capacity(keys.len());
    {
        let mut update = savepoint.prepare_cached(&sql)?;
        for (token, key) in (last - count + 1..).zip(&keys) {
            claimed.push(update.query_row(params![key, lease_until, token, now], raw_entry)?);
        }
    }
    Ok(claimed)
}

fn list(
    connection: &Connection,
    state: Option<&str>,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<RawEntry>, Failure> {
    let sql = format!(
        "SELECT {COLUMNS} FROM runhook_inbox
         WHERE (?1 IS NULL OR state = ?1)
           AND (?2 IS NULL OR (received_at, key) > (?2, ?3))
         ORDER BY received_at, key
         LIMIT ?4"
    );
    let (at, key) = after.map_or((None, None), |(at, key)| (Some(*at), Some(key.as_str())));
    let rows = connection
        .prepare_cached(&sql)?
        .query_map(params![state, at, key, limit], raw_entry)?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub(super) fn raw_entry(row: &Row<'_>) -> rusqlite::Result<RawEntry> {
    Ok(RawEntry {
        key: row.get(0)?,
        run_id: row.get(1)?,
        event: row.get(2)?,
        received_at: row.get(3)?,
        body: row.get(4)?,
        drift: row.get(5)?,
        state: row.get(6)?,
        attempts: row.get(7)?,
        next_at: row.get(8)?,
        lease_until: row.get(9)?,
        token: row.get(10)?,
        last_error: row.get(11)?,
        finished_at: row.get(12)?,
        source: row.get(13)?,
        replays: row.get(14)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

    use rusqlite::Connection;

    use super::DUE;
    use crate::sqlite::{Component, migrate};

    /// The claim walks the pending index in its order and stops at the limit: no sort of the
    /// backlog, and no scan of the table.
    #[test]
    fn a_claim_walks_the_pending_index_without_sorting() {
        let connection = Connection::open_in_memory().unwrap();
        migrate(&connection, Component::Inbox).unwrap();
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {DUE}"))
            .unwrap();
        let plan: Vec<String> = statement
            .query_map(rusqlite::params![0_i64, 16_i64], |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(
            plan.contains("SEARCH r USING INDEX runhook_inbox_pending (next_at<?)"),
            "{plan}"
        );
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        assert!(!plan.contains("SCAN"), "{plan}");
    }
}

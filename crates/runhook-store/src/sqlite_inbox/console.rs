//! The statements of what a console does with [`SqliteInbox`](super::SqliteInbox): pages of
//! rows, activity per minute, depth, attempt histories, replays and the purge of one row. The
//! SQL of pages, activity and depth is the one both durable inboxes share
//! ([`inbox_console`](crate::inbox_console)).

use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, ToSql, params, params_from_iter};

use super::ops::{Reply, changed, raw_entry};
use crate::inbox_console::{self, Dialect, Param};
use crate::inbox_row::{ATTEMPT_COLUMNS, RawAttempt};
use crate::sqlite::Failure;

/// The inbox's table.
pub(super) const TABLE: &str = "runhook_inbox";

/// How the statements shared with PostgreSQL are written for it.
pub(super) const DIALECT: Dialect<'static> = Dialect {
    table: TABLE,
    mark: '?',
    indexed_by: Some(TABLE),
};

/// One console operation, its times already in milliseconds since the epoch.
#[derive(Debug)]
pub(crate) enum Op {
    /// A page: its statement and parameters, from [`inbox_console::browse`].
    Browse { sql: String, params: Vec<Param> },
    /// The counts of a window (start, end).
    Activity { start: i64, end: i64 },
    /// A row's attempt history.
    Attempts { key: String },
    /// The depth counts at `now`.
    Depth { now: i64 },
    /// Replays the row of `key` if it is dead (or, with `finished`, done or dead).
    Replay {
        key: String,
        now: i64,
        finished: bool,
    },
    /// Replays the dead rows of a filter: its statement and parameters, from
    /// [`inbox_console::replay_dead_matching`].
    ReplayMatching { sql: String, params: Vec<Param> },
    /// Deletes the finished row of `key` and its history.
    PurgeKey { key: String },
}

impl Op {
    /// Whether it may write.
    pub(super) fn writes(&self) -> bool {
        matches!(
            self,
            Op::Replay { .. } | Op::ReplayMatching { .. } | Op::PurgeKey { .. }
        )
    }
}

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Param::Text(text) => ToSqlOutput::Owned(Value::Text(text.clone())),
            Param::Int(int) => ToSqlOutput::Owned(Value::Integer(*int)),
        })
    }
}

/// Runs `op` in the writer's open transaction.
pub(super) fn apply(connection: &Connection, op: &Op) -> Result<Reply, Failure> {
    match op {
        // Built for the query's conditions: prepared each time, not kept among the cached
        // statements of the hot path.
        Op::Browse { sql, params } => {
            let rows = connection
                .prepare(sql)?
                .query_map(params_from_iter(params), raw_entry)?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Reply::Rows(rows))
        }
        Op::Activity { start, end } => {
            let counts = connection
                .prepare_cached(&inbox_console::activity(DIALECT))?
                .query_map(params![start, end], |row| {
                    Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Reply::Activity(counts))
        }
        Op::Attempts { key } => {
            let sql = format!(
                "SELECT {ATTEMPT_COLUMNS} FROM runhook_inbox_attempts WHERE key = ?1 \
                 ORDER BY series, attempt LIMIT {}",
                runhook::inbox::ATTEMPT_HISTORY_LIMIT
            );
            let attempts = connection
                .prepare_cached(&sql)?
                .query_map([key], |row| {
                    Ok(RawAttempt {
                        series: row.get(0)?,
                        attempt: row.get(1)?,
                        started_at: row.get(2)?,
                        finished_at: row.get(3)?,
                        outcome: row.get(4)?,
                        error: row.get(5)?,
                        next_at: row.get(6)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Reply::Attempts(attempts))
        }
        Op::Depth { now } => {
            let (counts, oldest) = connection
                .prepare_cached(&inbox_console::depth(DIALECT))?
                .query_row([now], |row| {
                    let mut counts = [0_i64; 5];
                    for (i, count) in counts.iter_mut().enumerate() {
                        *count = row.get(i)?;
                    }
                    Ok((counts, row.get(5)?))
                })?;
            Ok(Reply::Depth(counts, oldest))
        }
        Op::Replay { key, now, finished } => {
            let states = if *finished {
                "('done', 'dead')"
            } else {
                "('dead')"
            };
            let sql = format!(
                "UPDATE {TABLE} SET {} WHERE key = ?1 AND state IN {states}",
                inbox_console::revive("?2")
            );
            changed(connection, &sql, params![key, now])
        }
        Op::ReplayMatching { sql, params } => {
            let replayed = connection.prepare(sql)?.execute(params_from_iter(params))?;
            Ok(Reply::Changed(replayed as u64))
        }
        Op::PurgeKey { key } => {
            let deleted = connection
                .prepare_cached(
                    "DELETE FROM runhook_inbox WHERE key = ?1 AND state IN ('done', 'dead')",
                )?
                .execute([key])?;
            if deleted > 0 {
                connection
                    .prepare_cached("DELETE FROM runhook_inbox_attempts WHERE key = ?1")?
                    .execute([key])?;
            }
            Ok(Reply::Changed(deleted as u64))
        }
    }
}

//! The statements of [`SqliteReconcileState`](super::SqliteReconcileState): each operation, run
//! by the writer thread inside the transaction of its group, under the operation's own
//! savepoint (so a batch of many run ids is written all or not at all).

use std::sync::Arc;

use rusqlite::{Connection, OptionalExtension, params};

use crate::sqlite::Failure;

/// One operation of one scope, its times already in milliseconds since the epoch.
#[derive(Debug)]
pub(crate) enum Op {
    Watermark {
        scope: Arc<str>,
    },
    SetWatermark {
        scope: Arc<str>,
        at: i64,
    },
    /// Run ids (distinct) and their `since`.
    Watch {
        scope: Arc<str>,
        runs: Vec<(String, i64)>,
    },
    Watched {
        scope: Arc<str>,
        limit: i64,
    },
    Len {
        scope: Arc<str>,
    },
    Unwatch {
        scope: Arc<str>,
        run_ids: Vec<String>,
    },
}

impl Op {
    /// Whether it may write (so its transaction takes the write lock at `BEGIN`).
    pub(crate) fn writes(&self) -> bool {
        matches!(
            self,
            Op::SetWatermark { .. } | Op::Watch { .. } | Op::Unwatch { .. }
        )
    }
}

/// What an operation answers.
#[derive(Debug)]
pub(crate) enum Reply {
    /// The scope's watermark, if set.
    Watermark(Option<i64>),
    /// Watched runs, longest watched first.
    Watched(Vec<(String, i64)>),
    /// A count: of the watch list, or of the runs taken off it.
    Count(u64),
    /// Written.
    Done,
}

/// A scope's watched runs, longest watched first, at most `?2`: the order of the index
/// `runhook_reconcile_watch_since`, so the scan stops at the limit.
const WATCHED: &str = "SELECT run_id, since_ms FROM runhook_reconcile_watch WHERE scope = ?1
     ORDER BY since_ms, run_id LIMIT ?2";

/// Runs `op` in the writer's open transaction.
pub(crate) fn apply(connection: &Connection, op: Op) -> Result<Reply, Failure> {
    match op {
        Op::Watermark { scope } => {
            let at = connection
                .prepare_cached("SELECT watermark_ms FROM runhook_reconcile WHERE scope = ?1")?
                .query_row([&*scope], |row| row.get(0))
                .optional()?;
            Ok(Reply::Watermark(at))
        }
        Op::SetWatermark { scope, at } => {
            connection
                .prepare_cached(
                    "INSERT INTO runhook_reconcile (scope, watermark_ms) VALUES (?1, ?2)
                     ON CONFLICT (scope) DO UPDATE SET watermark_ms = excluded.watermark_ms",
                )?
                .execute(params![&*scope, at])?;
            Ok(Reply::Done)
        }
        Op::Watch { scope, runs } => {
            let mut insert = connection.prepare_cached(
                "INSERT INTO runhook_reconcile_watch (scope, run_id, since_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (scope, run_id) DO NOTHING",
            )?;
            for (run_id, since) in &runs {
                insert.execute(params![&*scope, run_id, since])?;
            }
            Ok(Reply::Done)
        }
        Op::Watched { scope, limit } => {
            let runs = connection
                .prepare_cached(WATCHED)?
                .query_map(params![&*scope, limit], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Reply::Watched(runs))
        }
        Op::Len { scope } => {
            let count: i64 = connection
                .prepare_cached("SELECT COUNT(*) FROM runhook_reconcile_watch WHERE scope = ?1")?
                .query_row([&*scope], |row| row.get(0))?;
            Ok(Reply::Count(count.unsigned_abs()))
        }
        Op::Unwatch { scope, run_ids } => {
            let mut delete = connection.prepare_cached(
                "DELETE FROM runhook_reconcile_watch WHERE scope = ?1 AND run_id = ?2",
            )?;
            let mut removed = 0_u64;
            for run_id in &run_ids {
                removed += delete.execute(params![&*scope, run_id])? as u64;
            }
            Ok(Reply::Count(removed))
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

    use rusqlite::Connection;

    use super::WATCHED;
    use crate::sqlite::{Component, migrate};

    /// `watched` walks the (scope, since, run id) index in its order and stops at the limit.
    #[test]
    fn watched_walks_its_index_without_sorting() {
        let connection = Connection::open_in_memory().unwrap();
        migrate(&connection, Component::Reconcile).unwrap();
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {WATCHED}"))
            .unwrap();
        let plan: Vec<String> = statement
            .query_map(rusqlite::params!["s", 16_i64], |row| row.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("runhook_reconcile_watch_since"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }
}

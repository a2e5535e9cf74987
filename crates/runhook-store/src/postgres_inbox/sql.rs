//! The statements of [`PostgresInbox`](super::PostgresInbox), for one table.

use runhook::inbox::ATTEMPT_HISTORY_LIMIT;

use super::history;
use crate::inbox_console::{self, Dialect};
use crate::inbox_row::{ATTEMPT_COLUMNS, COLUMNS};

/// A row `r` is due at `$1`: pending, due, not leased, and for a row of a run, the run's oldest
/// pending row while no row of the run is leased.
///
/// `OFFSET 0` keeps each `NOT EXISTS` a lookup in the run index for the rows the scan reaches:
/// without it the planner may turn one into a hashed subplan, a scan of the whole table per
/// claim, or sort every due row before the limit.
fn due(table: &str) -> String {
    format!(
        "r.state = 'pending' AND r.next_at <= $1 \
         AND (r.lease_until IS NULL OR r.lease_until <= $1) \
         AND (r.run_id IS NULL OR (\
           NOT EXISTS (SELECT 1 FROM {table} AS o \
                       WHERE o.run_id = r.run_id AND o.state = 'pending' \
                         AND (o.received_at, o.key) < (r.received_at, r.key) OFFSET 0) \
           AND NOT EXISTS (SELECT 1 FROM {table} AS o \
                           WHERE o.run_id = r.run_id AND o.state = 'pending' \
                             AND o.lease_until > $1 OFFSET 0)))"
    )
}

/// Set on every connection of an inbox: each statement is planned for its own parameters and the
/// table as it is now. A generic plan, which a connection caches after a statement's fifth run
/// and keeps until the table's statistics change, was seen to look a key up by walking the whole
/// pending index (and a claim to sort the backlog) when cached while the table was empty, on a
/// server whose autovacuum had not analyzed the table since: milliseconds per settlement, growing
/// with the backlog. Planning each statement costs tens of microseconds.
pub(super) const SESSION: &str = "plan_cache_mode=force_custom_plan";

/// Set at the start of each claim's transaction: the claim walks the pending index in its order,
/// whatever the planner knows of the table. Without these a claim was seen to sort or scan the
/// whole backlog for every batch (hundreds of milliseconds with 100 000 rows): with the generic
/// plan a connection cached while the table was empty, or on a table never analyzed (autovacuum
/// off, or not yet run).
pub(super) const CLAIM_PLAN: &str = "SET LOCAL plan_cache_mode = force_custom_plan; \
     SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; \
     SET LOCAL enable_sort = off";

/// Set in the transaction of the depth counts and of the activity: they are counted from the
/// indexes (index-only where the visibility map allows), whatever the planner knows of the table.
/// Counting the done rows (most of a table that keeps them for days) or a day of activity, the
/// planner was seen to scan the whole table, bodies and all, when the table's pages were not yet
/// marked all-visible by a vacuum.
pub(super) const COUNT_PLAN: &str =
    "SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off";

/// How the statements shared with SQLite are written for `table`.
pub(super) fn dialect(table: &str) -> Dialect<'_> {
    Dialect {
        table,
        mark: '$',
        indexed_by: None,
    }
}

/// Every statement, with the table's name in it.
#[derive(Debug)]
pub(super) struct Statements {
    /// The table, schema-qualified and quoted (for the statements built per query).
    pub(super) table: String,
    pub(super) insert_many: String,
    pub(super) states: String,
    pub(super) candidates: String,
    pub(super) claim: String,
    pub(super) renew: String,
    pub(super) done: String,
    pub(super) done_many: String,
    pub(super) retry: String,
    pub(super) dead: String,
    pub(super) get: String,
    pub(super) list: String,
    pub(super) replay: String,
    pub(super) replay_finished: String,
    pub(super) retry_pending: String,
    pub(super) purge: String,
    pub(super) purge_key: String,
    pub(super) depth: String,
    pub(super) activity: String,
    pub(super) attempts: String,
    pub(super) lock: String,
}

impl Statements {
    /// The statements on `table` (schema-qualified and quoted), its tokens from `sequence`, the
    /// attempt histories in `history`.
    pub(super) fn new(table: &str, sequence: &str, history: &str) -> Self {
        let due = due(table);
        // A settled row keeps its token but loses its lease: the token holds it no more.
        let held =
            "WHERE key = $1 AND token = $2 AND state = 'pending' AND lease_until IS NOT NULL";
        Statements {
            table: table.to_owned(),
            // A group's rows, one array per column; the keys of those that were new.
            insert_many: format!(
                "INSERT INTO {table} (key, run_id, event, received_at, body, drift, state, \
                                      attempts, next_at, token, source) \
                 SELECT key, run_id, event, received_at, body, drift, 'pending', 0, received_at, \
                        0, source \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bytea[], \
                             $6::text[], $7::text[]) \
                      AS new (key, run_id, event, received_at, body, drift, source) \
                 ON CONFLICT (key) DO NOTHING \
                 RETURNING key"
            ),
            states: format!("SELECT key, state FROM {table} WHERE key = ANY($1)"),
            // The due rows no other claim is taking, earliest due first (the order of the
            // pending index, so the scan stops at the limit), locked; then the runs of those no
            // other claim is taking (a transaction-level advisory lock per run).
            candidates: format!(
                "WITH candidates AS MATERIALIZED (\
                   SELECT r.key, r.run_id FROM {table} AS r WHERE {due} \
                   ORDER BY r.next_at, r.key LIMIT $2 \
                   FOR UPDATE OF r SKIP LOCKED) \
                 SELECT key FROM candidates \
                 WHERE run_id IS NULL OR pg_try_advisory_xact_lock($3, hashtext(run_id))"
            ),
            // With a snapshot taken after the locks: the rule again, on what is committed now.
            claim: format!(
                "UPDATE {table} AS r \
                 SET attempts = r.attempts + 1, lease_until = $2, token = nextval('{sequence}'), \
                     claimed_at = $1 \
                 WHERE r.key = ANY($3) AND {due} \
                 RETURNING {COLUMNS}"
            ),
            renew: format!("UPDATE {table} SET lease_until = $3 {held}"),
            // $1 key, $2 token, $3 now, then what the history records: $4 outcome, $5 error,
            // $6 next due time.
            done: history::settle(table, history, "state = 'done', finished_at = $3"),
            done_many: history::done_many(table, history),
            retry: history::settle(table, history, "next_at = $6, last_error = $5"),
            dead: history::settle(
                table,
                history,
                "state = 'dead', finished_at = $3, last_error = $5",
            ),
            get: format!("SELECT {COLUMNS} FROM {table} WHERE key = $1"),
            list: format!(
                "SELECT {COLUMNS} FROM {table} \
                 WHERE ($1::text IS NULL OR state = $1) \
                   AND ($2::bigint IS NULL OR (received_at, key) > ($2, $3::text)) \
                 ORDER BY received_at, key LIMIT $4"
            ),
            replay: format!(
                "UPDATE {table} SET {} WHERE key = $1 AND state = 'dead'",
                inbox_console::revive("$2")
            ),
            replay_finished: format!(
                "UPDATE {table} SET {} WHERE key = $1 AND state IN ('done', 'dead')",
                inbox_console::revive("$2")
            ),
            // The waiting pending rows of the filter, due now.
            retry_pending: format!(
                "UPDATE {table} SET next_at = $4 \
                 WHERE state = 'pending' AND next_at > $4 \
                   AND (lease_until IS NULL OR lease_until <= $4) \
                   AND ($1::text IS NULL OR key = $1) \
                   AND ($2::text IS NULL OR left(run_id, length($2)) = $2) \
                   AND ($3::text IS NULL OR event = $3)"
            ),
            // A batch of rows and their histories.
            purge: format!(
                "WITH gone AS (\
                   DELETE FROM {table} WHERE ctid IN (\
                     SELECT ctid FROM {table} WHERE state = $1 AND finished_at < $2 LIMIT $3) \
                   AND state = $1 AND finished_at < $2 RETURNING key), \
                 forgotten AS (DELETE FROM {history} WHERE key IN (SELECT key FROM gone)) \
                 SELECT key FROM gone"
            ),
            purge_key: format!(
                "WITH gone AS (\
                   DELETE FROM {table} WHERE key = $1 AND state IN ('done', 'dead') \
                   RETURNING key), \
                 forgotten AS (DELETE FROM {history} WHERE key IN (SELECT key FROM gone)) \
                 SELECT key FROM gone"
            ),
            depth: inbox_console::depth(dialect(table)),
            activity: inbox_console::activity(dialect(table)),
            attempts: format!(
                "SELECT {ATTEMPT_COLUMNS} FROM {history} WHERE key = $1 \
                 ORDER BY series, attempt LIMIT {ATTEMPT_HISTORY_LIMIT}"
            ),
            lock: format!(
                "SELECT token, state, lease_until IS NOT NULL FROM {table} WHERE key = $1 FOR UPDATE"
            ),
        }
    }
}

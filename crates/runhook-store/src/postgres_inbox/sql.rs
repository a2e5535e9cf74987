//! The statements of [`PostgresInbox`](super::PostgresInbox), for one table.

use crate::inbox_row::COLUMNS;

/// A row `r` is due at `$1`: pending, due, not leased, and for a row of a run, the run's oldest
/// pending row while no row of the run is leased.
fn due(table: &str) -> String {
    format!(
        "r.state = 'pending' AND r.next_at <= $1 \
         AND (r.lease_until IS NULL OR r.lease_until <= $1) \
         AND (r.run_id IS NULL OR (\
           NOT EXISTS (SELECT 1 FROM {table} AS o \
                       WHERE o.run_id = r.run_id AND o.state = 'pending' \
                         AND (o.received_at, o.key) < (r.received_at, r.key)) \
           AND NOT EXISTS (SELECT 1 FROM {table} AS o \
                           WHERE o.run_id = r.run_id AND o.state = 'pending' \
                             AND o.lease_until > $1)))"
    )
}

/// Every statement, with the table's name in it.
#[derive(Debug)]
pub(super) struct Statements {
    pub(super) insert: String,
    pub(super) state: String,
    pub(super) candidates: String,
    pub(super) claim: String,
    pub(super) renew: String,
    pub(super) done: String,
    pub(super) retry: String,
    pub(super) dead: String,
    pub(super) get: String,
    pub(super) list: String,
    pub(super) replay: String,
    pub(super) replay_dead: String,
    pub(super) purge: String,
    pub(super) depth: String,
    pub(super) lock: String,
}

impl Statements {
    /// The statements on `table` (schema-qualified and quoted), its tokens from `sequence`.
    pub(super) fn new(table: &str, sequence: &str) -> Self {
        let due = due(table);
        // A settled row keeps its token but loses its lease: the token holds it no more.
        let held =
            "WHERE key = $1 AND token = $2 AND state = 'pending' AND lease_until IS NOT NULL";
        Statements {
            insert: format!(
                "INSERT INTO {table} (key, run_id, event, received_at, body, drift, state, \
                                      attempts, next_at, token) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $4, 0) \
                 ON CONFLICT (key) DO NOTHING"
            ),
            state: format!("SELECT state FROM {table} WHERE key = $1"),
            // The due rows no other claim is taking, oldest first, locked; then the runs of
            // those no other claim is taking (a transaction-level advisory lock per run).
            candidates: format!(
                "WITH candidates AS MATERIALIZED (\
                   SELECT r.key, r.run_id FROM {table} AS r WHERE {due} \
                   ORDER BY r.received_at, r.key LIMIT $2 \
                   FOR UPDATE OF r SKIP LOCKED) \
                 SELECT key FROM candidates \
                 WHERE run_id IS NULL OR pg_try_advisory_xact_lock($3, hashtext(run_id))"
            ),
            // With a snapshot taken after the locks: the rule again, on what is committed now.
            claim: format!(
                "UPDATE {table} AS r \
                 SET attempts = r.attempts + 1, lease_until = $2, token = nextval('{sequence}') \
                 WHERE r.key = ANY($3) AND {due} \
                 RETURNING {COLUMNS}"
            ),
            renew: format!("UPDATE {table} SET lease_until = $3 {held}"),
            done: format!(
                "UPDATE {table} SET state = 'done', finished_at = $3, lease_until = NULL {held}"
            ),
            retry: format!(
                "UPDATE {table} SET next_at = $3, last_error = $4, lease_until = NULL {held}"
            ),
            dead: format!(
                "UPDATE {table} \
                 SET state = 'dead', finished_at = $3, last_error = $4, lease_until = NULL {held}"
            ),
            get: format!("SELECT {COLUMNS} FROM {table} WHERE key = $1"),
            list: format!(
                "SELECT {COLUMNS} FROM {table} \
                 WHERE ($1::text IS NULL OR state = $1) \
                   AND ($2::bigint IS NULL OR (received_at, key) > ($2, $3::text)) \
                 ORDER BY received_at, key LIMIT $4"
            ),
            replay: format!(
                "UPDATE {table} SET state = 'pending', attempts = 0, next_at = $2, \
                   lease_until = NULL, finished_at = NULL \
                 WHERE key = $1 AND state = 'dead'"
            ),
            replay_dead: format!(
                "UPDATE {table} SET state = 'pending', attempts = 0, next_at = $1, \
                   lease_until = NULL, finished_at = NULL \
                 WHERE state = 'dead'"
            ),
            purge: format!(
                "DELETE FROM {table} WHERE ctid IN (\
                   SELECT ctid FROM {table} WHERE state = $1 AND finished_at < $2 LIMIT $3) \
                 AND state = $1 AND finished_at < $2"
            ),
            depth: format!(
                "SELECT state, COALESCE(lease_until > $1, false), count(*) FROM {table} \
                 GROUP BY 1, 2"
            ),
            lock: format!(
                "SELECT token, state, lease_until IS NOT NULL FROM {table} WHERE key = $1 FOR UPDATE"
            ),
        }
    }
}

/// The tables, created by migration 1 (`{schema}` and `{table}` quoted; `{name}` the table's
/// bare name, for its index and sequence names).
pub(super) fn create(schema: &str, table: &str, name: &str) -> String {
    format!(
        "CREATE SEQUENCE IF NOT EXISTS {schema}.\"{name}_token\" AS bigint MINVALUE 1; \
         CREATE TABLE IF NOT EXISTS {schema}.{table} (\
           key text COLLATE \"C\" PRIMARY KEY, \
           run_id text COLLATE \"C\", \
           event text NOT NULL, \
           received_at bigint NOT NULL, \
           body bytea NOT NULL, \
           drift text NOT NULL, \
           state text NOT NULL CHECK (state IN ('pending', 'done', 'dead')), \
           attempts integer NOT NULL, \
           next_at bigint NOT NULL, \
           lease_until bigint, \
           token bigint NOT NULL, \
           last_error text, \
           finished_at bigint); \
         CREATE INDEX IF NOT EXISTS \"{name}_due\" ON {schema}.{table} (state, next_at); \
         CREATE INDEX IF NOT EXISTS \"{name}_run\" \
           ON {schema}.{table} (run_id, state, received_at, key)"
    )
}

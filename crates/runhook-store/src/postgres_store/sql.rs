//! The statements of a [`PostgresStore`](super::PostgresStore).

/// Set on every connection of a store: the planner looks a group's keys up through the primary
/// key, one by one, whatever it knows of the table. Without these it was seen to scan the whole
/// table and hash it for a group of 256 keys on a table of 20 000 rows, whether analyzed or not,
/// and a generic plan cached while the table was small would keep doing so as it grows. Every
/// statement of the store (and of the lease and reconcile state on its pool) has an index to
/// walk; the settings only make the planner's other choices cost more, never impossible.
pub(super) const PINNED: [&str; 3] = [
    "enable_seqscan=off",
    "enable_hashjoin=off",
    "enable_mergejoin=off",
];

/// The statements of the store's operations, on one table and its token sequence.
#[derive(Clone)]
pub(super) struct Statements {
    pub(super) claim_many: String,
    pub(super) read_many: String,
    pub(super) complete_many: String,
    pub(super) renew: String,
    pub(super) release: String,
    pub(super) state: String,
    pub(super) purge: String,
}

impl Statements {
    /// The statements on `table_name` (schema-qualified, quoted) and its `sequence`.
    pub(super) fn new(table_name: &str, sequence: &str) -> Self {
        Statements {
            // A group's claims (distinct keys, in key order), one array per column: key, the
            // claimant's now, its lease end. A row is taken over only if it expired by that
            // claim's own clock. The keys (and tokens) of those acquired.
            claim_many: format!(
                "WITH c AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) \
                              AS c (key, now_ms, until_ms)) \
             INSERT INTO {table_name} AS r (key, state, token, until_ms) \
             SELECT key, 'in_flight', nextval('{sequence}'), until_ms FROM c \
             ON CONFLICT (key) DO UPDATE \
             SET state = 'in_flight', token = EXCLUDED.token, until_ms = EXCLUDED.until_ms \
             WHERE r.until_ms <= (SELECT c.now_ms FROM c WHERE c.key = EXCLUDED.key) \
             RETURNING key, token"
            ),
            read_many: format!(
                "SELECT key, state, until_ms FROM {table_name} WHERE key = ANY($1::text[])"
            ),
            // A group's completions: keys, tokens, ends of retention; the (key, token) of each
            // row still held.
            complete_many: format!(
                "UPDATE {table_name} AS r SET state = 'done', until_ms = d.until_ms \
             FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS d (key, token, until_ms) \
             WHERE r.key = d.key AND r.token = d.token AND r.state = 'in_flight' \
             RETURNING r.key, r.token"
            ),
            renew: format!(
                "UPDATE {table_name} SET until_ms = $3 \
             WHERE key = $1 AND token = $2 AND state = 'in_flight'"
            ),
            release: format!(
                "DELETE FROM {table_name} WHERE key = $1 AND token = $2 AND state = 'in_flight'"
            ),
            state: format!("SELECT state FROM {table_name} WHERE key = $1 AND until_ms > $2"),
            purge: format!(
                "DELETE FROM {table_name} WHERE ctid IN (\
               SELECT ctid FROM {table_name} \
               WHERE (state = 'done' AND until_ms <= $1) \
                  OR (state = 'in_flight' AND until_ms <= $2) \
               LIMIT $3) \
             AND ((state = 'done' AND until_ms <= $1) \
                  OR (state = 'in_flight' AND until_ms <= $2))"
            ),
        }
    }
}

//! The statements of a [`PostgresStore`](super::PostgresStore).

/// The statements of the store's operations, on one table and its token sequence.
#[derive(Clone)]
pub(super) struct Statements {
    pub(super) claim: String,
    pub(super) read: String,
    pub(super) complete: String,
    pub(super) renew: String,
    pub(super) release: String,
    pub(super) state: String,
    pub(super) purge: String,
}

impl Statements {
    /// The statements on `table_name` (schema-qualified, quoted) and its `sequence`.
    pub(super) fn new(table_name: &str, sequence: &str) -> Self {
        Statements {
            claim: format!(
                "INSERT INTO {table_name} AS r (key, state, token, until_ms) \
             VALUES ($1, 'in_flight', nextval('{sequence}'), $3) \
             ON CONFLICT (key) DO UPDATE \
             SET state = 'in_flight', token = EXCLUDED.token, until_ms = EXCLUDED.until_ms \
             WHERE r.until_ms <= $2 \
             RETURNING token"
            ),
            read: format!("SELECT state, until_ms FROM {table_name} WHERE key = $1"),
            complete: format!(
                "UPDATE {table_name} SET state = 'done', until_ms = $3 \
             WHERE key = $1 AND token = $2 AND state = 'in_flight'"
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

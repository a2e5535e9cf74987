//! The SQL of a [`PostgresStore`]: its statements, its identifiers and its migration.

use runhook::store::StoreError;

use super::connect::{MIGRATION_LOCK, unavailable, unavailable_message};
use super::{PostgresStore, SCHEMA_VERSION};

/// The statements of the store's operations, on one table and its token sequence.
#[derive(Clone)]
pub(super) struct Statements {
    pub(super) claim: String,
    pub(super) read: String,
    pub(super) complete: String,
    pub(super) renew: String,
    pub(super) release: String,
    pub(super) state: String,
    pub(super) prune: String,
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
            prune: format!(
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

impl PostgresStore {
    /// Creates the schema, the table and its sequence if missing, under an advisory lock, and
    /// records the schema version; refuses a table of a newer version.
    pub(super) async fn migrate(
        &self,
        schema: &str,
        table: &str,
        sequence: &str,
    ) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(unavailable)?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(unavailable)?;
        transaction
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; \
                 CREATE TABLE IF NOT EXISTS {schema}.runhook_schema_version (\
                   name text PRIMARY KEY, version integer NOT NULL)"
            ))
            .await
            .map_err(unavailable)?;
        let version: i32 = transaction
            .query_opt(
                &format!("SELECT version FROM {schema}.runhook_schema_version WHERE name = $1"),
                &[&self.config.table],
            )
            .await
            .map_err(unavailable)?
            .map_or(Ok(0), |row| row.try_get(0))
            .map_err(unavailable)?;
        if version > SCHEMA_VERSION {
            return Err(unavailable_message(format!(
                "PostgreSQL: the table {schema}.{table} is at schema version {version}, newer than \
                 this runhook-store's {SCHEMA_VERSION}: upgrade runhook-store"
            )));
        }
        if version < 1 {
            transaction
                .batch_execute(&format!(
                    "CREATE SEQUENCE IF NOT EXISTS {sequence} AS bigint MINVALUE 1; \
                     CREATE TABLE IF NOT EXISTS {schema}.{table} (\
                       key text PRIMARY KEY, \
                       state text NOT NULL CHECK (state IN ('in_flight', 'done')), \
                       token bigint NOT NULL, \
                       until_ms bigint NOT NULL); \
                     CREATE INDEX IF NOT EXISTS \"{}_until\" ON {schema}.{table} (until_ms)",
                    self.config.table
                ))
                .await
                .map_err(unavailable)?;
        }
        transaction
            .execute(
                &format!(
                    "INSERT INTO {schema}.runhook_schema_version (name, version) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version"
                ),
                &[&self.config.table, &SCHEMA_VERSION],
            )
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)
    }
}

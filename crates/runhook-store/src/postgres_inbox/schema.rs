//! The inbox table: created and migrated by the crate, versioned, safe when replicas start at
//! once.

use runhook::store::StoreError;

use super::{PostgresInbox, sql};
use crate::postgres_store::connect::{MIGRATION_LOCK, unavailable, unavailable_message};

/// The version of the inbox table this crate creates and expects.
pub(super) const SCHEMA_VERSION: i32 = 2;

impl PostgresInbox {
    /// Creates the schema, the version table and the inbox table if missing, under a
    /// transaction-level advisory lock (replicas starting at once migrate one after the other),
    /// and refuses a table of a newer version.
    pub(super) async fn migrate(&self, schema: &str, table: &str) -> Result<(), StoreError> {
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
        let name = &self.config.inbox_table;
        let version: i32 = transaction
            .query_opt(
                &format!("SELECT version FROM {schema}.runhook_schema_version WHERE name = $1"),
                &[name],
            )
            .await
            .map_err(unavailable)?
            .map_or(Ok(0), |row| row.try_get(0))
            .map_err(unavailable)?;
        if version > SCHEMA_VERSION {
            return Err(unavailable_message(format!(
                "PostgreSQL: the inbox table {schema}.{table} is at schema version {version}, \
                 newer than this runhook-store's {SCHEMA_VERSION}: upgrade runhook-store"
            )));
        }
        if version < 1 {
            transaction
                .batch_execute(&sql::create(schema, table, name))
                .await
                .map_err(unavailable)?;
        }
        if version < 2 {
            transaction
                .batch_execute(&sql::pending_index(schema, table, name))
                .await
                .map_err(unavailable)?;
        }
        transaction
            .execute(
                &format!(
                    "INSERT INTO {schema}.runhook_schema_version (name, version) VALUES ($1, $2) \
                     ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version"
                ),
                &[name, &SCHEMA_VERSION],
            )
            .await
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)
    }
}

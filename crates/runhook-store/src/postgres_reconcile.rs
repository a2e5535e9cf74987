//! [`PostgresReconcileState`]: a reconciler's state in the PostgreSQL database of a store or an
//! inbox, shared by its replicas.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use runhook::reconcile::{ReconcileState, WatchedRun};
use runhook::store::StoreError;
use tokio_postgres::types::ToSql;

use crate::millis::{millis_since_epoch, time_from_millis};
use crate::postgres::{
    Database, Migrations, PostgresConfig, identifier, migrate, unavailable, unavailable_message,
};
use crate::reconcile_row::{row_limit, watch_rows, watched_run};

/// A [`ReconcileState`] on PostgreSQL: the watermark and the watch list of one **scope** (one
/// reconciler's state; several reconcilers, e.g. one per API account, share a database, each
/// with a scope of its own and never seeing another's), shared by every replica that sweeps it.
///
/// Get one with [`PostgresStore::reconcile_state`](crate::PostgresStore::reconcile_state) or
/// [`PostgresInbox::reconcile_state`](crate::PostgresInbox::reconcile_state): it uses that
/// store's or inbox's pool and schema, and two tables of its own, created and migrated by the
/// crate's migrator: the watermarks, one row per scope (default `runhook_reconcile`,
/// [`PostgresConfig::reconcile_table`]), and the watched runs, one row per scope and run with
/// an index on `(scope, since_ms, run_id)` (default `runhook_reconcile_watch`,
/// [`PostgresConfig::reconcile_watch_table`]).
///
/// Times are the caller's, kept as integer milliseconds since the Unix epoch (a time before it
/// is kept as the epoch); run ids are compared bytewise (`COLLATE "C"`), as in memory. Every
/// operation is one statement: [`watch`](ReconcileState::watch) and
/// [`unwatch`](ReconcileState::unwatch) write any number of runs at once (`unnest` and
/// `= ANY`). Errors are [`StoreError::Unavailable`], in plain words naming PostgreSQL.
///
/// Cloning is cheap and shares the pool.
#[derive(Clone)]
pub struct PostgresReconcileState {
    database: Database,
    scope: Arc<str>,
    sql: Arc<Statements>,
}

/// Every statement, with the tables' names in them.
#[derive(Debug)]
struct Statements {
    watermark: String,
    set_watermark: String,
    watch: String,
    watched: String,
    watch_len: String,
    unwatch: String,
}

impl Statements {
    /// The statements on `watermarks` and `watch` (schema-qualified and quoted).
    fn new(watermarks: &str, watch: &str) -> Self {
        Statements {
            watermark: format!("SELECT watermark_ms FROM {watermarks} WHERE scope = $1"),
            set_watermark: format!(
                "INSERT INTO {watermarks} (scope, watermark_ms) VALUES ($1, $2) \
                 ON CONFLICT (scope) DO UPDATE SET watermark_ms = EXCLUDED.watermark_ms"
            ),
            watch: format!(
                "INSERT INTO {watch} (scope, run_id, since_ms) \
                 SELECT $1, n.run_id, n.since_ms \
                 FROM unnest($2::text[], $3::bigint[]) AS n (run_id, since_ms) \
                 ON CONFLICT (scope, run_id) DO NOTHING"
            ),
            watched: format!(
                "SELECT run_id, since_ms FROM {watch} WHERE scope = $1 \
                 ORDER BY since_ms, run_id LIMIT $2"
            ),
            watch_len: format!("SELECT count(*) FROM {watch} WHERE scope = $1"),
            unwatch: format!("DELETE FROM {watch} WHERE scope = $1 AND run_id = ANY($2::text[])"),
        }
    }
}

impl PostgresReconcileState {
    /// The state of `scope` on `database`, in the tables `config` names (created or migrated
    /// now).
    pub(crate) async fn new(
        database: Database,
        config: &PostgresConfig,
        scope: &str,
    ) -> Result<Self, StoreError> {
        let schema = identifier(&config.schema, 63, "schema")?;
        let watermarks = identifier(&config.reconcile_table, 63, "table")?;
        let watch = identifier(&config.reconcile_watch_table, 57, "table")?;
        let taken = [&config.table, &config.inbox_table, &config.lease_table];
        if config.reconcile_table == config.reconcile_watch_table
            || taken.contains(&&config.reconcile_table)
            || taken.contains(&&config.reconcile_watch_table)
        {
            return Err(unavailable_message(format!(
                "PostgreSQL: the reconcile tables ({}, {}) must differ from each other and from \
                 the idempotency, inbox and lease tables",
                config.reconcile_table, config.reconcile_watch_table
            )));
        }
        migrate(
            &database,
            &schema,
            &watermarks,
            &config.reconcile_table,
            Migrations::RECONCILE,
        )
        .await?;
        migrate(
            &database,
            &schema,
            &watch,
            &config.reconcile_watch_table,
            Migrations::RECONCILE_WATCH,
        )
        .await?;
        let sql = Statements::new(
            &format!("{schema}.{watermarks}"),
            &format!("{schema}.{watch}"),
        );
        Ok(PostgresReconcileState {
            database,
            scope: scope.into(),
            sql: Arc::new(sql),
        })
    }

    /// The scope whose state this is.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Runs `sql` with `params` (after the scope): the rows it returns.
    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StoreError> {
        let client = self.database.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        let scope: &str = &self.scope;
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&scope];
        all.extend_from_slice(params);
        client.query(&statement, &all).await.map_err(unavailable)
    }

    /// Runs `sql` with `params` (after the scope): how many rows it touched.
    async fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StoreError> {
        let client = self.database.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        let scope: &str = &self.scope;
        let mut all: Vec<&(dyn ToSql + Sync)> = vec![&scope];
        all.extend_from_slice(params);
        client.execute(&statement, &all).await.map_err(unavailable)
    }
}

#[async_trait]
impl ReconcileState for PostgresReconcileState {
    async fn watermark(&self) -> Result<Option<SystemTime>, StoreError> {
        let rows = self.query(&self.sql.watermark, &[]).await?;
        rows.first()
            .map(|row| row.try_get::<_, i64>(0).map(time_from_millis))
            .transpose()
            .map_err(unavailable)
    }

    async fn set_watermark(&self, watermark: SystemTime) -> Result<(), StoreError> {
        let at = millis_since_epoch(watermark);
        self.execute(&self.sql.set_watermark, &[&at]).await?;
        Ok(())
    }

    async fn watch(&self, runs: &[WatchedRun]) -> Result<(), StoreError> {
        if runs.is_empty() {
            return Ok(());
        }
        let (run_ids, since): (Vec<&str>, Vec<i64>) = watch_rows(runs).into_iter().unzip();
        self.execute(&self.sql.watch, &[&run_ids, &since]).await?;
        Ok(())
    }

    async fn watched(&self, limit: usize) -> Result<Vec<WatchedRun>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let rows = self.query(&self.sql.watched, &[&row_limit(limit)]).await?;
        rows.iter()
            .map(|row| Ok(watched_run(row.try_get(0)?, row.try_get(1)?)))
            .collect::<Result<_, tokio_postgres::Error>>()
            .map_err(unavailable)
    }

    async fn watch_len(&self) -> Result<u64, StoreError> {
        let rows = self.query(&self.sql.watch_len, &[]).await?;
        let count: i64 = match rows.first() {
            Some(row) => row.try_get(0).map_err(unavailable)?,
            None => 0,
        };
        Ok(count.unsigned_abs())
    }

    async fn unwatch(&self, run_ids: &[String]) -> Result<u64, StoreError> {
        if run_ids.is_empty() {
            return Ok(0);
        }
        self.execute(&self.sql.unwatch, &[&run_ids]).await
    }
}

impl fmt::Debug for PostgresReconcileState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresReconcileState")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

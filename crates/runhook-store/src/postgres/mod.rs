//! What the PostgreSQL store, inbox and maintenance lease share: the configuration, the pool, TLS,
//! plain error messages, and the one migrator.

mod config;
mod connect;
mod errors;
#[cfg(test)]
pub(crate) mod explain;
pub(crate) mod group;
mod lease;
mod migrate;
mod tls;

use deadpool_postgres::{Object, Pool};
use runhook::store::StoreError;

pub use config::PostgresConfig;
#[allow(deprecated)]
pub use config::PostgresStoreConfig;
pub(crate) use connect::identifier;
pub(crate) use errors::{describe, unavailable, unavailable_message};
pub use lease::PostgresLease;
pub(crate) use migrate::{Migrations, migrate};

/// A pool of connections to one server, and its address for messages.
#[derive(Clone)]
pub(crate) struct Database {
    pool: Pool,
    address: std::sync::Arc<str>,
}

impl Database {
    /// A pool to `url` with `config` (and the session `settings`, each `name=value`); opens no
    /// connection yet.
    pub(crate) fn new(
        url: &str,
        config: &PostgresConfig,
        settings: &[&str],
    ) -> Result<Self, StoreError> {
        let (pool, address) = connect::pool(url, config, settings)?;
        Ok(Database {
            pool,
            address: address.into(),
        })
    }

    /// A pooled connection, or an error in plain words naming the server's address.
    pub(crate) async fn client(&self) -> Result<Object, StoreError> {
        self.pool
            .get()
            .await
            .map_err(|error| errors::pool_unavailable(&self.address, error))
    }

    /// Runs `sql`, a `DELETE` of at most `batch` rows (its last parameter, after `params`),
    /// again until one run deletes fewer, so that each holds its locks briefly: how many rows
    /// went in all.
    pub(crate) async fn delete_in_batches(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
        batch: u32,
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        let limit = i64::from(batch);
        let mut params = params.to_vec();
        params.push(&limit);
        let mut deleted = 0;
        loop {
            let rows = client
                .execute(&statement, &params)
                .await
                .map_err(unavailable)?;
            deleted += rows;
            if rows < u64::from(batch) {
                return Ok(deleted);
            }
        }
    }
}

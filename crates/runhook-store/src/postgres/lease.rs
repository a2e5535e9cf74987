//! [`PostgresLease`]: one row that lets one replica at a time run a periodic task.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::store::StoreError;

use super::{Database, Migrations, PostgresConfig, identifier, migrate, unavailable};
use crate::millis::millis;

/// A leader lease on PostgreSQL: of the replicas that share a database, the one holding the
/// lease of a task runs it, so that a periodic task runs once per interval, not once per replica.
///
/// The lease is one row per task, `(task, leader_id, expires_at)`, in the table
/// [`PostgresConfig::lease_table`] names (created by the crate's migrator). [`acquire`](Self::acquire)
/// is one statement: `INSERT … ON CONFLICT (task) DO UPDATE … WHERE leader_id = <this replica>
/// OR expires_at < now()`, with `expires_at = now() + ttl`. It takes a free or expired lease,
/// renews this replica's own, and leaves another replica's running lease alone. The **database's
/// clock** (`now()`) decides, so replicas' clock skew cannot give two of them the lease.
///
/// A leader that stops renewing (it crashed, or lost the database) loses the lease after `ttl`,
/// and the next replica to ask takes it over: make `ttl` longer than the interval at which the
/// leader renews (the [`Maintenance`](crate::Maintenance) task renews once per interval).
///
/// Get one with [`PostgresStore::lease`](crate::PostgresStore::lease) or
/// [`PostgresInbox::lease`](crate::PostgresInbox::lease).
#[derive(Clone)]
pub struct PostgresLease {
    database: Database,
    task: String,
    leader_id: String,
    ttl: Duration,
    acquire: String,
    release: String,
}

impl PostgresLease {
    /// The lease of `task` on `database`, held for `ttl` at each acquisition; creates or
    /// migrates the lease table.
    pub(crate) async fn new(
        database: Database,
        config: &PostgresConfig,
        task: &str,
        ttl: Duration,
    ) -> Result<Self, StoreError> {
        let schema = identifier(&config.schema, 63, "schema")?;
        let table = identifier(&config.lease_table, 63, "table")?;
        migrate(
            &database,
            &schema,
            &table,
            &config.lease_table,
            Migrations::LEASE,
        )
        .await?;
        let qualified = format!("{schema}.{table}");
        Ok(PostgresLease {
            database,
            task: task.to_owned(),
            leader_id: leader_id(),
            ttl,
            acquire: format!(
                "INSERT INTO {qualified} AS l (task, leader_id, expires_at) \
                 VALUES ($1, $2, now() + $3::bigint * interval '1 millisecond') \
                 ON CONFLICT (task) DO UPDATE \
                 SET leader_id = EXCLUDED.leader_id, expires_at = EXCLUDED.expires_at \
                 WHERE l.leader_id = EXCLUDED.leader_id OR l.expires_at < now() \
                 RETURNING leader_id"
            ),
            release: format!("DELETE FROM {qualified} WHERE task = $1 AND leader_id = $2"),
        })
    }

    /// Takes or renews the lease for its ttl: `true` if this replica holds it now, `false` if
    /// another replica's lease is still running.
    pub async fn acquire(&self) -> Result<bool, StoreError> {
        let client = self.database.client().await?;
        let statement = client
            .prepare_cached(&self.acquire)
            .await
            .map_err(unavailable)?;
        let row = client
            .query_opt(
                &statement,
                &[&self.task, &self.leader_id, &millis(self.ttl)],
            )
            .await
            .map_err(unavailable)?;
        Ok(row.is_some())
    }

    /// Gives the lease up if this replica holds it, so another can take it at once (at a
    /// graceful stop).
    pub async fn release(&self) -> Result<(), StoreError> {
        let client = self.database.client().await?;
        client
            .execute(&self.release, &[&self.task, &self.leader_id])
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// This replica's name in the lease row: host name, process id and a start time, unique
    /// per lease object.
    pub fn leader_id(&self) -> &str {
        &self.leader_id
    }

    /// The task the lease is for.
    pub fn task(&self) -> &str {
        &self.task
    }
}

/// A name no other replica or lease object uses: the host, the process and a start time.
fn leader_id() -> String {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".to_owned());
    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let made = MADE.fetch_add(1, Ordering::Relaxed);
    format!("{host}/{}/{started:x}/{made}", std::process::id())
}

impl fmt::Debug for PostgresLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLease")
            .field("task", &self.task)
            .field("leader_id", &self.leader_id)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

//! [`PostgresInbox`]: a durable inbox on PostgreSQL, shared by any number of replicas, and
//! [`Transactional`], its exactly-once processor.

mod console;
mod history;
mod inserts;
mod operations;
#[cfg(test)]
mod plans;
mod sql;
#[cfg(test)]
mod tests;
mod transactional;

use std::fmt;
use std::sync::Arc;

use std::time::Duration;

use deadpool_postgres::Object;
use runhook::store::{ClaimToken, IdempotencyKey, StoreError};

use crate::inbox_row::{ClaimBounds, RawEntry, held_token};
use crate::postgres::group::{self, FencedRow, Group};
use crate::postgres::{
    Database, Migrations, PostgresConfig, PostgresLease, identifier, migrate, unavailable,
    unavailable_message,
};
use inserts::{NewRow, commit_inserts};
use operations::raw_entry;
use sql::Statements;

pub use transactional::{Transactional, TransactionalHandler};

/// An [`Inbox`](runhook::inbox::Inbox) on PostgreSQL, for any number of replicas sharing one database.
///
/// Each row of one table (default `runhook_inbox`, see
/// [`PostgresConfig::inbox_table`]) holds the event (key, `run_id`, name, receipt time,
/// body as `bytea`, drift problems as JSON text) and how its processing stands (state,
/// attempts, next attempt, lease end, fencing token, last error, finish time), with indexes for
/// claims (the pending rows by `next_at, key`) and runs (`run_id, …`). Keys and run ids are
/// compared bytewise (`COLLATE "C"`), as in memory.
///
/// - **Insert** is `INSERT … ON CONFLICT (key) DO NOTHING`: of any number of concurrent inserts
///   of one key, on any replicas, exactly one is new. Concurrent inserts are committed in groups:
///   a task of the inbox gathers those queued while earlier groups commit (up to 256 rows a group,
///   4 groups at once) into one transaction, and answers each caller once it has committed. One
///   insert alone commits at once; a burst costs a commit per group. A group the database refuses
///   is inserted again row by row, so a bad row fails alone. The task runs on the tokio runtime
///   that connected the inbox.
/// - **Claims** from many replicas do not wait for one another: one statement picks the due
///   rows, earliest due first, `FOR UPDATE SKIP LOCKED`, and takes a transaction-level advisory
///   lock on each row's run (skipping runs another claim is taking); a second statement, in the same
///   transaction and with a snapshot taken after those locks, checks the rule again and claims
///   the rows (`attempts + 1`, lease end, a new token from a sequence). So only the oldest
///   pending row of a `run_id` is ever due, and only while no other row of the run is leased,
///   exactly as in memory, also when claims race with replays or late inserts.
/// - **Renew and settle** are one `UPDATE … WHERE key = $1 AND token = $2 AND state =
///   'pending'`, fenced by the token. A settlement adds its attempt to the table's history
///   (`<table>_attempts`, the newest
///   [`ATTEMPT_HISTORY_LIMIT`](runhook::inbox::ATTEMPT_HISTORY_LIMIT) per row, deleted with the
///   row) in the same statement.
/// - **What a console reads** (pages newest first, activity per minute, depth) is served by
///   indexes (by receipt; by state and receipt; of retrying rows; of held rows; of finished rows
///   by finish time), never by a scan of the table.
///
/// The table is created by [`connect`](Self::connect) from the crate's `migrations/postgres`
/// files and versioned in
/// `<schema>.runhook_schema_version` (the table of [`PostgresStore`](crate::PostgresStore)'s
/// versions too, one row per table); the migration holds a transaction-level advisory lock, so
/// replicas starting at once are safe.
///
/// **Which clock decides.** The caller's: due times, lease ends and finish times are the `now`
/// or times passed in, stored as integer milliseconds since the Unix epoch (times are kept to
/// the millisecond), so a worker's clock (and a test's virtual one) decides; the server's clock
/// is never read. Under a clock skew of *d* between two replicas, a lease taken by one looks
/// *d* longer or shorter to the other (a replica ahead by more than the lease may take over a
/// row still being processed elsewhere: the first holder's settle is then refused, but its side
/// effects happened; [`transactional`](Self::transactional) processing closes that gap), a
/// retry comes *d* early or late, and rows are ordered by the receiving replica's clock; keep
/// replicas on NTP (skew well under the lease).
///
/// Connections use TLS as the URL's `sslmode` says, exactly as
/// [`PostgresStore`](crate::PostgresStore)'s (see there). Cloning is cheap and shares the pool and
/// the group commit tasks.
#[derive(Clone)]
pub struct PostgresInbox {
    database: Database,
    config: PostgresConfig,
    sql: Arc<Statements>,
    /// Where inserts go to be committed in groups.
    inserts: Group<NewRow, runhook::inbox::Inserted>,
    /// Where settlements as done go to be committed in groups.
    dones: Group<FencedRow, ()>,
    /// The first key of the advisory locks of runs being claimed, from the table's name.
    lock_space: i32,
}

impl PostgresInbox {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or a key-value
    /// connection string) with the default configuration, and creates or migrates the table.
    /// Fails at once if the server cannot be reached, so a bad URL is found at start.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresConfig::default()).await
    }

    /// Connects to `url` with `config` (its schema, inbox table, pool size and timeouts); see
    /// [`connect`](Self::connect).
    pub async fn connect_with(url: &str, config: PostgresConfig) -> Result<Self, StoreError> {
        let schema = identifier(&config.schema, 63, "schema")?;
        let table = identifier(&config.inbox_table, 57, "table")?;
        if config.inbox_table == config.table {
            return Err(unavailable_message(format!(
                "PostgreSQL: the inbox table cannot be the idempotency table ({})",
                config.table
            )));
        }
        let database = Database::new(url, &config, &[sql::SESSION])?;
        let qualified = format!("{schema}.{table}");
        let sequence = format!("{schema}.\"{}_token\"", config.inbox_table);
        let history = format!("{schema}.\"{}_attempts\"", config.inbox_table);
        let sql = Arc::new(Statements::new(&qualified, &sequence, &history));
        let wait = group::wait(&config);
        let inbox = PostgresInbox {
            inserts: {
                let (database, sql) = (database.clone(), Arc::clone(&sql));
                group::spawn("the inbox's inserts", wait, move |rows| {
                    commit_inserts(database.clone(), Arc::clone(&sql), rows)
                })
            },
            dones: {
                let (database, done_many) = (database.clone(), Arc::from(sql.done_many.as_str()));
                group::spawn("the inbox's settlements", wait, move |rows| {
                    group::commit_fenced(database.clone(), Arc::clone(&done_many), rows)
                })
            },
            database,
            sql,
            lock_space: lock_space(&qualified),
            config,
        };
        migrate(
            &inbox.database,
            &schema,
            &table,
            &inbox.config.inbox_table,
            Migrations::INBOX,
        )
        .await?;
        Ok(inbox)
    }

    /// The configuration it was connected with.
    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }

    /// A [`PostgresLease`] of `task` on this inbox's database (its table created or migrated
    /// now), held for `ttl` at each acquisition: give it to
    /// [`Maintenance::leader`](crate::Maintenance::leader) so that one replica purges per
    /// interval.
    pub async fn lease(&self, task: &str, ttl: Duration) -> Result<PostgresLease, StoreError> {
        PostgresLease::new(self.database.clone(), &self.config, task, ttl).await
    }

    /// The [`PostgresReconcileState`](crate::PostgresReconcileState) of `scope` on this inbox's
    /// database and schema (its tables created or migrated now), for a reconciler's watermark
    /// and watch list.
    pub async fn reconcile_state(
        &self,
        scope: &str,
    ) -> Result<crate::PostgresReconcileState, StoreError> {
        crate::PostgresReconcileState::new(self.database.clone(), &self.config, scope).await
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.database.client().await
    }

    /// Runs `sql` with `params`: how many rows it touched.
    async fn execute(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        client
            .execute(&statement, params)
            .await
            .map_err(unavailable)
    }

    /// Runs a fenced update: `Ok` if `token` held `key`, `NotHeld` otherwise.
    async fn fenced(
        &self,
        sql: &str,
        key: &IdempotencyKey,
        token: ClaimToken,
        rest: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> Result<(), StoreError> {
        let token = held_token(key, token)?;
        let key_text = key.as_str();
        let mut params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = vec![&key_text, &token];
        params.extend_from_slice(rest);
        let touched = self.execute(sql, &params).await?;
        runhook::store::fenced(key, touched > 0)
    }

    async fn claim(&self, bounds: ClaimBounds) -> Result<Vec<RawEntry>, StoreError> {
        let ClaimBounds {
            now,
            lease_until,
            limit,
        } = bounds;
        let mut client = self.client().await?;
        let transaction = client.transaction().await.map_err(unavailable)?;
        transaction
            .batch_execute(sql::CLAIM_PLAN)
            .await
            .map_err(unavailable)?;
        let candidates = transaction
            .prepare_cached(&self.sql.candidates)
            .await
            .map_err(unavailable)?;
        let keys = transaction
            .query(&candidates, &[&now, &limit, &self.lock_space])
            .await
            .map_err(unavailable)?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        if keys.is_empty() {
            transaction.rollback().await.map_err(unavailable)?;
            return Ok(Vec::new());
        }
        let claim = transaction
            .prepare_cached(&self.sql.claim)
            .await
            .map_err(unavailable)?;
        let rows = transaction
            .query(&claim, &[&now, &lease_until, &keys])
            .await
            .map_err(unavailable)?;
        let mut claimed = rows
            .iter()
            .map(raw_entry)
            .collect::<Result<Vec<_>, _>>()
            .map_err(unavailable)?;
        transaction.commit().await.map_err(unavailable)?;
        // In the order claimed: earliest due first.
        claimed.sort_by(|a, b| (a.next_at, &a.key).cmp(&(b.next_at, &b.key)));
        Ok(claimed)
    }
}

/// The first key of a table's run locks: a hash (FNV-1a) of its qualified name, the same in
/// every replica.
fn lock_space(table: &str) -> i32 {
    let hash = table.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    i32::from_ne_bytes(hash.to_ne_bytes())
}

impl fmt::Debug for PostgresInbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresInbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

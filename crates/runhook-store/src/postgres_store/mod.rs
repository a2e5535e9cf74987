//! [`PostgresStore`]: an idempotency store on PostgreSQL, shared by any number of replicas.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use deadpool_postgres::Object;
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};

use crate::PURGE_MARGIN;
use crate::inbox_row::held_token;
use crate::millis::{millis, millis_since_epoch};
use crate::postgres::group::{self, FencedRow, Group};
use crate::postgres::{
    Database, Migrations, PostgresConfig, PostgresLease, identifier, migrate, unavailable,
};

mod claims;
#[cfg(test)]
mod plans;
mod sql;

use claims::{ClaimRow, commit_claims};
use sql::Statements;

/// An [`IdempotencyStore`] on PostgreSQL.
///
/// Each key is a row `(key, state 'in_flight' | 'done', token, until_ms)` of one table; tokens
/// come from a sequence (`nextval`).
///
/// - **Claims** are one `INSERT … ON CONFLICT (key) DO UPDATE … WHERE <the row is expired>
///   RETURNING token`, so of any number of concurrent claims of one key, on any replicas,
///   exactly one gets [`Claim::Acquired`]. For the keys it did not take, a second statement
///   reads the rows that won (a new snapshot sees them even if they were committed during the
///   first), and a claim starts again if its row went or expired meanwhile. A claim that loses
///   burns a sequence value (tokens are unique and increasing, not dense).
/// - **Complete, renew and release** are fenced by the token: an `UPDATE` or `DELETE … WHERE
///   key = $1 AND token = $2 AND state = 'in_flight'`, refused ([`StoreError::NotHeld`]) if it
///   touches no row. A holder past its lease that nobody took over still completes.
/// - **Group commit.** Concurrent claims, and concurrent completions, are committed in groups,
///   as [`PostgresInbox`](crate::PostgresInbox)'s inserts are: a task of the store gathers those
///   queued while earlier groups commit (up to 256 a group, 4 groups of each kind at once, each
///   on a connection of the pool) into one statement over `unnest` of the group's arrays, so one
///   transaction and one WAL flush, and answers each caller once it has committed. One claim
///   alone commits at once; under load a burst costs a commit per group. Each claim keeps its
///   own clock (a row is taken over only if expired by *that* claim's `now`) and its own
///   answer; the same key twice in a group is claimed once, and the repeat is answered as a
///   claim that lost to it (in flight until its lease ends), or claims again if that lease
///   ended by its own clock. A group whose statement fails is run again one claim (or
///   completion) at a time, so one the database refuses fails alone. At most 4096 requests of
///   each kind wait for the task (callers beyond that wait for a place); a caller waits at
///   most twice the connect timeout plus four statement timeouts, then gets
///   [`StoreError::Unavailable`] (its write may still commit, as when an answer is lost on the
///   network). Renew, release and state are single statements. The plans are pinned: every
///   connection of the store has `enable_seqscan`, `enable_hashjoin` and `enable_mergejoin`
///   off, so a group's keys are always looked up through the primary key, one by one, whatever
///   the planner knows of the table (it was seen to scan and hash a table of 20 000 rows for a
///   group of 256, and a plan cached while the table was small would stay). The tasks run on the tokio runtime that connected the store; cloning the
///   store shares them and the pool.
///
/// The tables are created by [`connect`](Self::connect) from the crate's `migrations/postgres`
/// files and versioned in `<schema>.runhook_schema_version`; the migration holds a
/// transaction-level advisory lock, so replicas starting at once are safe.
///
/// **Which clock decides.** The caller's: lease ends and retentions are the `now` passed in
/// plus the lease or retention, stored as integer milliseconds since the Unix epoch, as in the
/// in-memory store, so a receiver's clock (and a test's virtual one) decides; the server's clock
/// is never read. Under a clock skew of *d* between two replicas, a lease taken by one looks *d*
/// longer or shorter to the other (a replica ahead by more than the lease may take over a claim
/// still running elsewhere, and see a retention end *d* early); keep replicas on NTP (skew well
/// under the 5 s lease).
///
/// **Purging.** Rows are not removed when they expire (an expired row simply reads as absent):
/// run [`Maintenance`](crate::Maintenance) (which calls [`purge`](Self::purge) every minute, on
/// one replica at a time with a [`lease`](Self::lease)), or call `purge` from a periodic task.
///
/// **TLS.** The URL's `sslmode` decides, as in libpq (TLS by rustls, 1.2 and 1.3):
///
/// - `disable`: plain TCP.
/// - `prefer` (the default): TLS if the server offers it, plain TCP if it has none. As in libpq,
///   the server's certificate is not checked, so the connection is encrypted but not protected
///   from an active man in the middle, unless a root file is given (below): then it is checked
///   as under `require`.
/// - `require`: TLS, or the connection fails ([`StoreError::Unavailable`]). The server's
///   certificate must chain to a trusted root and be valid for the URL's host name (libpq's
///   `verify-full`; libpq's `require` alone checks nothing). The trusted roots are those of
///   [`PostgresConfig::root_certificates`] (libpq's `sslrootcert`, e.g. a cloud provider's
///   CA bundle or a self-signed server's own certificate), else the system's (`SSL_CERT_FILE` /
///   `SSL_CERT_DIR` if set, else the platform's store).
///
/// libpq's `verify-ca` and `verify-full` are not accepted in the URL: use `require`. No client
/// certificates.
#[derive(Clone)]
pub struct PostgresStore {
    database: Database,
    config: PostgresConfig,
    sql: Arc<Statements>,
    /// Where claims go to be committed in groups.
    claims: Group<ClaimRow, Claim>,
    /// Where completions go to be committed in groups.
    completes: Group<FencedRow, ()>,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or a key-value
    /// connection string) with the default configuration, and creates or migrates the tables.
    /// Fails at once if the server cannot be reached, so a bad URL is found at start.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresConfig::default()).await
    }

    /// Connects to `url` with `config`; see [`connect`](Self::connect).
    pub async fn connect_with(url: &str, config: PostgresConfig) -> Result<Self, StoreError> {
        let schema = identifier(&config.schema, 63, "schema")?;
        let table = identifier(&config.table, 57, "table")?;
        let database = Database::new(url, &config, &sql::PINNED)?;
        let table_name = format!("{schema}.{table}");
        let sequence = format!("{schema}.\"{}_token\"", config.table);
        let sql = Arc::new(Statements::new(&table_name, &sequence));
        migrate(&database, &schema, &table, &config.table, Migrations::STORE).await?;
        let wait = group::wait(&config);
        let claims = {
            let (database, sql) = (database.clone(), Arc::clone(&sql));
            group::spawn("the store's claims", wait, move |rows| {
                commit_claims(database.clone(), Arc::clone(&sql), rows)
            })
        };
        let completes = {
            let (database, complete_many) =
                (database.clone(), Arc::from(sql.complete_many.as_str()));
            group::spawn("the store's completions", wait, move |rows| {
                group::commit_fenced(database.clone(), Arc::clone(&complete_many), rows)
            })
        };
        Ok(PostgresStore {
            database,
            config,
            sql,
            claims,
            completes,
        })
    }

    /// The configuration it was connected with.
    pub fn config(&self) -> &PostgresConfig {
        &self.config
    }

    /// A [`PostgresLease`] of `task` on this store's database (its table created or migrated
    /// now), held for `ttl` at each acquisition: give it to
    /// [`Maintenance::leader`](crate::Maintenance::leader) so that one replica purges per
    /// interval.
    pub async fn lease(&self, task: &str, ttl: Duration) -> Result<PostgresLease, StoreError> {
        PostgresLease::new(self.database.clone(), &self.config, task, ttl).await
    }

    /// The [`PostgresReconcileState`](crate::PostgresReconcileState) of `scope` on this store's
    /// database and schema (its tables created or migrated now), for a reconciler's watermark
    /// and watch list.
    pub async fn reconcile_state(
        &self,
        scope: &str,
    ) -> Result<crate::PostgresReconcileState, StoreError> {
        crate::PostgresReconcileState::new(self.database.clone(), &self.config, scope).await
    }

    /// Removes the rows no answer depends on any more: completed keys past their retention and
    /// claims more than [`PURGE_MARGIN`] past their lease, at `now` by the caller's clock. Each
    /// `DELETE` removes at most the configured batch (1000 rows by default), so locks are held
    /// briefly; batches follow one another until one removes fewer. Returns how many rows went.
    ///
    /// [`Maintenance`](crate::Maintenance) calls it every minute; concurrent purges are safe. A
    /// replica whose clock runs ahead purges completed keys early by its skew.
    pub async fn purge(&self, now: SystemTime) -> Result<u64, StoreError> {
        let now_ms = millis_since_epoch(now);
        let claims_before = now_ms.saturating_sub(millis(PURGE_MARGIN));
        self.database
            .delete_in_batches(
                &self.sql.purge,
                &[&now_ms, &claims_before],
                self.config.purge_batch,
            )
            .await
    }

    /// The former name of [`purge`](Self::purge).
    #[deprecated(note = "renamed purge")]
    pub async fn prune(&self, now: SystemTime) -> Result<u64, StoreError> {
        self.purge(now).await
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.database.client().await
    }

    /// Runs a fenced `UPDATE` or `DELETE`: `Ok` if it touched the row, `NotHeld` otherwise.
    async fn fenced(
        &self,
        sql: &str,
        key: &IdempotencyKey,
        token: ClaimToken,
        until: Option<i64>,
    ) -> Result<(), StoreError> {
        let token_value = held_token(key, token)?;
        let client = self.client().await?;
        let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
        let rows = match until {
            Some(until) => {
                client
                    .execute(&statement, &[&key.as_str(), &token_value, &until])
                    .await
            }
            None => {
                client
                    .execute(&statement, &[&key.as_str(), &token_value])
                    .await
            }
        }
        .map_err(unavailable)?;
        runhook::store::fenced(key, rows > 0)
    }
}

#[async_trait]
impl IdempotencyStore for PostgresStore {
    async fn claim(
        &self,
        key: &IdempotencyKey,
        now: SystemTime,
        lease: Duration,
    ) -> Result<Claim, StoreError> {
        let now = millis_since_epoch(now);
        let row = ClaimRow {
            key: key.as_str().to_owned(),
            now,
            until: now.saturating_add(millis(lease)),
        };
        self.claims.submit(row).await
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let row = FencedRow {
            key: key.as_str().to_owned(),
            token: held_token(key, token)?,
            at: millis_since_epoch(now).saturating_add(millis(retention)),
        };
        self.completes.submit(row).await
    }

    async fn release(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        _now: SystemTime,
    ) -> Result<(), StoreError> {
        self.fenced(&self.sql.release, key, token, None).await
    }

    async fn renew(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let until = millis_since_epoch(now).saturating_add(millis(lease));
        self.fenced(&self.sql.renew, key, token, Some(until)).await
    }

    async fn state(&self, key: &IdempotencyKey, now: SystemTime) -> Result<KeyState, StoreError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&self.sql.state)
            .await
            .map_err(unavailable)?;
        let row = client
            .query_opt(&statement, &[&key.as_str(), &millis_since_epoch(now)])
            .await
            .map_err(unavailable)?;
        let Some(row) = row else {
            return Ok(KeyState::Absent);
        };
        let state: &str = row.try_get(0).map_err(unavailable)?;
        Ok(match state {
            "done" => KeyState::Done,
            _ => KeyState::InFlight,
        })
    }
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

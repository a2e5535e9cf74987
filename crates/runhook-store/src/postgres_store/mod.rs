//! [`PostgresStore`]: an idempotency store on PostgreSQL, shared by any number of replicas.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use deadpool_postgres::Object;
use runhook::store::{Claim, ClaimToken, IdempotencyKey, IdempotencyStore, KeyState, StoreError};

use crate::PURGE_MARGIN;
use crate::millis::{millis, millis_since_epoch};
use crate::postgres::{
    Database, Migrations, PostgresConfig, PostgresLease, identifier, migrate, unavailable,
    unavailable_message,
};

mod sql;

use sql::Statements;

/// How many times a claim is retried when the row it conflicted with vanished (released or
/// purged) before it could be read.
const CLAIM_ATTEMPTS: usize = 8;

/// An [`IdempotencyStore`] on PostgreSQL.
///
/// Each key is a row `(key, state 'in_flight' | 'done', token, until_ms)` of one table; tokens
/// come from a sequence (`nextval`). A claim is one `INSERT … ON CONFLICT (key) DO UPDATE …
/// WHERE <the row is expired> RETURNING token`, so of any number of concurrent claims of one key
/// exactly one gets [`Claim::Acquired`]; when it returns no row, a second statement reads the
/// row that won (a new snapshot sees it even if it was committed during the first), and the claim
/// starts again if that row went or expired meanwhile. A claim that loses burns a sequence value
/// (tokens are unique and increasing, not dense). Complete, renew and release are one `UPDATE` or
/// `DELETE … WHERE key = $1 AND token = $2 AND state = 'in_flight'`, fenced by the token.
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
    sql: Statements,
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
        let database = Database::new(url, &config, &[])?;
        let table_name = format!("{schema}.{table}");
        let sequence = format!("{schema}.\"{}_token\"", config.table);
        let sql = Statements::new(&table_name, &sequence);
        migrate(&database, &schema, &table, &config.table, Migrations::STORE).await?;
        Ok(PostgresStore {
            database,
            config,
            sql,
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
        let Ok(token_value) = i64::try_from(token.get()) else {
            return Err(StoreError::NotHeld { key: key.clone() });
        };
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
        let now_ms = millis_since_epoch(now);
        let until = now_ms.saturating_add(millis(lease));
        let client = self.client().await?;
        let claim = client
            .prepare_cached(&self.sql.claim)
            .await
            .map_err(unavailable)?;
        let read = client
            .prepare_cached(&self.sql.read)
            .await
            .map_err(unavailable)?;
        for _ in 0..CLAIM_ATTEMPTS {
            if let Some(row) = client
                .query_opt(&claim, &[&key.as_str(), &now_ms, &until])
                .await
                .map_err(unavailable)?
            {
                let token: i64 = row.try_get(0).map_err(unavailable)?;
                return Ok(Claim::Acquired(ClaimToken::new(token.unsigned_abs())));
            }
            // The key is held or done. A new statement sees the row even if it was committed
            // after the claim's snapshot; if it went (released, purged) or expired meanwhile,
            // claim again.
            if let Some(row) = client
                .query_opt(&read, &[&key.as_str()])
                .await
                .map_err(unavailable)?
            {
                let state: &str = row.try_get(0).map_err(unavailable)?;
                let held_until: i64 = row.try_get(1).map_err(unavailable)?;
                if held_until > now_ms {
                    return Ok(match state {
                        "done" => Claim::Done,
                        _ => Claim::InFlight {
                            retry_after: Duration::from_millis(
                                (held_until - now_ms).unsigned_abs(),
                            ),
                        },
                    });
                }
            }
        }
        Err(unavailable_message(format!(
            "PostgreSQL: the claim of {key} kept racing with other operations"
        )))
    }

    async fn complete(
        &self,
        key: &IdempotencyKey,
        token: ClaimToken,
        now: SystemTime,
        retention: Duration,
    ) -> Result<(), StoreError> {
        let until = millis_since_epoch(now).saturating_add(millis(retention));
        self.fenced(&self.sql.complete, key, token, Some(until))
            .await
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

//! `--store URL`: which store `runhook listen` deduplicates with (or keeps its inbox in, with
//! `--forward-to`), and which inbox `runhook inbox` reads.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use runhook::MemoryStore;
use runhook::endpoint::redact_url;
use runhook::inbox::{Inbox, MemoryInbox};
use runhook::reconcile::{MemoryReconcileState, ReconcileState};
use runhook::store::IdempotencyStore;
use runhook_store::{
    Leadership, Maintenance, PostgresConfig, PostgresInbox, PostgresStore, RedisStore, SqliteInbox,
    SqliteStore,
};

/// Where a reconciler keeps its watermark and watch list, in the database of `--store`, and the
/// lease that lets one replica sweep at a time (PostgreSQL).
pub(crate) struct ReconcileHome {
    /// The watermark and watch list.
    pub(crate) state: Arc<dyn ReconcileState>,
    /// The lease, where replicas may share the store.
    pub(crate) leader: Option<Arc<dyn Leadership>>,
}

/// What a reconciler asks of the store: its state's scope, and the lease's time to live.
#[derive(Debug, Clone)]
pub(crate) struct ReconcileAsk {
    /// The scope of its state (one per runs API).
    pub(crate) scope: String,
    /// How long the lease is held at each sweep.
    pub(crate) lease: Duration,
}

/// The task name of the reconciler's lease on PostgreSQL.
const RECONCILE_TASK: &str = "runhook-reconcile";

/// The store `runhook listen` and `runhook inbox` use unless `--store` says otherwise.
pub(crate) const DEFAULT_STORE: &str = "sqlite:./runhook.db";

/// A parsed `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreUrl {
    /// `memory`: in this process only; forgotten on exit.
    Memory,
    /// `sqlite:PATH`: one file, kept across restarts.
    Sqlite(PathBuf),
    /// `postgres://…`: shared by replicas; `?schema=NAME` keeps the tables in that schema
    /// (default `public`).
    Postgres {
        /// The connection URL, without the `schema` parameter.
        url: String,
        /// The schema of the tables, if the URL named one.
        schema: Option<String>,
    },
    /// `redis://…`: shared by replicas.
    Redis(String),
}

impl StoreUrl {
    /// Parses a `--store` value; an unknown form is a usage error naming the accepted ones.
    pub(crate) fn parse(text: &str) -> anyhow::Result<StoreUrl> {
        let text = text.trim();
        if text == "memory" {
            return Ok(StoreUrl::Memory);
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                bail!(
                    "--store {:?}: sqlite needs a file, e.g. sqlite:./runhook.db",
                    redact_url(text)
                );
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let (url, schema) = take_schema(text);
            return Ok(StoreUrl::Postgres { url, schema });
        }
        if text.starts_with("redis://") || text.starts_with("rediss://") {
            return Ok(StoreUrl::Redis(text.to_owned()));
        }
        bail!(
            "--store {:?} is not a store: use sqlite:PATH (the default, sqlite:./runhook.db), \
             postgres://…, redis://… or memory",
            redact_url(text)
        )
    }

    /// The store as printed on stderr: no password, no secret-named parameter.
    pub(crate) fn describe(&self) -> String {
        match self {
            StoreUrl::Memory => "memory (in this process; forgotten on exit)".to_owned(),
            StoreUrl::Sqlite(path) => format!("sqlite:{}", path.display()),
            StoreUrl::Postgres { url, schema } => match schema {
                Some(schema) => format!("{} (schema {schema})", redact_url(url)),
                None => redact_url(url),
            },
            StoreUrl::Redis(url) => redact_url(url),
        }
    }

    /// Opens the store; an unreachable server or an unusable file is an error now, at start.
    /// With it, the library's maintenance task if the store must be purged periodically
    /// (PostgreSQL, with a lease so that one replica purges per interval; SQLite).
    ///
    /// With `reconcile`, also the reconciler's state and lease in the same database (Redis
    /// holds none: an error).
    pub(crate) async fn open(
        &self,
        reconcile: Option<&ReconcileAsk>,
    ) -> anyhow::Result<(
        Arc<dyn IdempotencyStore>,
        Option<Maintenance>,
        Option<ReconcileHome>,
    )> {
        let described = self.describe();
        let cannot = || format!("cannot use the store {described}");
        Ok(match self {
            StoreUrl::Memory => (Arc::new(MemoryStore::new()), None, memory_home(reconcile)),
            StoreUrl::Redis(url) => {
                if reconcile.is_some() {
                    bail!(
                        "--store {described}: the reconciler keeps its watermark and watch list \
                         in sqlite: or postgres:// (Redis keeps idempotency keys only)"
                    );
                }
                (
                    Arc::new(RedisStore::connect(url).await.with_context(cannot)?),
                    None,
                    None,
                )
            }
            StoreUrl::Sqlite(path) => {
                let store = Arc::new(SqliteStore::open(path).await.with_context(cannot)?);
                let home = match reconcile {
                    Some(ask) => Some(home(store.reconcile_state(&ask.scope).await, cannot)?),
                    None => None,
                };
                let maintenance = Maintenance::new().store(described.clone(), store.clone());
                (store, Some(maintenance), home)
            }
            StoreUrl::Postgres { url, schema } => {
                let config = postgres_config(schema.as_deref());
                let store = Arc::new(
                    PostgresStore::connect_with(url, config)
                        .await
                        .with_context(cannot)?,
                );
                let lease = store
                    .lease(MAINTENANCE_TASK, 2 * Maintenance::DEFAULT_EVERY)
                    .await
                    .with_context(cannot)?;
                let home = match reconcile {
                    Some(ask) => Some(
                        home(store.reconcile_state(&ask.scope).await, cannot)?
                            .led_by(store.lease(RECONCILE_TASK, ask.lease).await, cannot)?,
                    ),
                    None => None,
                };
                let maintenance = Maintenance::new()
                    .store(described.clone(), store.clone())
                    .leader(Arc::new(lease));
                (store, Some(maintenance), home)
            }
        })
    }

    /// Opens the inbox `runhook inbox` inspects: as [`open_inbox`](Self::open_inbox), but a
    /// SQLite file must exist (a missing one is an error naming it, not a new empty inbox).
    pub(crate) async fn open_existing_inbox(&self) -> anyhow::Result<Arc<dyn Inbox>> {
        match self {
            StoreUrl::Sqlite(path) => Ok(Arc::new(
                SqliteInbox::open_existing(path)
                    .await
                    .with_context(|| format!("cannot use the inbox {}", self.describe()))?,
            )),
            _ => self.open_inbox().await,
        }
    }

    /// Opens the inbox of `--forward-to` and `runhook inbox`: SQLite or PostgreSQL (memory for
    /// a relay that needs nothing to survive a restart); Redis holds no inbox. An unreachable
    /// server or an unusable file is an error now, at start.
    pub(crate) async fn open_inbox(&self) -> anyhow::Result<Arc<dyn Inbox>> {
        let described = self.describe();
        let cannot = || format!("cannot use the inbox {described}");
        Ok(match self {
            StoreUrl::Memory => Arc::new(MemoryInbox::new()),
            StoreUrl::Redis(_) => bail!(
                "--store {described}: the inbox needs sqlite: or postgres:// (Redis keeps \
                 idempotency keys only)"
            ),
            StoreUrl::Sqlite(path) => Arc::new(SqliteInbox::open(path).await.with_context(cannot)?),
            StoreUrl::Postgres { url, schema } => Arc::new(self.postgres_inbox(url, schema).await?),
        })
    }

    /// Opens the relay's inbox, with the library's maintenance task that purges its done rows
    /// past `retention`: on PostgreSQL under a lease, so that of several relays sharing the
    /// inbox one purges per interval.
    ///
    /// With `reconcile`, also the reconciler's state and lease in the same database.
    pub(crate) async fn open_relay_inbox(
        &self,
        retention: Duration,
        reconcile: Option<&ReconcileAsk>,
    ) -> anyhow::Result<(Arc<dyn Inbox>, Maintenance, Option<ReconcileHome>)> {
        let described = self.describe();
        let cannot = || format!("cannot use the inbox {described}");
        match self {
            StoreUrl::Postgres { url, schema } => {
                let inbox = self.postgres_inbox(url, schema).await?;
                let lease = inbox
                    .lease(MAINTENANCE_TASK, 2 * Maintenance::DEFAULT_EVERY)
                    .await
                    .with_context(cannot)?;
                let home = match reconcile {
                    Some(ask) => Some(
                        home(inbox.reconcile_state(&ask.scope).await, cannot)?
                            .led_by(inbox.lease(RECONCILE_TASK, ask.lease).await, cannot)?,
                    ),
                    None => None,
                };
                let inbox: Arc<dyn Inbox> = Arc::new(inbox);
                let maintenance = Maintenance::new()
                    .inbox(described, inbox.clone(), retention)
                    .leader(Arc::new(lease));
                Ok((inbox, maintenance, home))
            }
            StoreUrl::Sqlite(path) => {
                let inbox = SqliteInbox::open(path).await.with_context(cannot)?;
                let home = match reconcile {
                    Some(ask) => Some(home(inbox.reconcile_state(&ask.scope).await, cannot)?),
                    None => None,
                };
                let inbox: Arc<dyn Inbox> = Arc::new(inbox);
                let maintenance = Maintenance::new().inbox(described, inbox.clone(), retention);
                Ok((inbox, maintenance, home))
            }
            _ => {
                let inbox = self.open_inbox().await?;
                let maintenance = Maintenance::new().inbox(described, inbox.clone(), retention);
                Ok((inbox, maintenance, memory_home(reconcile)))
            }
        }
    }

    /// The PostgreSQL inbox at `url`, in `schema` if the URL named one.
    async fn postgres_inbox(
        &self,
        url: &str,
        schema: &Option<String>,
    ) -> anyhow::Result<PostgresInbox> {
        PostgresInbox::connect_with(url, postgres_config(schema.as_deref()))
            .await
            .with_context(|| format!("cannot use the inbox {}", self.describe()))
    }
}

/// A reconciler's home from its opened `state`, with no lease (yet); an error in the words of
/// `cannot`.
fn home<S: ReconcileState + 'static>(
    state: Result<S, runhook::StoreError>,
    cannot: impl Fn() -> String,
) -> anyhow::Result<ReconcileHome> {
    Ok(ReconcileHome {
        state: Arc::new(state.with_context(cannot)?),
        leader: None,
    })
}

impl ReconcileHome {
    /// This home, its sweeps led by the opened `lease` (PostgreSQL); an error in the words of
    /// `cannot`.
    fn led_by<L: Leadership + 'static>(
        mut self,
        lease: Result<L, runhook::StoreError>,
        cannot: impl Fn() -> String,
    ) -> anyhow::Result<Self> {
        self.leader = Some(Arc::new(lease.with_context(cannot)?));
        Ok(self)
    }
}

/// The reconciler's state in this process, if one is asked for (a store in memory).
fn memory_home(reconcile: Option<&ReconcileAsk>) -> Option<ReconcileHome> {
    reconcile.map(|_| ReconcileHome {
        state: Arc::new(MemoryReconcileState::new()),
        leader: None,
    })
}

/// The task name of `listen`'s maintenance lease on PostgreSQL.
const MAINTENANCE_TASK: &str = "runhook-listen-maintenance";

/// The PostgreSQL configuration: the defaults, in `schema` if the URL named one.
fn postgres_config(schema: Option<&str>) -> PostgresConfig {
    match schema {
        Some(schema) => PostgresConfig::default().schema(schema),
        None => PostgresConfig::default(),
    }
}

/// The URL without its `schema=NAME` query parameter, and the schema.
fn take_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    if rest.is_empty() {
        (base.to_owned(), schema)
    } else {
        (format!("{base}?{}", rest.join("&")), schema)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls_parse_and_print_without_passwords() {
        assert_eq!(StoreUrl::parse("memory").unwrap(), StoreUrl::Memory);
        assert_eq!(
            StoreUrl::parse("sqlite:./runhook.db").unwrap(),
            StoreUrl::Sqlite(PathBuf::from("./runhook.db"))
        );
        assert!(StoreUrl::parse("sqlite:").is_err());
        assert!(StoreUrl::parse("mysql://x").is_err());
        let redis = StoreUrl::parse("redis://:s3cret@127.0.0.1:6379").unwrap();
        assert_eq!(redis.describe(), "redis://:***@127.0.0.1:6379");
        let postgres = StoreUrl::parse("postgres://app:pw@db/test").unwrap();
        assert_eq!(postgres.describe(), "postgres://app:***@db/test");
        let schema = StoreUrl::parse("postgres://db/test?sslmode=disable&schema=hooks").unwrap();
        assert_eq!(
            schema,
            StoreUrl::Postgres {
                url: "postgres://db/test?sslmode=disable".to_owned(),
                schema: Some("hooks".to_owned()),
            }
        );
        assert_eq!(
            schema.describe(),
            "postgres://db/test?sslmode=disable (schema hooks)"
        );
    }
}

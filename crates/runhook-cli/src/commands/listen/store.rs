//! `--store URL`: which idempotency store `runhook listen` deduplicates with.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use runhook::MemoryStore;
use runhook::store::IdempotencyStore;
use runhook_store::{PostgresStore, RedisStore, SqliteStore};

use super::prune::Prunable;

/// A parsed `--store` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreUrl {
    /// `memory`: in this process only; forgotten on exit.
    Memory,
    /// `sqlite:PATH`: one file, kept across restarts.
    Sqlite(PathBuf),
    /// `postgres://…`: shared by replicas.
    Postgres(String),
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
                bail!("--store {text:?}: sqlite needs a file, e.g. sqlite:./runhook.db");
            }
            return Ok(StoreUrl::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(StoreUrl::Postgres(text.to_owned()));
        }
        if text.starts_with("redis://") || text.starts_with("rediss://") {
            return Ok(StoreUrl::Redis(text.to_owned()));
        }
        bail!(
            "--store {text:?} is not a store: use sqlite:PATH (the default, sqlite:./runhook.db), \
             postgres://…, redis://… or memory"
        )
    }

    /// The store as printed on stderr: no password.
    pub(crate) fn describe(&self) -> String {
        match self {
            StoreUrl::Memory => "memory (in this process; forgotten on exit)".to_owned(),
            StoreUrl::Sqlite(path) => format!("sqlite:{}", path.display()),
            StoreUrl::Postgres(url) | StoreUrl::Redis(url) => without_password(url),
        }
    }

    /// Opens the store; an unreachable server or an unusable file is an error now, at start.
    /// With it, the store again if it must be pruned from a periodic task (PostgreSQL, SQLite).
    pub(crate) async fn open(
        &self,
    ) -> anyhow::Result<(Arc<dyn IdempotencyStore>, Option<Prunable>)> {
        let described = self.describe();
        let cannot = || format!("cannot use the store {described}");
        Ok(match self {
            StoreUrl::Memory => (Arc::new(MemoryStore::new()), None),
            StoreUrl::Redis(url) => (
                Arc::new(RedisStore::connect(url).await.with_context(cannot)?),
                None,
            ),
            StoreUrl::Sqlite(path) => {
                let store = Arc::new(SqliteStore::open(path).await.with_context(cannot)?);
                (
                    Arc::clone(&store) as Arc<dyn IdempotencyStore>,
                    Some(Prunable::Sqlite(store)),
                )
            }
            StoreUrl::Postgres(url) => {
                let store = Arc::new(PostgresStore::connect(url).await.with_context(cannot)?);
                (
                    Arc::clone(&store) as Arc<dyn IdempotencyStore>,
                    Some(Prunable::Postgres(store)),
                )
            }
        })
    }
}

/// `scheme://user:password@host/…` with the password replaced by `***`.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
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
    }
}

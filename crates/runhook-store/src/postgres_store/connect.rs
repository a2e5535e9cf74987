//! What the PostgreSQL store and inbox share: the pool, identifier checks, the migration lock
//! and error messages.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use runhook::store::StoreError;
use tokio_postgres::NoTls;
use tokio_postgres::config::SslMode;

use super::{PostgresStoreConfig, tls};

/// The key of the advisory lock every migration takes (`"runhook"` in ASCII), so replicas
/// starting at once migrate one after the other.
pub(crate) const MIGRATION_LOCK: i64 = 0x0072_756e_686f_6f6b;

/// A pool of connections to `url` with `config`'s size and timeouts (the statement timeout is
/// set on every connection, with `settings`, each `name=value`). Opens no connection yet.
pub(crate) fn pool(
    url: &str,
    config: &PostgresStoreConfig,
    settings: &[&str],
) -> Result<Pool, StoreError> {
    let mut pg_config: tokio_postgres::Config =
        url.parse().map_err(|error: tokio_postgres::Error| {
            // The parser's messages name the offending option (or a character's position),
            // never a value, so never the password.
            unavailable_message(format!(
                "PostgreSQL: the connection URL is invalid: {}",
                describe(&error)
            ))
        })?;
    pg_config.connect_timeout(config.connect_timeout);
    let mut session = format!(
        "-c statement_timeout={}",
        config.statement_timeout.as_millis().max(1)
    );
    for setting in settings {
        session.push_str(" -c ");
        session.push_str(setting);
    }
    let options = match pg_config.get_options() {
        Some(options) if !options.is_empty() => format!("{options} {session}"),
        _ => session,
    };
    pg_config.options(&options);
    let recycling = ManagerConfig {
        recycling_method: RecyclingMethod::Fast,
    };
    let manager = match pg_config.get_ssl_mode() {
        SslMode::Disable => Manager::from_config(pg_config, NoTls, recycling),
        // `prefer` falls back to plain TCP if the server has no TLS; `require` fails.
        mode => {
            let tls = tls::connector(mode, config.root_certificates.as_deref())?;
            Manager::from_config(pg_config, tls, recycling)
        }
    };
    Pool::builder(manager)
        .max_size(config.max_connections)
        .create_timeout(Some(config.connect_timeout))
        .wait_timeout(Some(config.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|error| unavailable_message(format!("PostgreSQL pool: {error}")))
}

/// `name` double-quoted, if it is a plain identifier of at most `max` bytes.
pub(crate) fn identifier(name: &str, max: usize, what: &str) -> Result<String, StoreError> {
    let plain = !name.is_empty()
        && name.len() <= max
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        Ok(format!("\"{name}\""))
    } else {
        Err(unavailable_message(format!(
            "PostgreSQL: the {what} name {name:?} is not ASCII letters, digits and `_` (not \
             starting with a digit, at most {max} bytes)"
        )))
    }
}

/// A PostgreSQL error as the store's: the server is unreachable or failed. Its messages never
/// contain the connection URL (so never its password).
pub(crate) fn unavailable(error: tokio_postgres::Error) -> StoreError {
    unavailable_message(format!("PostgreSQL: {}", describe(&error)))
}

/// No free connection could be had from the pool (none could be opened, or all stayed busy).
pub(crate) fn pool_unavailable(error: deadpool_postgres::PoolError) -> StoreError {
    unavailable_message(format!("PostgreSQL: {}", describe(&error)))
}

/// `error` and its causes, `: `-separated: the server's own message is a cause of
/// `tokio_postgres`'s "db error", which shows only its kind.
pub(crate) fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let more = error.to_string();
        if !text.ends_with(&more) {
            text = format!("{text}: {more}");
        }
        cause = error.source();
    }
    text
}

/// [`StoreError::Unavailable`] with `message`.
pub(crate) fn unavailable_message(message: String) -> StoreError {
    StoreError::Unavailable { message }
}

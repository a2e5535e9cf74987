//! The pool of connections the PostgreSQL store, inbox and lease share, and identifier checks.

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use runhook::store::StoreError;
use tokio_postgres::NoTls;
use tokio_postgres::config::{Host, SslMode};

use super::errors::{describe, unavailable_message};
use super::{PostgresConfig, tls};

/// A pool of connections to `url` with `config`'s size and timeouts (the statement timeout is
/// set on every connection, with `settings`, each `name=value`), and the server's address for
/// messages (`host:port`, never the password). Opens no connection yet.
pub(crate) fn pool(
    url: &str,
    config: &PostgresConfig,
    settings: &[&str],
) -> Result<(Pool, String), StoreError> {
    let mut pg_config: tokio_postgres::Config =
        url.parse().map_err(|error: tokio_postgres::Error| {
            // The parser's messages name the offending option (or a character's position),
            // never a value, so never the password.
            unavailable_message(format!(
                "PostgreSQL: the connection URL is invalid: {}",
                describe(&error)
            ))
        })?;
    let address = address(&pg_config);
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
    let pool = Pool::builder(manager)
        .max_size(config.max_connections)
        .create_timeout(Some(config.connect_timeout))
        .wait_timeout(Some(config.connect_timeout))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(|error| unavailable_message(format!("PostgreSQL pool: {error}")))?;
    Ok((pool, address))
}

/// The server's address as messages name it: `host:port` (each host, `,`-separated), a Unix
/// socket's directory, or libpq's default `localhost:5432`.
fn address(config: &tokio_postgres::Config) -> String {
    let ports = config.get_ports();
    let port = |i: usize| ports.get(i).or(ports.first()).copied().unwrap_or(5432);
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| match host {
            Host::Tcp(name) if name.contains(':') => format!("[{name}]:{}", port(i)),
            Host::Tcp(name) => format!("{name}:{}", port(i)),
            #[cfg(unix)]
            Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    if hosts.is_empty() {
        format!("localhost:{}", port(0))
    } else {
        hosts.join(",")
    }
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

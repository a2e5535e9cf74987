//! PostgreSQL's errors in plain words: the message says what failed (e.g. "cannot reach
//! PostgreSQL at 127.0.0.1:5432: connection refused"); the driver's full chain of causes goes to
//! the debug log. No message contains the connection URL, so never its password.

use std::io;

use runhook::store::StoreError;

/// [`StoreError::Unavailable`] with `message`.
pub(crate) fn unavailable_message(message: String) -> StoreError {
    StoreError::Unavailable { message }
}

/// A statement's error: the server's own message when it answered one (a refused statement),
/// else what happened to the connection.
pub(crate) fn unavailable(error: tokio_postgres::Error) -> StoreError {
    tracing::debug!(error = %describe(&error), "PostgreSQL statement failed");
    let plain = match error.as_db_error() {
        Some(db) => db.message().to_owned(),
        None if error.is_closed() => "the connection was closed".to_owned(),
        None => io_cause(&error)
            .and_then(plain_io)
            .unwrap_or_else(|| describe(&error)),
    };
    unavailable_message(format!("PostgreSQL: {plain}"))
}

/// No connection could be had from the pool to the server at `address`: the server was not
/// reached, refused the session, or every connection stayed busy.
pub(crate) fn pool_unavailable(address: &str, error: deadpool_postgres::PoolError) -> StoreError {
    use deadpool_postgres::PoolError;
    tracing::debug!(address, error = %describe(&error), "no PostgreSQL connection");
    let message = match &error {
        PoolError::Timeout(deadpool_postgres::TimeoutType::Wait) => format!(
            "PostgreSQL at {address}: every connection of the pool stayed busy (raise \
             max_connections, or shorten the statements)"
        ),
        PoolError::Timeout(_) => {
            format!("cannot reach PostgreSQL at {address}: no answer within the connect timeout")
        }
        PoolError::Backend(backend) => match backend.as_db_error() {
            // Reached, but the server refused the session (authentication, no such database…).
            Some(db) => format!(
                "PostgreSQL at {address} refused the connection: {}",
                db.message()
            ),
            // Refused, timed out…: in plain words; else (TLS…) the whole chain, which names it.
            None => match io_cause(backend).and_then(plain_io) {
                Some(plain) => format!("cannot reach PostgreSQL at {address}: {plain}"),
                None => format!(
                    "cannot reach PostgreSQL at {address}: {}",
                    describe(backend)
                ),
            },
        },
        other => format!("PostgreSQL at {address}: {}", describe(other)),
    };
    unavailable_message(message)
}

/// The first I/O error among `error`'s causes.
fn io_cause<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a io::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = cause {
        if let Some(io) = error.downcast_ref::<io::Error>() {
            return Some(io);
        }
        cause = error.source();
    }
    None
}

/// A network I/O error in plain words ("connection refused", "timed out"…), without its OS
/// code; `None` for other kinds (their chain says more).
fn plain_io(error: &io::Error) -> Option<String> {
    let plain = match error.kind() {
        io::ErrorKind::ConnectionRefused => "connection refused",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::ConnectionReset => "the connection was reset",
        io::ErrorKind::ConnectionAborted => "the connection was aborted",
        io::ErrorKind::HostUnreachable => "host unreachable",
        io::ErrorKind::NetworkUnreachable => "network unreachable",
        io::ErrorKind::AddrNotAvailable => "address not available",
        io::ErrorKind::NotFound => "no such socket",
        io::ErrorKind::UnexpectedEof => "the server closed the connection",
        _ => return None,
    };
    Some(plain.to_owned())
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

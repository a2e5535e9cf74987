//! [`PostgresStoreConfig`]: how a [`PostgresStore`](super::PostgresStore) or a
//! [`PostgresInbox`](crate::PostgresInbox) connects and where it keeps its rows.

use std::path::PathBuf;
use std::time::Duration;

/// How a [`PostgresStore`](super::PostgresStore) or a [`PostgresInbox`](crate::PostgresInbox)
/// connects and where it keeps its rows. One configuration serves both: each uses its own table
/// in the same schema.
///
/// ```
/// # use std::time::Duration;
/// use runhook_store::PostgresStoreConfig;
///
/// let config = PostgresStoreConfig::default()
///     .schema("webhooks")
///     .max_connections(32)
///     .statement_timeout(Duration::from_secs(1))
///     .root_certificates("/etc/runhook/postgres-ca.pem");
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresStoreConfig {
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) inbox_table: String,
    pub(crate) max_connections: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) prune_batch: u32,
    pub(crate) root_certificates: Option<PathBuf>,
}

impl Default for PostgresStoreConfig {
    /// Schema `public`, table `runhook_idempotency` (inbox table `runhook_inbox`), 16
    /// connections, a 5 s connect timeout (also the longest wait for a free connection), a 5 s
    /// statement timeout, prune batches of 1000 rows, no root certificate file (TLS checks the
    /// server against the system's roots).
    fn default() -> Self {
        PostgresStoreConfig {
            schema: "public".to_owned(),
            table: "runhook_idempotency".to_owned(),
            inbox_table: "runhook_inbox".to_owned(),
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            prune_batch: 1000,
            root_certificates: None,
        }
    }
}

impl PostgresStoreConfig {
    /// The schema of the tables (created if missing). Default `public`. A name of ASCII
    /// letters, digits and `_`, not starting with a digit, at most 63 bytes.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// The table of keys. Default `runhook_idempotency`. Its token sequence is named after it
    /// (`<table>_token`); same rules as the schema, at most 57 bytes.
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// The table of a [`PostgresInbox`](crate::PostgresInbox). Default `runhook_inbox`. Its
    /// token sequence is named after it (`<table>_token`); same rules as the schema, at most 57
    /// bytes, and not the name of the idempotency table.
    pub fn inbox_table(mut self, table: impl Into<String>) -> Self {
        self.inbox_table = table.into();
        self
    }

    /// The most connections the pool opens. Default 16 (at least 1).
    pub fn max_connections(mut self, max: usize) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long opening a connection, or waiting for a free one, may take. Default 5 s.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long the server lets one statement run (`statement_timeout`). Default 5 s.
    pub fn statement_timeout(mut self, timeout: Duration) -> Self {
        self.statement_timeout = timeout;
        self
    }

    /// How many rows one `DELETE` of [`PostgresStore::prune`](super::PostgresStore::prune) removes at most. Default 1000.
    pub fn prune_batch(mut self, rows: u32) -> Self {
        self.prune_batch = rows.max(1);
        self
    }

    /// A PEM file of the certificates (one or more) trusted as roots for the server's TLS
    /// certificate, instead of the system's: libpq's `sslrootcert`, e.g. a cloud provider's CA
    /// bundle or a self-signed server's own certificate. With it, the server's certificate is
    /// checked under `sslmode=prefer` too (see [`PostgresStore`](super::PostgresStore)). Read
    /// when the store connects: a file that cannot be read or holds no valid certificate fails
    /// the connect. Unused with `sslmode=disable`.
    pub fn root_certificates(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.root_certificates = Some(pem_file.into());
        self
    }
}

//! [`PostgresConfig`]: how a [`PostgresStore`](crate::PostgresStore) or a
//! [`PostgresInbox`](crate::PostgresInbox) connects and where it keeps its rows.

use std::path::PathBuf;
use std::time::Duration;

/// How a [`PostgresStore`](crate::PostgresStore) or a [`PostgresInbox`](crate::PostgresInbox)
/// connects and where it keeps its rows. One configuration serves both (and their
/// [`PostgresLease`](crate::PostgresLease)): each uses its own table in the same schema.
///
/// ```
/// # use std::time::Duration;
/// use runhook_store::PostgresConfig;
///
/// let config = PostgresConfig::default()
///     .schema("webhooks")
///     .max_connections(32)
///     .statement_timeout(Duration::from_secs(1))
///     .root_certificates("/etc/runhook/postgres-ca.pem");
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    pub(crate) lease_table: String,
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) inbox_table: String,
    pub(crate) reconcile_table: String,
    pub(crate) reconcile_watch_table: String,
    pub(crate) max_connections: usize,
    pub(crate) connect_timeout: Duration,
    pub(crate) statement_timeout: Duration,
    pub(crate) purge_batch: u32,
    pub(crate) root_certificates: Option<PathBuf>,
}

/// The former name of [`PostgresConfig`].
#[deprecated(note = "renamed PostgresConfig: it configures the inbox and the lease too")]
pub type PostgresStoreConfig = PostgresConfig;

impl Default for PostgresConfig {
    /// Schema `public`, table `runhook_idempotency` (inbox table `runhook_inbox`, lease table
    /// `runhook_lease`, reconcile state tables `runhook_reconcile` and
    /// `runhook_reconcile_watch`), 16 connections, a 5 s connect timeout (also the longest wait for a free connection), a 5 s
    /// statement timeout, purge batches of 1000 rows, no root certificate file (TLS checks the
    /// server against the system's roots).
    fn default() -> Self {
        PostgresConfig {
            schema: "public".to_owned(),
            table: "runhook_idempotency".to_owned(),
            inbox_table: "runhook_inbox".to_owned(),
            lease_table: "runhook_lease".to_owned(),
            reconcile_table: "runhook_reconcile".to_owned(),
            reconcile_watch_table: "runhook_reconcile_watch".to_owned(),
            max_connections: 16,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(5),
            purge_batch: 1000,
            root_certificates: None,
        }
    }
}

impl PostgresConfig {
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

    /// The table of the [`PostgresReconcileState`](crate::PostgresReconcileState)s' watermarks
    /// (one row per scope). Default `runhook_reconcile`; same rules as the schema, and not the
    /// name of another of these tables.
    pub fn reconcile_table(mut self, table: impl Into<String>) -> Self {
        self.reconcile_table = table.into();
        self
    }

    /// The table of the [`PostgresReconcileState`](crate::PostgresReconcileState)s' watch lists
    /// (one row per scope and run). Default `runhook_reconcile_watch`; same rules as the schema,
    /// at most 57 bytes (its index is named after it), and not the name of another of these
    /// tables.
    pub fn reconcile_watch_table(mut self, table: impl Into<String>) -> Self {
        self.reconcile_watch_table = table.into();
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

    /// The table of the [`PostgresLease`](crate::PostgresLease)s (one row per task). Default
    /// `runhook_lease`; same rules as the schema.
    pub fn lease_table(mut self, table: impl Into<String>) -> Self {
        self.lease_table = table.into();
        self
    }

    /// How many rows one `DELETE` of a purge ([`PostgresStore::purge`](crate::PostgresStore::purge),
    /// and the inbox's) removes at most. Default 1000.
    pub fn purge_batch(mut self, rows: u32) -> Self {
        self.purge_batch = rows.max(1);
        self
    }

    /// The former name of [`purge_batch`](Self::purge_batch).
    #[deprecated(note = "renamed purge_batch")]
    pub fn prune_batch(self, rows: u32) -> Self {
        self.purge_batch(rows)
    }

    /// A PEM file of the certificates (one or more) trusted as roots for the server's TLS
    /// certificate, instead of the system's: libpq's `sslrootcert`, e.g. a cloud provider's CA
    /// bundle or a self-signed server's own certificate. With it, the server's certificate is
    /// checked under `sslmode=prefer` too (see [`PostgresStore`](crate::PostgresStore)). Read
    /// when the store connects: a file that cannot be read or holds no valid certificate fails
    /// the connect. Unused with `sslmode=disable`.
    pub fn root_certificates(mut self, pem_file: impl Into<PathBuf>) -> Self {
        self.root_certificates = Some(pem_file.into());
        self
    }
}

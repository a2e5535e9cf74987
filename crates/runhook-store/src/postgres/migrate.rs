//! The one migrator of every PostgreSQL table this crate keeps: migrations are the `.sql` files
//! under `migrations/postgres/<table kind>/`, and each table's version is its row in
//! `<schema>.runhook_schema_version (name, version)`.

use runhook::store::StoreError;

use super::{Database, unavailable, unavailable_message};

/// The key of the advisory lock every migration takes (`"runhook"` in ASCII), so replicas
/// starting at once migrate one after the other.
const MIGRATION_LOCK: i64 = 0x0072_756e_686f_6f6b;

/// One kind of table and its migrations: migration `i` takes it from version `i` to `i + 1`. In
/// their text, `{schema}` and `{table}` are the quoted identifiers, `{name}` the table's bare
/// name (for the names of its sequence and indexes).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Migrations {
    /// What the table is, in messages ("table", "inbox table"…).
    pub(crate) what: &'static str,
    pub(crate) steps: &'static [&'static str],
}

impl Migrations {
    /// The idempotency store's table.
    pub(crate) const STORE: Migrations = Migrations {
        what: "table",
        steps: &[include_str!(
            "../../migrations/postgres/store/0001_keys.sql"
        )],
    };
    /// The inbox's table.
    pub(crate) const INBOX: Migrations = Migrations {
        what: "inbox table",
        steps: &[
            include_str!("../../migrations/postgres/inbox/0001_rows.sql"),
            include_str!("../../migrations/postgres/inbox/0002_pending_index.sql"),
            include_str!("../../migrations/postgres/inbox/0003_source.sql"),
            include_str!("../../migrations/postgres/inbox/0004_console.sql"),
        ],
    };
    /// The reconcile state's table of watermarks.
    pub(crate) const RECONCILE: Migrations = Migrations {
        what: "reconcile table",
        steps: &[include_str!(
            "../../migrations/postgres/reconcile/0001_watermarks.sql"
        )],
    };
    /// The reconcile state's table of watched runs.
    pub(crate) const RECONCILE_WATCH: Migrations = Migrations {
        what: "reconcile watch table",
        steps: &[include_str!(
            "../../migrations/postgres/reconcile_watch/0001_watch.sql"
        )],
    };
    /// The maintenance lease's table.
    pub(crate) const LEASE: Migrations = Migrations {
        what: "lease table",
        steps: &[include_str!(
            "../../migrations/postgres/lease/0001_lease.sql"
        )],
    };

    /// The version this crate writes.
    pub(crate) fn version(self) -> i32 {
        i32::try_from(self.steps.len()).unwrap_or(i32::MAX)
    }
}

/// Creates the schema, the version table and `name`'s table as `migrations` say, under a
/// transaction-level advisory lock (replicas starting at once migrate one after the other), and
/// refuses a table of a newer version. `schema` and `table` are quoted identifiers, `name` the
/// table's bare name (its row in the version table).
///
/// The server's notices (`schema … already exists, skipping` at every start) are not sent: the
/// transaction raises `client_min_messages` to `warning`; whether the schema existed is logged at
/// debug level instead.
pub(crate) async fn migrate(
    database: &Database,
    schema: &str,
    table: &str,
    name: &str,
    migrations: Migrations,
) -> Result<(), StoreError> {
    let mut client = database.client().await?;
    let transaction = client.transaction().await.map_err(unavailable)?;
    transaction
        .batch_execute("SET LOCAL client_min_messages = warning")
        .await
        .map_err(unavailable)?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(unavailable)?;
    let bare_schema = schema.trim_matches('"');
    let existed = transaction
        .query_opt(
            "SELECT 1 FROM pg_namespace WHERE nspname = $1",
            &[&bare_schema],
        )
        .await
        .map_err(unavailable)?
        .is_some();
    tracing::debug!(schema = bare_schema, existed, "PostgreSQL schema");
    transaction
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; \
             CREATE TABLE IF NOT EXISTS {schema}.runhook_schema_version (\
               name text PRIMARY KEY, version integer NOT NULL)"
        ))
        .await
        .map_err(unavailable)?;
    let version: i32 = transaction
        .query_opt(
            &format!("SELECT version FROM {schema}.runhook_schema_version WHERE name = $1"),
            &[&name],
        )
        .await
        .map_err(unavailable)?
        .map_or(Ok(0), |row| row.try_get(0))
        .map_err(unavailable)?;
    let current = migrations.version();
    if version > current {
        return Err(unavailable_message(format!(
            "PostgreSQL: the {} {schema}.{table} is at schema version {version}, newer than this \
             runhook-store's {current}: upgrade runhook-store",
            migrations.what
        )));
    }
    let from = usize::try_from(version.max(0)).unwrap_or_default();
    for step in migrations.steps.get(from..).unwrap_or_default() {
        let sql = step
            .replace("{schema}", schema)
            .replace("{table}", table)
            .replace("{name}", name);
        transaction.batch_execute(&sql).await.map_err(unavailable)?;
    }
    tracing::debug!(
        table = name,
        from = version,
        to = current,
        "PostgreSQL schema version"
    );
    transaction
        .execute(
            &format!(
                "INSERT INTO {schema}.runhook_schema_version (name, version) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET version = EXCLUDED.version"
            ),
            &[&name, &current],
        )
        .await
        .map_err(unavailable)?;
    transaction.commit().await.map_err(unavailable)
}

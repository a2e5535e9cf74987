//! The inbox routes of the stores bench (`/inbox-sqlite`, `/inbox-postgres`: the receiver in
//! inbox mode, a no-op handler, its workers running), and the raw insert-and-commit loops each
//! inbox is compared with (`--raw SECONDS`), at the inbox's durability and on its table.

use std::error::Error;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use runhook::inbox::Inbox;
use runhook_receiver::{Handlers, Receiver};
use runhook_store::{PostgresConfig, PostgresInbox, SqliteInbox};

/// The two inboxes, to count the rows the workers have not finished yet.
pub(crate) struct Inboxes {
    pub(crate) sqlite: Arc<dyn Inbox>,
    pub(crate) postgres: Arc<dyn Inbox>,
}

impl Inboxes {
    /// Opens the SQLite inbox in `dir` and the PostgreSQL inbox in `schema` (default pool).
    pub(crate) async fn open(
        dir: &Path,
        url: &str,
        schema: &str,
    ) -> Result<Inboxes, Box<dyn Error>> {
        let sqlite = SqliteInbox::open(dir.join("inbox.db"))
            .await
            .map_err(|e| format!("SQLite inbox in {}: {e}", dir.display()))?;
        let config = PostgresConfig::default().schema(schema);
        let postgres = PostgresInbox::connect_with(url, config)
            .await
            .map_err(|e| format!("PostgreSQL inbox at {url}: {e}"))?;
        Ok(Inboxes {
            sqlite: Arc::new(sqlite),
            postgres: Arc::new(postgres),
        })
    }

    /// `sqlite=N postgres=N`: the rows pending or in flight in each inbox.
    pub(crate) async fn unfinished(&self) -> String {
        let now = SystemTime::now();
        let count = |depth: Result<runhook::inbox::InboxDepth, _>| match depth {
            Ok(depth) => (depth.pending + depth.in_flight).to_string(),
            Err(error) => format!("error({error})"),
        };
        format!(
            "sqlite={} postgres={}",
            count(self.sqlite.depth(now).await),
            count(self.postgres.depth(now).await)
        )
    }
}

/// A receiver in inbox mode on `inbox` with a no-op handler and the default worker settings.
pub(crate) fn inbox_receiver(inbox: Arc<dyn Inbox>) -> Receiver {
    Receiver::with_inbox(inbox, Arc::new(Handlers::new()))
        .build()
        .expect("a valid inbox receiver")
}

/// A webhook body of the size of the documented payload.
fn body(key: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"run.completed","run_id":"{key}","status":"COMPLETED","data":{{"run_id":"{key}","status":"COMPLETED","goal":"Extract the page title","started_at":"2026-03-25T10:30:05Z","finished_at":"2026-03-25T10:30:45Z","num_of_steps":3,"result":{{"title":"Example Domain"}}}}}}"#
    )
    .into_bytes()
}

fn millis_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .expect("a clock after 1970");
    i64::try_from(since.as_millis()).expect("milliseconds in an i64")
}

/// The raw SQLite rate: one connection (SQLite has one writer; more connections only wait for
/// its lock), WAL and `synchronous=NORMAL` like the inbox, one row per transaction, a cached
/// statement, on the inbox's own table in a file of `dir`. Rows per second over `length`.
pub(crate) fn raw_sqlite(dir: &Path, length: Duration) -> Result<f64, Box<dyn Error>> {
    let path = dir.join("raw.db");
    // The inbox creates its table; the raw loop inserts into the same schema.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async { drop(SqliteInbox::open(&path).await) });
    let connection = rusqlite::Connection::open(&path)?;
    connection.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")?;
    let mut insert = connection.prepare_cached(
        "INSERT INTO runhook_inbox (key, run_id, event, received_at, body, drift, state,
                                    attempts, next_at, token)
         VALUES (?1, ?1, 'run.completed', ?2, ?3, '[]', 'pending', 0, ?2, 0)
         ON CONFLICT (key) DO NOTHING",
    )?;
    let started = Instant::now();
    let mut rows = 0u64;
    while started.elapsed() < length {
        let key = format!("raw:{rows}");
        assert_eq!(
            insert.execute(rusqlite::params![key, millis_now(), body(&key)])?,
            1
        );
        rows += 1;
    }
    Ok(rows as f64 / started.elapsed().as_secs_f64())
}

/// The raw PostgreSQL rate: `connections` tasks on as many connections, each insert its own
/// commit (`synchronous_commit` as the server has it, like the inbox), a prepared statement, into
/// a copy of the inbox's table in `schema`. Rows per second over `length`.
pub(crate) async fn raw_postgres(
    url: &str,
    schema: &str,
    connections: usize,
    length: Duration,
) -> Result<f64, Box<dyn Error>> {
    // The inbox creates its table (and the schema); the raw table copies its columns and indexes.
    let config = PostgresConfig::default().schema(schema).max_connections(1);
    drop(PostgresInbox::connect_with(url, config).await?);
    let (admin, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    admin
        .batch_execute(&format!(
            "DROP TABLE IF EXISTS {schema}.raw_inbox; \
             CREATE TABLE {schema}.raw_inbox (LIKE {schema}.runhook_inbox INCLUDING ALL)"
        ))
        .await?;
    let rows = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = tokio::task::JoinSet::new();
    let mut clients = Vec::new();
    for _ in 0..connections {
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
        tokio::spawn(connection);
        clients.push(client);
    }
    let started = Instant::now();
    for (n, client) in clients.into_iter().enumerate() {
        let (rows, stop, schema) = (Arc::clone(&rows), Arc::clone(&stop), schema.to_owned());
        tasks.spawn(async move {
            let insert = client
                .prepare(&format!(
                    "INSERT INTO {schema}.raw_inbox (key, run_id, event, received_at, body, \
                     drift, state, attempts, next_at, token) \
                     VALUES ($1, $1, 'run.completed', $2, $3, '[]', 'pending', 0, $2, 0) \
                     ON CONFLICT (key) DO NOTHING"
                ))
                .await
                .expect("the raw insert prepares");
            let mut i = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("raw:{n}:{i}");
                let inserted = client
                    .execute(&insert, &[&key, &millis_now(), &body(&key)])
                    .await
                    .expect("the raw insert");
                assert_eq!(inserted, 1);
                rows.fetch_add(1, Ordering::Relaxed);
                i += 1;
            }
        });
    }
    tokio::time::sleep(length).await;
    stop.store(true, Ordering::Relaxed);
    let counted = rows.load(Ordering::Relaxed);
    let elapsed = started.elapsed();
    while tasks.join_next().await.is_some() {}
    admin
        .batch_execute(&format!("DROP TABLE {schema}.raw_inbox"))
        .await?;
    Ok(counted as f64 / elapsed.as_secs_f64())
}

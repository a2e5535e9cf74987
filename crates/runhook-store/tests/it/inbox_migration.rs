//! Inbox tables of earlier schema versions, with their rows, migrated to the current one: an
//! inbox of version 1 (rebuilt by undoing the later migrations), and one of version 3 built from
//! the migration files of that time, with rows in every state (held, retrying, done, dead).

use crate::support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::inbox::{
    ActivityWindow, AttemptOutcome, BrowseQuery, Inbox, InboxState, NewInboxEntry, RowState,
    Settlement,
};
use runhook::reconcile::Source;
use runhook::store::{ClaimToken, IdempotencyKey};
use runhook_store::{PostgresConfig, PostgresInbox, SqliteInbox};
use support::{drop_schema, postgres_url, reachable, unique_schema};

const LEASE: Duration = Duration::from_secs(30);

/// The indexes every current inbox table has (PostgreSQL adds its primary key's).
const INDEXES: [&str; 7] = [
    "runhook_inbox_finished",
    "runhook_inbox_leased",
    "runhook_inbox_pending",
    "runhook_inbox_received",
    "runhook_inbox_retrying",
    "runhook_inbox_run",
    "runhook_inbox_state",
];

/// Undoes version 4 (its table, indexes and columns), in SQLite or PostgreSQL (`table` and
/// `index` qualified as the database needs).
fn undo_version_4(table: &str, schema: &str) -> String {
    let mut sql = format!("DROP TABLE {schema}runhook_inbox_attempts; ");
    for index in ["received", "state", "retrying", "leased"] {
        sql.push_str(&format!("DROP INDEX {schema}runhook_inbox_{index}; "));
    }
    sql.push_str(&format!(
        "ALTER TABLE {table} DROP COLUMN claimed_at; ALTER TABLE {table} DROP COLUMN replays; "
    ));
    sql
}

/// Now, in whole milliseconds (as durable inboxes keep times).
fn now() -> SystemTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
}

fn record(key: &str, at: SystemTime) -> NewInboxEntry {
    NewInboxEntry::new(
        IdempotencyKey::new(key),
        "run.completed",
        at,
        b"{}".to_vec(),
    )
    .with_run_id(key)
}

/// The indexes of the inbox table in the SQLite file at `path`, by name.
fn sqlite_indexes(path: &std::path::Path) -> Vec<String> {
    let connection = rusqlite::Connection::open(path).unwrap();
    let mut statement = connection
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runhook_inbox' \
             AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[tokio::test]
async fn a_sqlite_inbox_of_schema_version_1_is_migrated_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let t0 = now();
    let inbox = SqliteInbox::open(&path).await.unwrap();
    inbox.insert(record("old", t0), t0).await.unwrap();
    drop(inbox);
    // Back to version 1: its claim index, no source column, and its version row.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "{}
             DROP INDEX runhook_inbox_pending; DROP INDEX runhook_inbox_finished;
             CREATE INDEX runhook_inbox_due ON runhook_inbox (state, next_at);
             ALTER TABLE runhook_inbox DROP COLUMN source;
             UPDATE runhook_schema SET version = 1 WHERE component = 'inbox';",
            undo_version_4("runhook_inbox", "")
        ))
        .unwrap();

    let inbox = SqliteInbox::open(&path).await.unwrap();
    assert_eq!(sqlite_indexes(&path), INDEXES);
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT version FROM runhook_schema WHERE component = 'inbox'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(version, SqliteInbox::SCHEMA_VERSION);
    assert_eq!(version, 4);
    let claims = inbox.claim_due(t0, LEASE, 10).await.unwrap();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].entry.key.as_str(), "old");
    // A row of an earlier version was a webhook.
    assert_eq!(claims[0].entry.source, Source::Webhook);
}

/// The rows of the version-3 tests: `held` claimed with token 7 (lease until `t0` + 30 s),
/// `retrying` failed once, `done` and `dead` finished at `t0`; received one second apart;
/// bodies empty (`empty`, the database's empty bytes).
fn version_3_rows(table: &str, t0: i64, empty: &str) -> String {
    let columns = "key, run_id, event, received_at, body, drift, state, attempts, next_at, \
                   lease_until, token, last_error, finished_at";
    let lease = t0 + 30_000;
    let sql = format!(
        "INSERT INTO {table} ({columns}) VALUES \
         ('held', 'run-held', 'run.completed', {}, '', '[]', 'pending', 1, {t0}, {lease}, 7, \
           NULL, NULL), \
         ('retrying', 'run-retrying', 'run.failed', {}, '', '[]', 'pending', 1, {}, NULL, 3, \
           'boom', NULL), \
         ('done', 'run-done', 'run.completed', {}, '', '[]', 'done', 1, {t0}, NULL, 4, NULL, \
           {t0}), \
         ('dead', 'run-dead', 'run.completed', {}, '', '[]', 'dead', 2, {t0}, NULL, 5, 'no', \
           {t0})",
        t0 - 4_000,
        t0 - 3_000,
        t0 + 60_000,
        t0 - 2_000,
        t0 - 1_000
    );
    sql.replace("''", empty)
}

/// What every backend must read and do with the rows of [`version_3_rows`] once migrated.
async fn check_version_3_rows(inbox: &impl Inbox, t0: SystemTime) {
    let key = IdempotencyKey::new;
    let held = inbox.get(&key("held")).await.unwrap().unwrap();
    assert_eq!((held.replays, held.attempts), (0, 1));
    let depth = inbox.depth(t0).await.unwrap();
    assert_eq!(
        (
            depth.pending,
            depth.in_flight,
            depth.retrying,
            depth.done,
            depth.dead
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!(depth.oldest_pending, Some(t0 - Duration::from_secs(4)));
    let browsed: Vec<String> = inbox
        .browse(&BrowseQuery::newest(10))
        .await
        .unwrap()
        .iter()
        .map(|entry| entry.key.to_string())
        .collect();
    assert_eq!(browsed, ["dead", "done", "retrying", "held"]);
    let retrying = inbox
        .browse(&BrowseQuery::newest(10).in_state(RowState::Retrying))
        .await
        .unwrap();
    assert_eq!(retrying.len(), 1);
    assert_eq!(retrying[0].key.as_str(), "retrying");
    let minutes = inbox
        .activity(ActivityWindow::ending_at(t0, 5))
        .await
        .unwrap();
    let totals = minutes.iter().fold((0, 0, 0), |(r, p, d), minute| {
        (r + minute.received, p + minute.processed, d + minute.dead)
    });
    assert_eq!(totals, (4, 1, 1));
    // The claim held before the upgrade settles, and starts the history (its claim time was not
    // kept: it started when it was settled).
    let settled_at = t0 + Duration::from_secs(1);
    inbox
        .settle(
            &key("held"),
            ClaimToken::new(7),
            settled_at,
            Settlement::Done,
        )
        .await
        .unwrap();
    let history = inbox.attempts(&key("held")).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(
        (history[0].series, history[0].attempt, history[0].outcome),
        (0, 1, AttemptOutcome::Done)
    );
    assert_eq!(history[0].started_at, settled_at);
    assert!(inbox.attempts(&key("dead")).await.unwrap().is_empty());
    assert!(inbox.replay(&key("dead"), t0).await.unwrap());
    let dead = inbox.get(&key("dead")).await.unwrap().unwrap();
    assert_eq!(
        (dead.state, dead.replays, dead.attempts, dead.last_error),
        (InboxState::Pending, 1, 0, None)
    );
    assert!(inbox.purge_key(&key("done")).await.unwrap());
}

#[tokio::test]
async fn a_sqlite_inbox_of_schema_version_3_is_migrated_with_its_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runhook.db");
    let t0 = now();
    let ms = i64::try_from(t0.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    {
        // A file as runhook-store wrote it at version 3.
        let connection = rusqlite::Connection::open(&path).unwrap();
        for migration in [
            include_str!("../../migrations/sqlite/inbox/0001_rows.sql"),
            include_str!("../../migrations/sqlite/inbox/0002_pending_index.sql"),
            include_str!("../../migrations/sqlite/inbox/0003_source.sql"),
        ] {
            connection.execute_batch(migration).unwrap();
        }
        connection
            .execute_batch(
                "CREATE TABLE runhook_schema (component TEXT PRIMARY KEY NOT NULL,
                   version INTEGER NOT NULL) WITHOUT ROWID;
                 INSERT INTO runhook_schema VALUES ('inbox', 3);
                 UPDATE runhook_inbox_token SET last = 7;",
            )
            .unwrap();
        connection
            .execute_batch(&version_3_rows("runhook_inbox", ms, "X''"))
            .unwrap();
    }
    let inbox = SqliteInbox::open(&path).await.unwrap();
    assert_eq!(sqlite_indexes(&path), INDEXES);
    check_version_3_rows(&inbox, t0).await;
}

/// Connects an inbox in `schema`, or `None` (skipped loudly) without PostgreSQL outside CI.
async fn postgres(schema: &str) -> Option<PostgresInbox> {
    let url = postgres_url();
    let config = PostgresConfig::default().schema(schema);
    let connected = PostgresInbox::connect_with(&url, config).await;
    reachable(
        "the PostgreSQL inbox migration test",
        &format!("PostgreSQL at {url}"),
        connected,
    )
}

/// The indexes of the inbox table in `schema`, by name.
async fn postgres_indexes(client: &tokio_postgres::Client, schema: &str) -> Vec<String> {
    client
        .query(
            "SELECT indexname::text FROM pg_indexes \
             WHERE schemaname = $1 AND tablename = 'runhook_inbox' ORDER BY indexname",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The current indexes of a PostgreSQL inbox table.
fn postgres_expected() -> Vec<&'static str> {
    let mut expected = INDEXES.to_vec();
    expected.push("runhook_inbox_pkey");
    expected.sort_unstable();
    expected
}

#[tokio::test]
async fn a_postgres_inbox_of_schema_version_1_is_migrated_with_its_rows() {
    let schema = unique_schema();
    let Some(inbox) = postgres(&schema).await else {
        return;
    };
    let t0 = now();
    inbox.insert(record("old", t0), t0).await.unwrap();
    drop(inbox);
    let client = support::connect().await;
    // Back to version 1: its claim index, no source column, and its version row.
    client
        .batch_execute(&format!(
            "{} \
             DROP INDEX \"{schema}\".runhook_inbox_pending; \
             DROP INDEX \"{schema}\".runhook_inbox_finished; \
             CREATE INDEX runhook_inbox_due ON \"{schema}\".runhook_inbox (state, next_at); \
             ALTER TABLE \"{schema}\".runhook_inbox DROP COLUMN source; \
             UPDATE \"{schema}\".runhook_schema_version SET version = 1 \
               WHERE name = 'runhook_inbox'",
            undo_version_4(
                &format!("\"{schema}\".runhook_inbox"),
                &format!("\"{schema}\".")
            )
        ))
        .await
        .unwrap();

    let inbox =
        PostgresInbox::connect_with(&postgres_url(), PostgresConfig::default().schema(&schema))
            .await
            .unwrap();
    let indexes = postgres_indexes(&client, &schema).await;
    let version: i32 = client
        .query_one(
            &format!(
                "SELECT version FROM \"{schema}\".runhook_schema_version \
                 WHERE name = 'runhook_inbox'"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let claims = inbox.claim_due(t0, LEASE, 10).await.unwrap();
    drop_schema(&schema).await;
    assert_eq!(indexes, postgres_expected());
    assert_eq!(version, 4);
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].entry.key.as_str(), "old");
    assert_eq!(claims[0].entry.source, Source::Webhook);
}

#[tokio::test]
async fn a_postgres_inbox_of_schema_version_3_is_migrated_with_its_rows() {
    let schema = unique_schema();
    let url = postgres_url();
    let connected = tokio_postgres::connect(&url, tokio_postgres::NoTls).await;
    let Some((client, connection)) = reachable("the PostgreSQL v3 migration test", &url, connected)
    else {
        return;
    };
    tokio::spawn(connection);
    let t0 = now();
    let ms = i64::try_from(t0.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap();
    // A schema as runhook-store wrote it at version 3.
    let quoted = format!("\"{schema}\"");
    let mut sql = format!(
        "SET client_min_messages = warning; CREATE SCHEMA {quoted}; \
         CREATE TABLE {quoted}.runhook_schema_version (name text PRIMARY KEY, \
           version integer NOT NULL); \
         INSERT INTO {quoted}.runhook_schema_version VALUES ('runhook_inbox', 3); "
    );
    for migration in [
        include_str!("../../migrations/postgres/inbox/0001_rows.sql"),
        include_str!("../../migrations/postgres/inbox/0002_pending_index.sql"),
        include_str!("../../migrations/postgres/inbox/0003_source.sql"),
    ] {
        sql.push_str(
            &migration
                .replace("{schema}", &quoted)
                .replace("{table}", "runhook_inbox")
                .replace("{name}", "runhook_inbox"),
        );
    }
    sql.push_str(&version_3_rows(
        &format!("{quoted}.runhook_inbox"),
        ms,
        "''",
    ));
    client.batch_execute(&sql).await.unwrap();

    let inbox = postgres(&schema).await.unwrap();
    let indexes = postgres_indexes(&client, &schema).await;
    check_version_3_rows(&inbox, t0).await;
    drop_schema(&schema).await;
    assert_eq!(indexes, postgres_expected());
}

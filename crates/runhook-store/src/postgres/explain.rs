//! What the plan tests of the inbox and the store share: the test server's URL, and a
//! statement's plan as text.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use runhook::endpoint::redact_url;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

/// The test server (`RUNHOOK_TEST_POSTGRES_URL`, default
/// `postgres://postgres@127.0.0.1:5432/test`).
pub(crate) fn url() -> String {
    std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own for one test (the test drops it).
pub(crate) fn unique_schema() -> String {
    format!("runhook_test_{}", uuid::Uuid::new_v4().simple())
}

/// A client of the test server, or `None` (skipped loudly by `what`) if none runs here outside
/// CI; with `CI=true` a missing server fails the test.
pub(crate) async fn connect(what: &str) -> Option<Client> {
    match tokio_postgres::connect(&url(), tokio_postgres::NoTls).await {
        Ok((client, connection)) => {
            tokio::spawn(connection);
            Some(client)
        }
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!(
                "PostgreSQL at {} is needed in CI: {error}",
                redact_url(&url())
            )
        }
        Err(error) => {
            eprintln!(
                "SKIPPED: {what}: no PostgreSQL at {} ({error})",
                redact_url(&url())
            );
            None
        }
    }
}

/// The plan of `sql` with `params`, one line a step, in a transaction with the settings `set`
/// (rolled back).
pub(crate) async fn plan(
    client: &mut Client,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
    set: &str,
) -> String {
    let transaction = client.transaction().await.unwrap();
    transaction.batch_execute(set).await.unwrap();
    let rows = transaction
        .query(&format!("EXPLAIN (COSTS OFF) {sql}"), params)
        .await
        .unwrap();
    transaction.rollback().await.unwrap();
    lines(&rows)
}

/// An `EXPLAIN`'s rows as text.
pub(crate) fn lines(rows: &[tokio_postgres::Row]) -> String {
    rows.iter()
        .map(|row| row.get::<_, String>(0))
        .collect::<Vec<_>>()
        .join("\n")
}

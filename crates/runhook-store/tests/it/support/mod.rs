//! What the tests against real servers share: where the servers are, a schema per test, and
//! the rule for a server that cannot be reached (with `CI=true` the test fails; elsewhere it
//! is skipped with a loud message).

#![allow(dead_code, unreachable_pub)] // each test file uses part of it
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::fmt::Display;

/// The PostgreSQL server of the tests: `RUNHOOK_TEST_POSTGRES_URL`, by default
/// `postgres://postgres@127.0.0.1:5432/test`.
pub fn postgres_url() -> String {
    std::env::var("RUNHOOK_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema of its own for one test, dropped by [`drop_schema`].
pub fn unique_schema() -> String {
    format!("runhook_test_{}", uuid::Uuid::new_v4().simple())
}

/// A plain connection to the test server, for what a test does beside the store.
pub async fn connect() -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
}

/// Drops `schema` and everything in it.
pub async fn drop_schema(schema: &str) {
    connect()
        .await
        .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
        .await
        .unwrap();
}

/// `connected`'s value, or `None` if the server is unreachable outside CI (`what` is skipped,
/// loudly); in CI an unreachable server fails the test.
pub fn reachable<T, E: Display>(what: &str, server: &str, connected: Result<T, E>) -> Option<T> {
    match connected {
        Ok(value) => Some(value),
        Err(error) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{server} is needed in CI: {error}")
        }
        Err(error) => {
            eprintln!("SKIPPED: {what}: no {server} ({error})");
            None
        }
    }
}

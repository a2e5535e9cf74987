//! Exactly-once side effects: a `Receiver` in inbox mode on a PostgreSQL inbox, whose handler
//! writes each completed run into the application's own table through the transaction that
//! also marks the inbox row done. The row and the write commit together, or not at all; the
//! same webhook delivered twice is stored once and written once.
//!
//! Needs a PostgreSQL server: `RUNHOOK_EXAMPLE_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`. It works in a schema of its own and drops it.
//!
//! Run: `cargo run -p runhook-store --features postgres --example exactly_once`

use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Uri};
use runhook::{Event, HandlerOutcome};
use runhook_receiver::inbox::{InboxOutcome, InboxReport};
use runhook_receiver::{Received, Receiver};
use runhook_store::{PostgresConfig, PostgresInbox, Transaction, TransactionalHandler};
use serde_json::Value;
use tokio::sync::mpsc;

/// Records each completed run's result in `<schema>.results`, through the inbox's transaction.
struct RecordResult {
    table: String,
}

#[async_trait]
impl TransactionalHandler for RecordResult {
    async fn handle(&self, tx: &Transaction<'_>, event: &Received<Event>) -> HandlerOutcome {
        let Event::Completed(run) = &**event else {
            return HandlerOutcome::Ok; // nothing to record; the row is marked done all the same
        };
        let result = run
            .data
            .result
            .value()
            .map(|result| Value::from(result.clone()).to_string());
        let sql = format!(
            "INSERT INTO {} (run_id, result) VALUES ($1, $2)",
            self.table
        );
        match tx.execute(&sql, &[&run.run_id.as_str(), &result]).await {
            // Committed with the row's done mark by the processor, never before it.
            Ok(_) => HandlerOutcome::Ok,
            // Rolled back with everything else of this attempt; the row is retried later.
            Err(error) => HandlerOutcome::retry(format!("cannot record the result: {error}")),
        }
    }
}

/// A receiver in inbox mode on the PostgreSQL inbox at `url`, in `schema`, writing into
/// `<schema>.results`; and the reports of its attempts.
pub(crate) async fn receiver(
    url: &str,
    schema: &str,
) -> Result<(Receiver, mpsc::UnboundedReceiver<InboxReport>), Box<dyn Error>> {
    let inbox = PostgresInbox::connect_with(url, PostgresConfig::default().schema(schema)).await?;
    // The application's own table, in the inbox's database (the transaction's), made as the
    // application makes its tables (by its migrations).
    let table = format!("\"{schema}\".results");
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {table} (run_id text PRIMARY KEY, result text)"
        ))
        .await?;
    let processor = inbox.transactional(RecordResult { table });
    let (reports, reported) = mpsc::unbounded_channel();
    let receiver = Receiver::with_inbox(Arc::new(inbox), Arc::new(processor))
        .inbox_report_to(reports)
        .build()?;
    Ok((receiver, reported))
}

/// Delivers `body` as a TinyFish webhook; the status answered.
pub(crate) async fn deliver(receiver: &Receiver, body: &str) -> u16 {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let uri = Uri::from_static("/webhooks/tinyfish");
    let response = receiver
        .receive(&Method::POST, &uri, &headers, body.to_owned().into())
        .await;
    response.status
}

/// The `run.completed` webhook of `run_id`.
pub(crate) fn completed(run_id: &str) -> String {
    format!(
        r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{"result":{{"title":"Example Domain"}}}}}}"#
    )
}

/// Waits for the next attempt's report, up to 30 s.
pub(crate) async fn next_attempt(
    reported: &mut mpsc::UnboundedReceiver<InboxReport>,
) -> Result<InboxReport, Box<dyn Error>> {
    match tokio::time::timeout(Duration::from_secs(30), reported.recv()).await {
        Ok(Some(report)) => Ok(report),
        Ok(None) => Err("the workers stopped".into()),
        Err(_) => Err("no attempt within 30 s".into()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn Error>> {
    let url = std::env::var("RUNHOOK_EXAMPLE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = "runhook_exactly_once";
    let (receiver, mut reported) = receiver(&url, schema).await?;

    // TinyFish delivers the same webhook twice (its first attempt timed out, say): both get 200,
    // the second as a duplicate of the stored row.
    let body = completed("run-1");
    println!("first delivery: {}", deliver(&receiver, &body).await);
    println!("second delivery: {}", deliver(&receiver, &body).await);
    let attempt = next_attempt(&mut reported).await?;
    println!("{}: {}", attempt.key, attempt.outcome);
    assert_eq!(attempt.outcome, InboxOutcome::Done);

    let inbox = receiver.inbox().ok_or("inbox mode")?;
    let depth = inbox.depth(std::time::SystemTime::now()).await?;
    println!("inbox: {depth:?}");
    receiver.shutdown(Duration::from_secs(5)).await;

    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let table = format!("\"{schema}\".results");
    for row in client
        .query(&format!("SELECT run_id, result FROM {table}"), &[])
        .await?
    {
        let (run_id, result): (String, Option<String>) = (row.get(0), row.get(1));
        println!("results: {run_id} {result:?}");
    }
    client
        .batch_execute(&format!("DROP SCHEMA \"{schema}\" CASCADE"))
        .await?;
    Ok(())
}

//! Exactly-once side effects with the PostgreSQL inbox: the handler records a payment through
//! the processor's transaction, so the payment and the inbox row's done mark commit together,
//! or not at all.
//!
//! Needs a PostgreSQL server: `RUNHOOK_EXAMPLE_POSTGRES_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`. It works in a schema of its own and drops it.
//!
//! Run: `cargo run -p runhook-store --features postgres --example transactional_inbox`

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use runhook::inbox::{Inbox, InboxClaim, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;
use runhook::{Event, HandlerOutcome};
use runhook_receiver::inbox::{InboxProcessor, Processed};
use runhook_receiver::{HandlerContext, Received};
use runhook_store::{PostgresConfig, PostgresInbox, TransactionalHandler};

/// Records one payment per run, in `webhook_example.payments`. A run whose result has no
/// `amount` is retried later (its write is rolled back).
struct RecordPayment;

#[async_trait]
impl TransactionalHandler for RecordPayment {
    async fn handle(&self, tx: &Transaction<'_>, event: &Received<Event>) -> HandlerOutcome {
        let Event::Completed(run) = &**event else {
            return HandlerOutcome::Ok; // nothing to pay for
        };
        let inserted = tx
            .execute(
                "INSERT INTO webhook_example.payments (run_id) VALUES ($1)",
                &[&run.run_id.as_str()],
            )
            .await;
        if let Err(error) = inserted {
            return HandlerOutcome::retry(format!("cannot record the payment: {error}"));
        }
        let amount = run
            .data
            .result
            .value()
            .and_then(|result| result.get("amount"));
        let Some(amount) = amount.and_then(|amount| amount.as_i64()) else {
            // The insert above is rolled back with the rest of the transaction.
            return HandlerOutcome::retry("no amount yet");
        };
        let updated = tx
            .execute(
                "UPDATE webhook_example.payments SET amount = $2 WHERE run_id = $1",
                &[&run.run_id.as_str(), &amount],
            )
            .await;
        match updated {
            Ok(_) => HandlerOutcome::Ok,
            Err(error) => HandlerOutcome::retry(format!("cannot record the amount: {error}")),
        }
    }
}

/// The event of a claimed row, as a worker hands it to a processor.
fn received(claim: &InboxClaim) -> Result<Received<Event>, Box<dyn std::error::Error>> {
    let event = Event::from_slice(&claim.entry.body)?;
    let context = HandlerContext::new(
        http::Uri::from_static("/webhooks/tinyfish"),
        http::HeaderMap::new(),
        claim.entry.received_at,
    )
    .with_attempt(claim.entry.attempts);
    Ok(Received::new(event, context))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("RUNHOOK_EXAMPLE_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let config = PostgresConfig::default().schema("webhook_example");
    let inbox = PostgresInbox::connect_with(&url, config).await?;
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS webhook_example.payments (
               run_id text PRIMARY KEY, amount bigint)",
        )
        .await?;

    // Two events, as a receiver in inbox mode stores them before answering 200.
    let now = SystemTime::now();
    for (run_id, result) in [("run-paid", r#"{"amount":1200}"#), ("run-unpaid", "{}")] {
        let body = format!(
            r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{"result":{result}}}}}"#
        );
        let record = NewInboxEntry::new(IdempotencyKey::new(run_id), "run.completed", now, body);
        inbox.insert(record.with_run_id(run_id), now).await?;
    }

    // A worker: claim the due rows, process each in a transaction, settle what is left to it.
    let processor = inbox.transactional(RecordPayment);
    let lease = Duration::from_secs(30);
    for claim in inbox.claim_due(now, lease, 10).await? {
        let key = claim.entry.key.clone();
        match processor.process(&claim, received(&claim)?).await {
            Processed::Done => println!("{key}: done, payment and done mark committed together"),
            Processed::Outcome(outcome) => {
                println!("{key}: rolled back ({outcome:?}); the worker retries it later");
                let retry = Settlement::Retry {
                    at: now + Duration::from_secs(60),
                    error: outcome.reason().unwrap_or_default().to_owned(),
                };
                inbox.settle(&key, claim.token, now, retry).await?;
            }
            Processed::NotHeld => println!("{key}: another worker holds it now"),
            other => println!("{key}: {other:?}"),
        }
    }
    for row in client
        .query(
            "SELECT run_id, amount FROM webhook_example.payments ORDER BY run_id",
            &[],
        )
        .await?
    {
        let (run_id, amount): (String, Option<i64>) = (row.get(0), row.get(1));
        println!("payments: {run_id} {amount:?}");
    }
    client
        .batch_execute("DROP SCHEMA webhook_example CASCADE")
        .await?;
    Ok(())
}

//! The transactional processor on a real PostgreSQL server (`RUNHOOK_TEST_POSTGRES_URL`, each
//! test in a schema of its own; with `CI=true` an unreachable server fails the test, elsewhere
//! it is skipped loudly): the handler's writes commit with the done mark, or not at all.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use deadpool_postgres::Transaction;
use runhook::inbox::{Inbox, InboxAttempt, InboxClaim, InboxState, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;
use runhook::{Event, HandlerOutcome};
use runhook_receiver::inbox::{InboxProcessor, Processed};
use runhook_receiver::{Clock, HandlerContext, Received};
use runhook_store::{PostgresConfig, PostgresInbox, TransactionalHandler};
use support::{drop_schema, postgres_url, reachable, unique_schema};
use tokio::sync::Notify;

/// Now, in whole milliseconds (as the inbox keeps times).
fn now() -> SystemTime {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis();
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap())
}

#[derive(Debug)]
struct Fixed(SystemTime);

impl Clock for Fixed {
    fn now(&self) -> SystemTime {
        self.0
    }
}

/// What the handler does after inserting its payment.
enum Then {
    Answer(HandlerOutcome),
    Panic,
    /// Signals the first, then waits for the second before answering `Ok`.
    Wait(Arc<Notify>, Arc<Notify>),
}

/// Inserts a payment for the event's run through the transaction, then does `then`.
struct Payments {
    table: String,
    then: Then,
    calls: AtomicUsize,
}

#[async_trait]
impl TransactionalHandler for Payments {
    async fn handle(&self, tx: &Transaction<'_>, event: &Received<Event>) -> HandlerOutcome {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let sql = format!("INSERT INTO {} (run_id) VALUES ($1)", self.table);
        if let Err(error) = tx.execute(&sql, &[&event.run_id()]).await {
            return HandlerOutcome::retry(error.to_string());
        }
        match &self.then {
            Then::Answer(outcome) => outcome.clone(),
            Then::Panic => panic!("the handler fails after writing"),
            Then::Wait(inside, go) => {
                inside.notify_one();
                go.notified().await;
                HandlerOutcome::Ok
            }
        }
    }
}

/// An inbox in a schema of its own, with a `payments` table; `None` without PostgreSQL.
struct Setup {
    schema: String,
    inbox: PostgresInbox,
    payments: String,
}

impl Setup {
    async fn new() -> Option<Self> {
        let schema = unique_schema();
        let config = PostgresConfig::default().schema(&schema);
        let connected = PostgresInbox::connect_with(&postgres_url(), config).await;
        let inbox = reachable("the transactional processor test", "PostgreSQL", connected)?;
        let payments = format!("\"{schema}\".payments");
        let client = support::connect().await;
        client
            .batch_execute(&format!(
                "CREATE TABLE {payments} (run_id text PRIMARY KEY)"
            ))
            .await
            .unwrap();
        Some(Setup {
            schema,
            inbox,
            payments,
        })
    }

    fn handler(&self, then: Then) -> Payments {
        Payments {
            table: self.payments.clone(),
            then,
            calls: AtomicUsize::new(0),
        }
    }

    /// Inserts an event of run `run` at `at` and claims it for `lease`.
    async fn claimed(&self, run: &str, at: SystemTime, lease: Duration) -> InboxClaim {
        let body = format!(
            r#"{{"event":"run.completed","run_id":"{run}","status":"COMPLETED","data":{{}}}}"#
        );
        let record = NewInboxEntry::new(IdempotencyKey::new(run), "run.completed", at, body);
        self.inbox
            .insert(record.with_run_id(run), at)
            .await
            .unwrap();
        let mut claims = self.inbox.claim_due(at, lease, 1).await.unwrap();
        assert_eq!(claims.len(), 1);
        claims.remove(0)
    }

    async fn paid(&self, run: &str) -> bool {
        let client = support::connect().await;
        let sql = format!("SELECT 1 FROM {} WHERE run_id = $1", self.payments);
        client.query_opt(&sql, &[&run]).await.unwrap().is_some()
    }

    async fn state(&self, run: &str) -> InboxState {
        let entry = self.inbox.get(&IdempotencyKey::new(run)).await.unwrap();
        entry.unwrap().state
    }
}

fn received(claim: &InboxClaim) -> Received<Event> {
    let event = Event::from_slice(&claim.entry.body).unwrap();
    let context = HandlerContext::new(
        http::Uri::from_static("/webhooks/tinyfish"),
        http::HeaderMap::new(),
        claim.entry.received_at,
    )
    .with_attempt(claim.entry.attempts);
    Received::new(event, context)
}

const LEASE: Duration = Duration::from_secs(30);

#[tokio::test]
async fn ok_commits_the_handlers_write_with_the_done_mark() {
    let Some(setup) = Setup::new().await else {
        return;
    };
    let t0 = now();
    let claim = setup.claimed("r1", t0, LEASE).await;
    let finished = t0 + Duration::from_secs(3);
    let processor = setup
        .inbox
        .transactional(setup.handler(Then::Answer(HandlerOutcome::Ok)))
        .with_clock(Fixed(finished));
    let processed = processor.process(&claim, received(&claim)).await;
    let entry = setup.inbox.get(&claim.entry.key).await.unwrap().unwrap();
    let history = setup.inbox.attempts(&claim.entry.key).await.unwrap();
    let paid = setup.paid("r1").await;
    drop_schema(&setup.schema).await;
    assert_eq!(processed, Processed::Done);
    assert!(paid);
    assert_eq!(entry.state, InboxState::Done);
    assert_eq!(entry.finished_at, Some(finished));
    assert_eq!(entry.lease_until, None);
    assert_eq!(processor.handler().calls.load(Ordering::SeqCst), 1);
    // The attempt is in the row's history, written in the same transaction.
    let done = InboxAttempt::settled(0, 1, t0, finished, &Settlement::Done);
    assert_eq!(history, [done]);
}

#[tokio::test]
async fn retry_reject_or_a_panic_roll_the_handlers_write_back() {
    let Some(setup) = Setup::new().await else {
        return;
    };
    let t0 = now();
    let cases = [
        ("retry", Then::Answer(HandlerOutcome::retry("later"))),
        ("reject", Then::Answer(HandlerOutcome::reject("never"))),
        ("panic", Then::Panic),
    ];
    let mut results = Vec::new();
    for (run, then) in cases {
        let claim = setup.claimed(run, t0, LEASE).await;
        let processor = setup.inbox.transactional(setup.handler(then));
        let processed = processor.process(&claim, received(&claim)).await;
        let paid = setup.paid(run).await;
        let state = setup.state(run).await;
        // The worker settles the row outside the rolled-back transaction: the claim holds.
        let retry = Settlement::Retry {
            at: t0 + LEASE,
            error: "settled by the worker".into(),
        };
        let settled = setup
            .inbox
            .settle(&claim.entry.key, claim.token, t0, retry)
            .await;
        results.push((run, processed, paid, state, settled));
    }
    drop_schema(&setup.schema).await;
    for (run, processed, paid, state, settled) in results {
        let outcome = match processed {
            Processed::Outcome(outcome) => outcome,
            other => panic!("{run}: {other:?}"),
        };
        match run {
            "retry" => assert_eq!(outcome, HandlerOutcome::retry("later")),
            "reject" => assert_eq!(outcome, HandlerOutcome::reject("never")),
            _ => assert!(
                matches!(&outcome, HandlerOutcome::Retry { reason } if reason.contains("panicked")),
                "{outcome:?}"
            ),
        }
        assert!(!paid, "{run}: the payment was committed");
        assert_eq!(state, InboxState::Pending, "{run}");
        assert_eq!(settled, Ok(()), "{run}");
    }
}

#[tokio::test]
async fn a_claim_taken_over_is_not_held_and_writes_nothing() {
    let Some(setup) = Setup::new().await else {
        return;
    };
    let t0 = now();
    let lease = Duration::from_secs(1);
    let stale = setup.claimed("r1", t0, lease).await;
    let later = t0 + Duration::from_secs(2);
    let current = setup
        .inbox
        .claim_due(later, LEASE, 1)
        .await
        .unwrap()
        .remove(0);
    let processor = setup
        .inbox
        .transactional(setup.handler(Then::Answer(HandlerOutcome::Ok)));
    let processed = processor.process(&stale, received(&stale)).await;
    let calls = processor.handler().calls.load(Ordering::SeqCst);
    let paid_by_stale = setup.paid("r1").await;
    let state = setup.state("r1").await;
    let by_current = processor.process(&current, received(&current)).await;
    let paid = setup.paid("r1").await;
    drop_schema(&setup.schema).await;
    assert_eq!(processed, Processed::NotHeld);
    assert_eq!(calls, 0, "the handler ran without the claim");
    assert!(!paid_by_stale);
    assert_eq!(state, InboxState::Pending);
    assert_eq!(by_current, Processed::Done);
    assert!(paid);
}

#[tokio::test]
async fn a_row_being_processed_cannot_be_taken_over() {
    let Some(setup) = Setup::new().await else {
        return;
    };
    let t0 = now();
    let claim = setup.claimed("r1", t0, Duration::from_secs(1)).await;
    let (inside, go) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let processor = Arc::new(
        setup
            .inbox
            .transactional(setup.handler(Then::Wait(Arc::clone(&inside), Arc::clone(&go)))),
    );
    let running = {
        let (processor, claim) = (Arc::clone(&processor), claim.clone());
        tokio::spawn(async move { processor.process(&claim, received(&claim)).await })
    };
    inside.notified().await;
    // An hour later by the caller's clock, the lease is long over, but the row is locked.
    let late = t0 + Duration::from_secs(3600);
    let takeover = setup.inbox.claim_due(late, LEASE, 10).await.unwrap();
    go.notify_one();
    let processed = running.await.unwrap();
    let after = setup.inbox.claim_due(late, LEASE, 10).await.unwrap();
    let paid = setup.paid("r1").await;
    drop_schema(&setup.schema).await;
    assert!(takeover.is_empty(), "{takeover:?}");
    assert_eq!(processed, Processed::Done);
    assert!(after.is_empty(), "{after:?}");
    assert!(paid);
}

#[tokio::test]
async fn a_database_error_in_the_transaction_commits_nothing() {
    let Some(setup) = Setup::new().await else {
        return;
    };
    let t0 = now();
    let first = setup.claimed("r1", t0, LEASE).await;
    let ok = || setup.handler(Then::Answer(HandlerOutcome::Ok));
    let processor = setup.inbox.transactional(ok());
    assert_eq!(
        processor.process(&first, received(&first)).await,
        Processed::Done
    );
    // A second event of the run whose handler ignores the failed insert (a duplicate payment)
    // and answers Ok: the transaction is aborted, so the done mark fails and nothing commits.
    let body = br#"{"event":"run.completed","run_id":"r1","status":"COMPLETED","data":{}}"#;
    let record = NewInboxEntry::new(
        IdempotencyKey::new("r1:again"),
        "run.completed",
        t0,
        &body[..],
    );
    setup
        .inbox
        .insert(record.with_run_id("r1"), t0)
        .await
        .unwrap();
    let second = setup.inbox.claim_due(t0, LEASE, 1).await.unwrap().remove(0);
    struct Ignoring(String);
    #[async_trait]
    impl TransactionalHandler for Ignoring {
        async fn handle(&self, tx: &Transaction<'_>, event: &Received<Event>) -> HandlerOutcome {
            let sql = format!("INSERT INTO {} (run_id) VALUES ($1)", self.0);
            let _ = tx.execute(&sql, &[&event.run_id()]).await;
            HandlerOutcome::Ok
        }
    }
    let processor = setup.inbox.transactional(Ignoring(setup.payments.clone()));
    let processed = processor.process(&second, received(&second)).await;
    let state = setup.state("r1:again").await;
    drop_schema(&setup.schema).await;
    assert!(
        matches!(&processed, Processed::Outcome(HandlerOutcome::Retry { reason })
            if reason.contains("nothing was committed")),
        "{processed:?}"
    );
    assert_eq!(state, InboxState::Pending);
}

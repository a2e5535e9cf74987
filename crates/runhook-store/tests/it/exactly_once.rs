//! The exactly-once example (`examples/exactly_once.rs`) on a real PostgreSQL server
//! (`RUNHOOK_TEST_POSTGRES_URL`, in a schema of its own; with `CI=true` an unreachable server
//! fails the test, elsewhere it is skipped loudly): a `Receiver` in inbox mode on
//! `PostgresInbox::transactional` writes each run into the application's table once, however
//! often its webhook arrives.

#[path = "../../examples/exactly_once.rs"]
#[allow(dead_code)] // its `main` is the example's, not the test's
mod example;
use crate::support;

use std::time::{Duration, SystemTime};

use runhook::inbox::InboxState;
use runhook::store::IdempotencyKey;
use runhook_receiver::inbox::InboxOutcome;
use support::{connect, drop_schema, postgres_url, reachable, unique_schema};

#[tokio::test]
async fn each_run_lands_once_in_the_applications_table_even_when_delivered_twice() {
    let connected = tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls).await;
    if reachable("the exactly-once example", "PostgreSQL", connected).is_none() {
        return;
    }
    let schema = unique_schema();
    let (receiver, mut reported) = example::receiver(&postgres_url(), &schema).await.unwrap();

    // Each webhook arrives twice: both deliveries are answered 200, the second as a duplicate.
    for run_id in ["run-a", "run-b"] {
        let body = example::completed(run_id);
        assert_eq!(example::deliver(&receiver, &body).await, 200);
        assert_eq!(example::deliver(&receiver, &body).await, 200);
    }
    let mut done = Vec::new();
    for _ in 0..2 {
        let report = example::next_attempt(&mut reported).await.unwrap();
        assert_eq!(report.outcome, InboxOutcome::Done, "{report:?}");
        assert_eq!(report.attempt, 1);
        done.push(report.key.as_str().to_owned());
    }
    done.sort();
    assert_eq!(done, ["run-a", "run-b"]);
    // A redelivery after processing is a duplicate too: no new attempt.
    assert_eq!(
        example::deliver(&receiver, &example::completed("run-a")).await,
        200
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), reported.recv())
            .await
            .is_err(),
        "no second attempt of a processed run"
    );

    let inbox = receiver.inbox().unwrap();
    for run_id in ["run-a", "run-b"] {
        let row = inbox
            .get(&IdempotencyKey::new(run_id))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((row.state, row.attempts), (InboxState::Done, 1));
    }
    let depth = inbox.depth(SystemTime::now()).await.unwrap();
    assert_eq!(depth.pending, 0, "{depth:?}");
    receiver.shutdown(Duration::from_secs(5)).await;

    let client = connect().await;
    let rows = client
        .query(
            &format!(
                "SELECT run_id, count(*) FROM \"{schema}\".results GROUP BY run_id ORDER BY run_id"
            ),
            &[],
        )
        .await
        .unwrap();
    let counts: Vec<(String, i64)> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(
        counts,
        [("run-a".to_owned(), 1), ("run-b".to_owned(), 1)],
        "each run written once, with its done mark"
    );
    drop_schema(&schema).await;
}

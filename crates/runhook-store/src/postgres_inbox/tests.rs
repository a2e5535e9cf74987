//! The claim's plan on a real PostgreSQL server (`RUNHOOK_TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`; with `CI=true` an unreachable server fails the
//! test, elsewhere it is skipped loudly).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use tokio_postgres::{Client, NoTls};

use super::{PostgresInbox, sql};
use crate::PostgresConfig;
use crate::postgres::explain::{self, lines};

/// The plan of the prepared claim statement `claim`, as a claim's transaction runs it.
async fn plan(client: &mut Client) -> String {
    let transaction = client.transaction().await.unwrap();
    transaction.batch_execute(sql::CLAIM_PLAN).await.unwrap();
    let now = i64::MAX / 2;
    let explain = format!("EXPLAIN (COSTS OFF) EXECUTE claim({now}, 16, 7)");
    let plan = lines(&transaction.query(&explain, &[]).await.unwrap());
    transaction.rollback().await.unwrap();
    plan
}

/// The rows walked in the pending index's order; each run check a lookup in the run index.
fn assert_walks_the_index(plan: &str, case: &str) {
    assert_eq!(
        plan.matches("using runhook_inbox_pending").count(),
        1,
        "{case}: the rows should be walked in the pending index, and only they:\n{plan}"
    );
    assert!(
        plan.contains("Index Scan using runhook_inbox_pending on runhook_inbox r"),
        "{case}:\n{plan}"
    );
    // The check that no row of the run is held may instead walk the held rows (the partial
    // index of version 4, as few as the rows being processed).
    let lookups = plan.matches("using runhook_inbox_run on").count()
        + plan.matches("using runhook_inbox_leased on").count();
    assert!(
        plan.matches("using runhook_inbox_run on").count() >= 1 && lookups == 2,
        "{case}: each run check should look the run up in the run index:\n{plan}"
    );
    for bad in ["Sort", "Seq Scan", "Bitmap", "hashed"] {
        assert!(
            !plan.contains(bad),
            "{case}: {bad} in the claim's plan:\n{plan}"
        );
    }
}

/// The claim walks the pending index in its order, with no sort, scan or hashed subplan, in the
/// cases where the planner was seen to sort or scan the whole backlog for each claim: a
/// connection that cached the statement's generic plan while the table was empty, then a table
/// of 20 000 rows never analyzed; the same once analyzed, 15 000 of the rows done. And a
/// settlement, on a connection set up as the inbox's are, finds its row by its key.
#[tokio::test]
async fn a_claim_walks_the_pending_index_whatever_the_planner_knows() {
    let Some(mut client) = explain::connect("the claim plan test").await else {
        return;
    };
    let schema = explain::unique_schema();
    let config = PostgresConfig::default().schema(schema.as_str());
    let inbox = PostgresInbox::connect_with(&explain::url(), config)
        .await
        .unwrap();
    client
        .batch_execute(&format!(
            "PREPARE claim(bigint, bigint, integer) AS {}",
            inbox.sql.candidates
        ))
        .await
        .unwrap();
    // A connection as the inbox's pool opens them, and a settlement prepared on it.
    let mut session: tokio_postgres::Config = explain::url().parse().unwrap();
    session.options(format!("-c {}", sql::SESSION));
    let (settler, connection) = session.connect(NoTls).await.unwrap();
    tokio::spawn(connection);
    settler
        .batch_execute(&format!(
            "PREPARE done(text, bigint, bigint, text, text, bigint) AS {}",
            inbox.sql.done
        ))
        .await
        .unwrap();
    // Run often enough on the empty table for each connection to cache a generic plan.
    for _ in 0..10 {
        client
            .batch_execute(&format!("EXECUTE claim({}, 16, 7)", i64::MAX / 2))
            .await
            .unwrap();
        settler
            .batch_execute("EXECUTE done('k1', 1, 1, 'done', NULL, NULL)")
            .await
            .unwrap();
    }
    client
        .batch_execute(&format!(
            "INSERT INTO {schema}.runhook_inbox (key, run_id, event, received_at, body, drift, \
               state, attempts, next_at, token) \
             SELECT 'k' || i, 'run-' || i, 'run.completed', i, '\\x00', '[]', \
               CASE WHEN i <= 15000 THEN 'done' ELSE 'pending' END, 1, i, i \
             FROM generate_series(1, 20000) AS i"
        ))
        .await
        .unwrap();
    let unanalyzed = plan(&mut client).await;
    let explained = settler
        .query(
            "EXPLAIN (COSTS OFF) EXECUTE done('k19000', 7, 1, 'done', NULL, NULL)",
            &[],
        )
        .await
        .unwrap();
    let settlement = lines(&explained);
    client
        .batch_execute(&format!("ANALYZE {schema}.runhook_inbox"))
        .await
        .unwrap();
    let analyzed = plan(&mut client).await;
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    assert_walks_the_index(
        &unanalyzed,
        "never analyzed, a generic plan cached while empty",
    );
    assert_walks_the_index(&analyzed, "analyzed");
    // A settlement finds its row by the primary key, not by walking the pending index.
    assert!(
        settlement.contains("Index Scan using runhook_inbox_pkey"),
        "{settlement}"
    );
}

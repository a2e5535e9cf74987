//! The plans PostgreSQL makes of what a console reads, on a table of 20 000 rows vacuumed and
//! analyzed (a real server as in `tests.rs`): every page, the depth counts and the activity are served by
//! indexes, never by a scan of the table.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::{Duration, SystemTime};

use runhook::inbox::{BrowseQuery, RowFilter, RowState};
use runhook::store::IdempotencyKey;
use tokio_postgres::types::ToSql;

use super::PostgresInbox;
use super::sql::{COUNT_PLAN, dialect};
use crate::PostgresConfig;
use crate::inbox_console::{self, Param};
use crate::postgres::explain;

/// The setting every connection of an inbox has (`sql::SESSION`), for the statements run as
/// they are.
const SESSION_PLAN: &str = "SET LOCAL plan_cache_mode = force_custom_plan";

/// The plan of `sql` with `params`, one line a step (with the settings `set`, as the inbox runs
/// it).
async fn plan(
    client: &mut tokio_postgres::Client,
    sql: &str,
    params: &[Param],
    set: &str,
) -> String {
    let params: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|param| match param {
            Param::Text(text) => text as &(dyn ToSql + Sync),
            Param::Int(int) => int as &(dyn ToSql + Sync),
        })
        .collect();
    explain::plan(client, sql, &params, set).await
}

#[tokio::test]
async fn every_console_read_is_served_by_an_index() {
    let Some(mut client) = explain::connect("the console plan test").await else {
        return;
    };
    let schema = explain::unique_schema();
    let config = PostgresConfig::default().schema(schema.as_str());
    let inbox = PostgresInbox::connect_with(&explain::url(), config)
        .await
        .unwrap();
    // 20 000 rows a second apart, of bodies of 400 bytes (a small webhook): 15 000 done, 2 000
    // dead, 3 000 pending (one in 30 retrying, one in 60 held), in 2 000 runs and 4 events.
    client
        .batch_execute(&format!(
            "INSERT INTO {schema}.runhook_inbox (key, run_id, event, received_at, body, drift, \
               state, attempts, next_at, lease_until, token, last_error, finished_at) \
             SELECT 'k' || i, 'run-' || (i % 2000), 'run.e' || (i % 4), i * 1000, \
               decode(repeat('7b', 400), 'hex'), '[]', \
               CASE WHEN i <= 15000 THEN 'done' WHEN i <= 17000 THEN 'dead' ELSE 'pending' END, \
               1, i * 1000, \
               CASE WHEN i > 17000 AND i % 60 = 0 THEN i * 1000 + 30000 END, i, \
               CASE WHEN i > 15000 AND i % 30 = 0 THEN 'boom' END, \
               CASE WHEN i <= 17000 THEN i * 1000 + 500 END \
             FROM generate_series(1, 20000) AS i"
        ))
        .await
        .unwrap();
    // As autovacuum leaves a table: its statistics, and its visibility map for index-only scans.
    client
        .batch_execute(&format!("VACUUM ANALYZE {schema}.runhook_inbox"))
        .await
        .unwrap();
    let table = &inbox.sql.table;
    let at = |secs: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(secs);
    let mut plans = Vec::new();
    let states = [None].into_iter().chain(RowState::ALL.map(Some));
    for state in states {
        for filter in [
            RowFilter::all(),
            RowFilter::all().with_event("run.e1"),
            RowFilter::all().with_run_id_prefix("run-17"),
            RowFilter::all().with_key(IdempotencyKey::new("k19000")),
        ] {
            for before in [None, Some((at(16_000), IdempotencyKey::new("k16000")))] {
                let mut query = BrowseQuery::newest(50).matching(filter.clone());
                query.state = state;
                query.before = before;
                let (sql, params) = inbox_console::browse(dialect(table), &query)
                    .unwrap()
                    .unwrap();
                plans.push((
                    format!("{query:?}"),
                    plan(&mut client, &sql, &params, SESSION_PLAN).await,
                ));
            }
        }
    }
    let depth = &inbox.sql.depth;
    plans.push((
        "depth".into(),
        plan(&mut client, depth, &[Param::Int(18_000_000)], COUNT_PLAN).await,
    ));
    let activity = &inbox.sql.activity;
    let window = [Param::Int(16_000_000), Param::Int(16_000_000 + 3_600_000)];
    plans.push((
        "activity".into(),
        plan(&mut client, activity, &window, COUNT_PLAN).await,
    ));
    let attempts = &inbox.sql.attempts;
    let key = [Param::Text("k1".into())];
    plans.push((
        "attempts".into(),
        plan(&mut client, attempts, &key, SESSION_PLAN).await,
    ));
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    for (case, plan) in &plans {
        println!("{case}\n{plan}\n");
    }
    for (case, plan) in plans
        .iter()
        .filter(|(case, _)| case == "depth" || case == "activity")
    {
        for step in plan
            .lines()
            .filter(|step| step.contains(" on runhook_inbox"))
        {
            assert!(
                step.contains("Index Only Scan"),
                "{case}: not index-only:\n{plan}"
            );
        }
    }
    for (case, plan) in &plans {
        assert!(
            !plan.contains("Seq Scan"),
            "{case}: a scan of the table:\n{plan}"
        );
    }
}

//! The plans SQLite makes of what a console reads: every page, the depth counts and the
//! activity are served by indexes, never by a scan of the table.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::time::{Duration, SystemTime};

use runhook::inbox::{BrowseQuery, RowFilter, RowState};
use runhook::store::IdempotencyKey;
use rusqlite::{Connection, params_from_iter};

use super::console::DIALECT;
use crate::inbox_console::{self, Param};
use crate::sqlite::{Component, migrate};

/// `sql`'s plan, one step a line.
fn plan(connection: &Connection, sql: &str, params: &[Param]) -> String {
    let mut statement = connection
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let steps: Vec<String> = statement
        .query_map(params_from_iter(params), |row| row.get(3))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    steps.join("\n")
}

/// No step reads the whole table (a `SCAN` of the table itself rather than of an index).
fn assert_no_table_scan(plan: &str, case: &str) {
    for step in plan.lines() {
        let scan = step.trim_start().starts_with("SCAN")
            && !step.contains("CONSTANT ROW")
            && !step.contains("USING INDEX")
            && !step.contains("USING COVERING INDEX");
        assert!(!scan, "{case}: a scan of the table:\n{plan}");
    }
}

fn connection() -> Connection {
    let connection = Connection::open_in_memory().unwrap();
    migrate(&connection, Component::Inbox).unwrap();
    connection
}

#[test]
fn every_page_is_served_by_an_index() {
    let connection = connection();
    let cursor = (
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000),
        IdempotencyKey::new("k"),
    );
    let states = [None].into_iter().chain(RowState::ALL.map(Some));
    for state in states {
        for filter in [
            RowFilter::all(),
            RowFilter::all().with_event("run.failed"),
            RowFilter::all().with_run_id_prefix("run-1"),
            RowFilter::all().with_key(IdempotencyKey::new("k")),
        ] {
            for before in [None, Some(cursor.clone())] {
                let mut query = BrowseQuery::newest(50).matching(filter.clone());
                query.state = state;
                query.before = before;
                let (sql, params) = inbox_console::browse(DIALECT, &query).unwrap().unwrap();
                let plan = plan(&connection, &sql, &params);
                let case = format!("{query:?}");
                assert_no_table_scan(&plan, &case);
                // Newest first in an index's order, except a run prefix's few rows, sorted.
                if filter.run_id_prefix.is_none() {
                    assert!(!plan.contains("TEMP B-TREE"), "{case}: a sort:\n{plan}");
                }
                println!("{case}\n{plan}\n");
            }
        }
    }
}

#[test]
fn the_depth_and_the_activity_are_counted_from_indexes() {
    let connection = connection();
    let depth = plan(
        &connection,
        &inbox_console::depth(DIALECT),
        &[Param::Int(0)],
    );
    assert_no_table_scan(&depth, "depth");
    // Index-only, but for the retrying rows, read through their partial index (SQLite checks
    // its condition on the rows): as many as there are retrying rows.
    for step in depth.lines().filter(|step| step.contains("runhook_inbox")) {
        assert!(
            step.contains("COVERING INDEX") || step.ends_with("USING INDEX runhook_inbox_retrying"),
            "depth: not from an index:\n{depth}"
        );
    }
    println!("depth\n{depth}\n");
    let activity = plan(
        &connection,
        &inbox_console::activity(DIALECT),
        &[Param::Int(0), Param::Int(60_000)],
    );
    assert_no_table_scan(&activity, "activity");
    for step in activity
        .lines()
        .filter(|step| step.contains("runhook_inbox"))
    {
        assert!(
            step.contains("COVERING INDEX"),
            "activity: not index-only:\n{activity}"
        );
    }
    println!("activity\n{activity}\n");
}

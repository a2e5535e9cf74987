//! The plans PostgreSQL makes of a group's statements (a real server as in the inbox's tests), on
//! a table of 20 000 keys never analyzed, then the same vacuumed and analyzed, planned for the
//! group's arrays and as a generic plan: every key of a group, of 3 or of 256, is found through
//! the primary key, never by a scan of the table.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::sql::PINNED;
use crate::PostgresConfig;
use crate::postgres::explain;

/// The settings every connection of a store has (`sql::PINNED`), for the statements run as they
/// are, and how the statement is planned.
fn settings(plan_cache_mode: &str) -> String {
    PINNED
        .iter()
        .chain([&format!("plan_cache_mode={plan_cache_mode}").as_str()])
        .map(|setting| format!("SET LOCAL {setting}; "))
        .collect()
}

#[tokio::test]
async fn a_group_finds_its_keys_through_the_primary_key() {
    let Some(mut client) = explain::connect("the store plan test").await else {
        return;
    };
    let schema = explain::unique_schema();
    let config = PostgresConfig::default().schema(schema.as_str());
    let store = PostgresStore::connect_with(&explain::url(), config)
        .await
        .unwrap();
    let table = format!("{schema}.runhook_idempotency");
    // 20 000 keys: half done, half in flight.
    client
        .batch_execute(&format!(
            "INSERT INTO {table} (key, state, token, until_ms) \
             SELECT 'k' || i, CASE WHEN i % 2 = 0 THEN 'done' ELSE 'in_flight' END, i, i * 1000 \
             FROM generate_series(1, 20000) AS i"
        ))
        .await
        .unwrap();
    let mut plans = Vec::new();
    for analyzed in [false, true] {
        if analyzed {
            client
                .batch_execute(&format!("VACUUM ANALYZE {table}"))
                .await
                .unwrap();
        }
        for size in [3_i64, 256] {
            let keys: Vec<String> = (0..size).map(|i| format!("k{}", i * 70 + 1)).collect();
            let numbers: Vec<i64> = (0..size).collect();
            let params: [&(dyn ToSql + Sync); 3] = [&keys, &numbers, &numbers];
            let literals = [
                format!("'{{{}}}'::text[]", keys.join(",")),
                format!(
                    "'{{{}}}'::bigint[]",
                    numbers
                        .iter()
                        .map(i64::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            ];
            let sql = &store.sql;
            for (what, statement, arity) in [
                ("claim", &sql.claim_many, 3),
                ("read", &sql.read_many, 1),
                ("complete", &sql.complete_many, 3),
            ] {
                // For its arrays, as the store's statements are planned five times, and the
                // generic plan a connection may cache then.
                let custom = settings("force_custom_plan");
                let plan = explain::plan(&mut client, statement, &params[..arity], &custom).await;
                plans.push((format!("{what} of {size}, analyzed: {analyzed}"), plan));
                client
                    .batch_execute(&format!("PREPARE pinned AS {statement}"))
                    .await
                    .unwrap();
                let arguments = [&literals[0], &literals[1], &literals[1]][..arity]
                    .iter()
                    .map(|literal| literal.as_str())
                    .collect::<Vec<_>>()
                    .join(", ");
                let execute = format!("EXECUTE pinned({arguments})");
                let generic = settings("force_generic_plan");
                let plan = explain::plan(&mut client, &execute, &[], &generic).await;
                plans.push((
                    format!("{what} of {size}, analyzed: {analyzed}, generic"),
                    plan,
                ));
                client.batch_execute("DEALLOCATE pinned").await.unwrap();
            }
        }
    }
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    for (case, plan) in &plans {
        println!("{case}\n{plan}\n");
    }
    for (case, plan) in &plans {
        for bad in ["Seq Scan", "Hash Join", "Merge Join"] {
            assert!(!plan.contains(bad), "{case}: {bad}:\n{plan}");
        }
        if !case.starts_with("claim") {
            assert!(
                plan.contains("runhook_idempotency_pkey"),
                "{case}: not through the primary key:\n{plan}"
            );
        }
    }
}

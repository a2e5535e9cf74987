//! The store's unit tests: list queries use the indexes; rows of older versions load.

#![allow(clippy::unwrap_used)]

use super::*;

/// The plan SQLite picks for a list query: it must use an index, never scan the table.
fn plan(connection: &Connection, query: &ListQuery) -> String {
    let (clause, values) = filters(query);
    let sql = format!(
        "EXPLAIN QUERY PLAN SELECT run FROM emulator_runs{clause} ORDER BY seq DESC LIMIT 2"
    );
    let mut statement = connection.prepare(&sql).unwrap();
    let rows = statement
        .query_map(params_from_iter(values.iter()), |row| {
            row.get::<_, String>(3)
        })
        .unwrap();
    rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
}

#[test]
fn lists_use_the_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let connection = open(&dir.path().join("runs.db")).unwrap();
    let newest = plan(&connection, &ListQuery::default());
    assert!(newest.contains("USING INDEX emulator_runs_seq"), "{newest}");
    let by_status = ListQuery {
        status: Some(RunStatus::Failed),
        ..ListQuery::default()
    };
    let by_status = plan(&connection, &by_status);
    assert!(
        by_status.contains("USING INDEX emulator_runs_status_seq"),
        "{by_status}"
    );
}

/// A database written before the run object was the core's (flat rows, no list columns)
/// still loads, and shows what it showed then.
#[test]
fn rows_of_older_versions_load_and_show_the_same_json() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("runs.db");
    let completed = serde_json::json!({
        "run_id": "4562765d-156e-4c47-b217-55b3ec4a9720", "seq": 0, "status": "COMPLETED",
        "goal": "Find the title", "url": "https://example.com", "origin": "async",
        "created_at": "2026-03-25T10:30:00.123Z", "started_at": "2026-03-25T10:30:00.2Z",
        "finished_at": "2026-03-25T10:30:03Z", "cancelled_at": null,
        "result": {"title": "Example Domain"}, "error": null,
        "streaming_url": "http://127.0.0.1:9/_emulator/stream/x",
        "proxy_enabled": true, "proxy_country_code": "US",
        "output_schema": {"type": "object"}, "webhook_url": "http://127.0.0.1:9/hook",
        "steps": [{"id": "s1", "timestamp": "2026-03-25T10:30:01Z", "status": "COMPLETED",
                   "action": "Navigate to https://example.com", "duration_ms": 1234}],
        "faults": {"drop": 1, "timeout": 0, "duplicate": false}
    });
    let mut running = completed.clone();
    running["run_id"] = "run-2".into();
    running["seq"] = 1.into();
    running["status"] = "RUNNING".into();
    running["finished_at"] = serde_json::Value::Null;
    running["result"] = serde_json::Value::Null;
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .execute_batch(
                "CREATE TABLE emulator_runs (run_id TEXT PRIMARY KEY, seq INTEGER NOT NULL,
                 run TEXT NOT NULL)",
            )
            .unwrap();
        for (id, seq, run) in [
            ("4562765d-156e-4c47-b217-55b3ec4a9720", 0, &completed),
            ("run-2", 1, &running),
        ] {
            connection
                .execute(
                    "INSERT INTO emulator_runs (run_id, seq, run) VALUES (?1, ?2, ?3)",
                    rusqlite::params![id, seq, run.to_string()],
                )
                .unwrap();
        }
    }
    let (mut db, runs) = RunDb::open(&path, 10).unwrap();
    db.close();
    assert_eq!(runs.len(), 2);
    let first = &runs[0];
    assert_eq!(
        crate::model::run_object(first, false),
        serde_json::json!({
            "run_id": "4562765d-156e-4c47-b217-55b3ec4a9720", "status": "COMPLETED",
            "goal": "Find the title", "created_at": "2026-03-25T10:30:00.123Z",
            "started_at": "2026-03-25T10:30:00.2Z", "finished_at": "2026-03-25T10:30:03Z",
            "num_of_steps": 1, "result": {"title": "Example Domain"}, "error": null,
            "streaming_url": "http://127.0.0.1:9/_emulator/stream/x",
            "browser_config": {"proxy_enabled": true, "proxy_country_code": "US"},
            "schema_validation": {"valid": true, "re_prompt_attempts": 0, "errors": []},
            "output_schema": {"type": "object"},
            "steps": [{"id": "s1", "timestamp": "2026-03-25T10:30:01Z",
                       "status": "COMPLETED", "action": "Navigate to https://example.com",
                       "screenshot": null, "duration": "1.2s"}],
            "video_url": null,
        })
    );
    assert_eq!(first.origin, crate::model::Origin::Async);
    assert_eq!(
        first.webhook_url.as_deref(),
        Some("http://127.0.0.1:9/hook")
    );
    assert_eq!(first.faults.drop, 1);
    // The run in progress is marked FAILED, as any run found in progress at start.
    let second = crate::model::run_object(&runs[1], false);
    assert_eq!(second["status"], "FAILED");
    assert_eq!(second["error"]["category"], "SYSTEM_FAILURE");
    assert_eq!(second["error"]["message"], RESTARTED);
    // Written back in today's form, it loads again.
    let (mut db, again) = RunDb::open(&path, 10).unwrap();
    db.close();
    assert_eq!(
        crate::model::run_object(&again[1], false),
        crate::model::run_object(&runs[1], false)
    );
}

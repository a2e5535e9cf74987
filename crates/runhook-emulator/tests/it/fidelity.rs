//! Fidelity to TinyFish's published API description and to the official SDKs: results are
//! objects, `output_schema` kinds, nested request fields, list filters, `screenshots`, cancel
//! answers within the status enum, and bounded answers to oversized batches.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{self, finished, get, post, start};

fn body(extra: Value) -> Value {
    let mut body = json!({"url": "https://example.com", "goal": "Find the answer"});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    body
}

/// The paths named in an INVALID_INPUT answer's `details`.
fn paths(answer: &Value) -> Vec<Value> {
    answer["error"]["details"]
        .as_array()
        .map(|details| details.iter().map(|d| d["path"].clone()).collect())
        .unwrap_or_default()
}

/// Asserts a 400 INVALID_INPUT whose `details` name `path`.
fn assert_refused(status: u16, answer: &Value, path: &Value, case: &str) {
    assert_eq!(status, 400, "{case}: {answer}");
    assert_eq!(answer["error"]["code"], "INVALID_INPUT", "{case}: {answer}");
    assert!(
        paths(answer).contains(path),
        "{case}: no detail at {path}: {answer}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_output_schema_gives_an_object_result() {
    let emulator = start().await;
    let cases = [
        (json!({}), None),
        (json!({"x": null}), None),
        (json!({"type": "string"}), Some("value")),
        (
            json!({"type": "array", "items": {"type": "string"}}),
            Some("value"),
        ),
        (json!({"items": {"type": "number"}}), Some("value")),
        (json!({"type": ["string", "null"]}), Some("value")),
        (json!({"enum": ["a", "b"]}), Some("value")),
        (
            json!({"type": "object", "required": ["answer"]}),
            Some("answer"),
        ),
        (json!(true), None),
        (json!(false), None),
    ];
    for (schema, key) in cases {
        let request = body(json!({"output_schema": schema}));
        let (status, answer) = post(&emulator, "/v1/automation/run", request).await;
        assert_eq!(status, 200, "{schema}: {answer}");
        assert_eq!(answer["status"], "COMPLETED", "{schema}: {answer}");
        let result = &answer["result"];
        assert!(result.is_object(), "{schema} gave {result}");
        if let Some(key) = key {
            assert!(result.get(key).is_some(), "{schema} gave {result}");
        }
        // The run object shows an object schema too (the SDKs read it as one).
        let id = answer["run_id"].as_str().unwrap();
        let (_, run) = get(&emulator, &format!("/v1/runs/{id}")).await;
        assert!(run["output_schema"].is_object(), "{schema}: {run}");
        assert!(run["result"].is_object(), "{schema}: {run}");
    }
    let (_, page) = get(&emulator, "/v1/runs?limit=100").await;
    for run in page["data"].as_array().unwrap() {
        assert!(
            run["result"].is_object() || run["result"].is_null(),
            "{run}"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn boolean_output_schemas_are_accepted_and_null_is_refused() {
    let emulator = start().await;
    for schema in [json!(true), json!(false)] {
        let (status, answer) = post(
            &emulator,
            "/v1/automation/run-async",
            body(json!({"output_schema": schema})),
        )
        .await;
        assert_eq!(status, 200, "{schema}: {answer}");
    }
    let (status, answer) = post(
        &emulator,
        "/v1/automation/run-async",
        body(json!({"output_schema": null})),
    )
    .await;
    assert_refused(status, &answer, &json!(["output_schema"]), "null schema");
    let (status, answer) = post(
        &emulator,
        "/v1/automation/run-batch",
        json!({"runs": [body(json!({"output_schema": null}))]}),
    )
    .await;
    assert_refused(
        status,
        &answer,
        &json!(["runs", 0, "output_schema"]),
        "null item schema",
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_output_schema_is_checked_and_applied_to_items_without_one() {
    let emulator = start().await;
    let batch_schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}});
    let own_schema = json!({"type": "object", "properties": {"own": {"type": "integer"}}});
    let (status, answer) = post(
        &emulator,
        "/v1/automation/run-batch",
        json!({
            "output_schema": batch_schema,
            "runs": [body(json!({})), body(json!({"output_schema": own_schema}))],
        }),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let ids: Vec<&str> = answer["run_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let first = finished(&emulator, ids[0]).await;
    assert_eq!(first["output_schema"], batch_schema, "{first}");
    assert!(first["result"]["answer"].is_string(), "{first}");
    let second = finished(&emulator, ids[1]).await;
    assert_eq!(second["output_schema"], own_schema, "{second}");
    assert!(second["result"]["own"].is_i64(), "{second}");
    assert!(second["result"].get("answer").is_none(), "{second}");

    for (schema, path) in [
        (json!({"type": "tuple"}), json!(["output_schema", "type"])),
        (json!(null), json!(["output_schema"])),
        (json!("object"), json!(["output_schema"])),
    ] {
        let (status, answer) = post(
            &emulator,
            "/v1/automation/run-batch",
            json!({"output_schema": schema, "runs": [body(json!({}))]}),
        )
        .await;
        assert_refused(status, &answer, &path, &format!("batch schema {schema}"));
        assert_eq!(answer["run_ids"], Value::Null);
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn nested_request_fields_are_checked_as_documented() {
    let emulator = start().await;
    let refused = [
        // `null` is not a value of any optional field (the SDKs leave unset fields out).
        (json!({"webhook_url": null}), json!(["webhook_url"])),
        (json!({"capture_config": null}), json!(["capture_config"])),
        (
            json!({"capture_config": {"screenshots": null}}),
            json!(["capture_config", "screenshots"]),
        ),
        (
            json!({"agent_config": {"mode": null}}),
            json!(["agent_config", "mode"]),
        ),
        (json!({"browser_profile": null}), json!(["browser_profile"])),
        (
            json!({"proxy_config": {"enabled": true, "country_code": "IN"}}),
            json!(["proxy_config", "country_code"]),
        ),
        (
            json!({"proxy_config": {"country_code": "US"}}),
            json!(["proxy_config", "enabled"]),
        ),
        (
            json!({"proxy_config": {"enabled": true, "type": "socks"}}),
            json!(["proxy_config", "type"]),
        ),
        (
            json!({"proxy_config": {"enabled": true, "type": "custom", "url": "not a uri"}}),
            json!(["proxy_config", "url"]),
        ),
        (
            json!({"proxy_config": {"enabled": true, "type": "custom"}}),
            json!(["proxy_config", "url"]),
        ),
        (
            json!({"agent_config": {"mode": "fast"}}),
            json!(["agent_config", "mode"]),
        ),
        (
            json!({"agent_config": {"max_steps": 0}}),
            json!(["agent_config", "max_steps"]),
        ),
        (
            json!({"agent_config": {"max_steps": 501}}),
            json!(["agent_config", "max_steps"]),
        ),
        (
            json!({"agent_config": {"max_steps": 2.5}}),
            json!(["agent_config", "max_steps"]),
        ),
        (
            json!({"agent_config": {"max_steps": "10"}}),
            json!(["agent_config", "max_steps"]),
        ),
        (
            json!({"capture_config": {"screenshots": "yes"}}),
            json!(["capture_config", "screenshots"]),
        ),
        (json!({"use_vault": "true"}), json!(["use_vault"])),
        (
            json!({"use_vault": true, "credential_item_ids": []}),
            json!(["credential_item_ids"]),
        ),
        (
            json!({"use_vault": true, "credential_item_ids": ["cred:a", ""]}),
            json!(["credential_item_ids", 1]),
        ),
        (json!({"api_integration": 5}), json!(["api_integration"])),
        (json!({"output_schema": null}), json!(["output_schema"])),
    ];
    for (extra, path) in refused {
        let (status, answer) =
            post(&emulator, "/v1/automation/run-async", body(extra.clone())).await;
        assert_refused(status, &answer, &path, &extra.to_string());
    }

    // What the official SDKs send, and what the description documents, stays accepted.
    let accepted = [
        json!({"agent_config": {"mode": "strict", "max_steps": 500, "max_duration_seconds": 300,
            "cursor_style": "fish"}}),
        json!({"agent_config": {"mode": "default", "max_steps": 1}}),
        json!({"capture_config": {"html": true, "screenshots": false, "recording": true}}),
        json!({"use_profile": true, "profile_id": "prof_abc123"}),
        json!({"api_integration": "dify"}),
        json!({"proxy_config": {"enabled": true, "type": "tetra", "country_code": "JP"}}),
        json!({"proxy_config": {"enabled": false}}),
        json!({"proxy_config": {"enabled": true, "type": "custom",
            "url": "http://proxy.example:8080", "username": "u", "password": "p"}}),
        json!({"use_vault": true, "credential_item_ids": ["cred:a1b2c3d4:Work:item-xyz"]}),
        json!({"is_stress_test": true, "feature_flags": {"enable_agent_memory": true}}),
    ];
    for extra in accepted {
        let (status, answer) =
            post(&emulator, "/v1/automation/run-async", body(extra.clone())).await;
        assert_eq!(status, 200, "{extra}: {answer}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_filters_refuse_long_goals_and_dates_without_a_time() {
    let emulator = start().await;
    let long = "g".repeat(501);
    let (status, answer) = get(&emulator, &format!("/v1/runs?goal={long}")).await;
    assert_refused(status, &answer, &json!(["goal"]), "501-character goal");
    let (status, answer) = get(&emulator, &format!("/v1/runs?goal={}", &long[..500])).await;
    assert_eq!(status, 200, "{answer}");
    for name in ["created_after", "created_before"] {
        let (status, answer) = get(&emulator, &format!("/v1/runs?{name}=2026-01-01")).await;
        assert_refused(status, &answer, &json!([name]), name);
        let (status, answer) =
            get(&emulator, &format!("/v1/runs?{name}=2026-01-01T00:00:00Z")).await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_screenshots_value_is_refused() {
    let emulator = start().await;
    let id = support::queue(&emulator, "Extract the page title", json!({})).await;
    let (status, answer) = get(&emulator, &format!("/v1/runs/{id}?screenshots=")).await;
    assert_refused(status, &answer, &json!(["screenshots"]), "screenshots=");
    for value in ["none", "base64"] {
        let (status, answer) = get(&emulator, &format!("/v1/runs/{id}?screenshots={value}")).await;
        assert_eq!(status, 200, "{value}: {answer}");
    }
    emulator.shutdown().await;
}

/// Starts a `/run` call that lasts a while: its task and the run's id once it shows up.
async fn start_sync_run(
    emulator: &runhook_emulator::Emulator,
    goal: &str,
) -> (tokio::task::JoinHandle<Value>, String) {
    let base = emulator.base_url();
    let request = body(json!({"goal": goal}));
    let blocking = tokio::spawn(async move {
        support::client()
            .post(format!("{base}/v1/automation/run"))
            .header("x-api-key", support::KEY)
            .json(&request)
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    let deadline = std::time::Instant::now() + support::PATIENCE;
    let id = loop {
        let (_, page) = get(emulator, "/v1/runs?goal=sync%20work").await;
        if let Some(id) = page["data"][0]["run_id"].as_str() {
            break id.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "no sync run: {page}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    (blocking, id)
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_cancel_answers_stay_within_the_documented_statuses() {
    let emulator = start().await;
    let (blocking, sync_id) = start_sync_run(&emulator, "Sync work [duration:2m] [steps:2]").await;
    let async_id = support::queue(&emulator, "Async work [duration:10m]", json!({})).await;
    let (status, answer) = post(
        &emulator,
        "/v1/runs/batch/cancel",
        json!({"run_ids": [async_id, sync_id]}),
    )
    .await;
    if status == 200 {
        for result in answer["results"].as_array().unwrap() {
            let status = result["status"].as_str().unwrap();
            assert!(
                ["CANCELLED", "COMPLETED", "FAILED"].contains(&status),
                "{answer}"
            );
        }
    }
    // A running run of /run cannot be cancelled: the batch is refused as a whole, naming it.
    assert_refused(status, &answer, &json!(["run_ids", 1]), "batch cancel");
    let (_, run) = get(&emulator, &format!("/v1/runs/{async_id}")).await;
    assert_ne!(run["status"], "CANCELLED", "{run}");
    let result = blocking.await.unwrap();
    assert_eq!(result["status"], "COMPLETED", "{result}");
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cancel_directive_is_refused_on_the_blocking_endpoint() {
    let emulator = start().await;
    let (status, answer) = post(
        &emulator,
        "/v1/automation/run",
        body(json!({"goal": "Stop early [cancel]"})),
    )
    .await;
    assert_refused(status, &answer, &json!(["goal"]), "[cancel] on /run");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/automation/run"),
        "{answer}"
    );
    // The same rule from a scenario file.
    let scenario = runhook_emulator::Scenario::from_json_str(
        r#"[{"goal_pattern": "halt", "outcome": "cancelled"}]"#,
    )
    .unwrap();
    let scripted = support::start_with(support::config().scenario(scenario)).await;
    let (status, answer) = post(
        &scripted,
        "/v1/automation/run",
        body(json!({"goal": "halt now"})),
    )
    .await;
    assert_refused(status, &answer, &json!(["goal"]), "cancelled rule on /run");
    // The other endpoints still take it.
    let id = support::queue(&scripted, "halt now", json!({})).await;
    assert_eq!(finished(&scripted, &id).await["status"], "CANCELLED");
    emulator.shutdown().await;
    scripted.shutdown().await;
}

/// The body of a `POST`, as bytes (to measure it).
async fn post_raw(
    emulator: &runhook_emulator::Emulator,
    path: &str,
    body: &Value,
) -> (u16, Vec<u8>) {
    let response = support::client()
        .post(format!("{}{path}", emulator.base_url()))
        .header("x-api-key", support::KEY)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.bytes().await.unwrap().to_vec())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_batch_is_refused_by_its_length_with_a_small_answer() {
    let emulator = start().await;
    let huge = json!({"runs": vec![json!({}); 100_000]});
    let (status, bytes) = post_raw(&emulator, "/v1/automation/run-batch", &huge).await;
    assert_eq!(status, 400);
    assert!(bytes.len() < 64 * 1024, "answer of {} bytes", bytes.len());
    let answer: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(answer["run_ids"], Value::Null);
    let details = answer["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 1, "items were checked: {}", details.len());
    assert_eq!(details[0]["path"], json!(["runs"]));
    assert_eq!(details[0]["code"], "too_big");

    let ids = json!({"run_ids": vec![json!(1); 100_000]});
    for path in ["/v1/runs/batch", "/v1/runs/batch/cancel"] {
        let (status, bytes) = post_raw(&emulator, path, &ids).await;
        assert_eq!(status, 400, "{path}");
        assert!(bytes.len() < 64 * 1024, "{path}: {} bytes", bytes.len());
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn details_are_capped_with_a_count_of_the_rest() {
    let emulator = start().await;
    // 100 items with two problems each: 200 issues.
    let batch = json!({"runs": vec![json!({}); 100]});
    let (status, answer) = post(&emulator, "/v1/automation/run-batch", batch).await;
    assert_eq!(status, 400, "{}", answer["error"]["message"]);
    let details = answer["error"]["details"].as_array().unwrap();
    assert_eq!(details.len(), 101, "{}", answer["error"]["message"]);
    assert_eq!(details[99]["path"], json!(["runs", 49, "goal"]));
    assert_eq!(details[100]["path"], json!([]));
    assert_eq!(details[100]["omitted"], 100);
    // A schema with very many bad properties: the answer stays small.
    let properties: serde_json::Map<String, Value> =
        (0..50_000).map(|i| (format!("p{i}"), json!(1))).collect();
    let schema = json!({"type": "object", "properties": properties});
    let (status, bytes) = post_raw(
        &emulator,
        "/v1/automation/run-async",
        &body(json!({"output_schema": schema})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(bytes.len() < 64 * 1024, "answer of {} bytes", bytes.len());
    emulator.shutdown().await;
}

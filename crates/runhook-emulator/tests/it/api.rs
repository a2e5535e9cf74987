//! Every endpoint's shape and every error code, over real HTTP on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use serde_json::{Value, json};
use support::{KEY, client, finished, get, post, queue, start};

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread")]
async fn run_blocks_until_done_and_answers_the_documented_shape() {
    let emulator = start().await;
    let (status, run) = post(
        &emulator,
        "/v1/automation/run",
        json!({"url": "https://example.com", "goal": "Extract the page title", "browser_profile": "lite"}),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    assert_eq!(
        keys(&run),
        [
            "error",
            "finished_at",
            "num_of_steps",
            "result",
            "run_id",
            "schema_validation",
            "started_at",
            "status"
        ]
    );
    assert_eq!(run["status"], "COMPLETED");
    assert_eq!(run["result"], json!({"title": "Example Domain"}));
    assert_eq!(run["num_of_steps"], 3);
    assert_eq!(run["error"], Value::Null);
    assert!(run["started_at"].as_str().unwrap().ends_with('Z'));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn run_async_answers_at_once_and_the_run_object_has_every_field() {
    let emulator = start().await;
    let (status, answer) = post(
        &emulator,
        "/v1/automation/run-async",
        json!({"url": "https://example.com", "goal": "Extract the product name and price [duration:5s]",
               "proxy_config": {"enabled": true, "country_code": "US"}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(keys(&answer), ["error", "run_id"]);
    assert_eq!(answer["error"], Value::Null);
    let id = answer["run_id"].as_str().unwrap();
    let slow = queue(&emulator, "Slow [duration:10m]", json!({})).await;
    let (_, pending) = get(&emulator, &format!("/v1/runs/{slow}")).await;
    assert!(
        matches!(pending["status"].as_str(), Some("PENDING" | "RUNNING")),
        "{pending}"
    );
    assert_eq!(pending["num_of_steps"], Value::Null);
    assert_eq!(pending["result"], Value::Null);
    assert_eq!(pending["finished_at"], Value::Null);

    let run = finished(&emulator, id).await;
    for key in [
        "run_id",
        "status",
        "goal",
        "created_at",
        "started_at",
        "finished_at",
        "num_of_steps",
        "result",
        "error",
        "streaming_url",
        "browser_config",
        "steps",
        "schema_validation",
    ] {
        assert!(run.get(key).is_some(), "{key} missing: {run}");
    }
    assert_eq!(run["status"], "COMPLETED");
    assert_eq!(run["result"]["product_name"], "Example Product");
    assert_eq!(
        run["browser_config"],
        json!({"proxy_enabled": true, "proxy_country_code": "US"})
    );
    assert_eq!(
        run["streaming_url"],
        format!("{}/_emulator/stream/{id}", emulator.base_url())
    );
    let steps = run["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0]["action"], "Navigate to https://example.com");
    assert_eq!(steps[0]["screenshot"], Value::Null);
    assert_eq!(steps[0]["status"], "COMPLETED");
    assert!(steps[0]["duration"].as_str().unwrap().ends_with('s'));
    assert_eq!(
        keys(&steps[0]),
        [
            "action",
            "duration",
            "id",
            "screenshot",
            "status",
            "timestamp"
        ]
    );

    let (_, with_shots) = get(&emulator, &format!("/v1/runs/{id}?screenshots=base64")).await;
    let shot = with_shots["steps"][0]["screenshot"].as_str().unwrap();
    assert!(shot.starts_with("data:image/jpeg;base64,/9j/"), "{shot}");
    let (_, none) = get(&emulator, &format!("/v1/runs/{id}?screenshots=none")).await;
    assert_eq!(none["steps"][0]["screenshot"], Value::Null);
    let (status, bad) = get(&emulator, &format!("/v1/runs/{id}?screenshots=png")).await;
    assert_eq!(
        (status, bad["error"]["code"].as_str()),
        (400, Some("INVALID_INPUT"))
    );

    let page = client()
        .get(run["streaming_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains(id));
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_are_required_and_checked() {
    let emulator = start().await;
    let url = format!("{}/v1/runs", emulator.base_url());
    let missing = client().get(&url).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MISSING_API_KEY");
    assert!(body["error"]["message"].is_string());

    let wrong = client()
        .get(&url)
        .header("x-api-key", "nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let body: Value = wrong.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_API_KEY");

    let empty = client()
        .get(&url)
        .header("x-api-key", "")
        .send()
        .await
        .unwrap();
    let body: Value = empty.json().await.unwrap();
    assert_eq!(body["error"]["code"], "MISSING_API_KEY");

    // Several keys may be accepted at once.
    let emulator2 =
        support::start_with(runhook_emulator::EmulatorConfig::new(["one", "two"]).speed(100.0))
            .await;
    let ok = client()
        .get(format!("{}/v1/runs", emulator2.base_url()))
        .header("x-api-key", "two")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    emulator.shutdown().await;
    emulator2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_get_invalid_input_with_the_fields_named() {
    let emulator = start().await;
    for path in [
        "/v1/automation/run",
        "/v1/automation/run-async",
        "/v1/automation/run-sse",
    ] {
        let (status, body) = post(&emulator, path, json!({"goal": 5})).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_INPUT");
        let details = body["error"]["details"].as_array().unwrap();
        let paths: Vec<&Value> = details.iter().map(|d| &d["path"]).collect();
        assert!(paths.contains(&&json!(["url"])), "{body}");
        assert!(paths.contains(&&json!(["goal"])), "{body}");
        assert!(
            details
                .iter()
                .all(|d| d["message"].is_string() && d["code"].is_string())
        );
    }
    let cases = [
        json!({"url": "not a url", "goal": "g"}),
        json!({"url": "https://example.com", "goal": ""}),
        json!({"url": "https://example.com", "goal": "g", "webhook_url": "http://hooks.example.com/x"}),
        json!({"url": "https://example.com", "goal": "g", "webhook_url": 7}),
        json!({"url": "https://example.com", "goal": "g", "proxy_config": {"enabled": "yes"}}),
        json!({"url": "https://example.com", "goal": "g", "output_schema": "object"}),
        json!({"url": "https://example.com", "goal": "g [steps:lots]"}),
        json!([1, 2]),
    ];
    for body in cases {
        let (status, answer) = post(&emulator, "/v1/automation/run-async", body.clone()).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"]["code"], "INVALID_INPUT", "{body}");
        assert!(!answer["error"]["details"].as_array().unwrap().is_empty());
    }
    // Not JSON at all.
    let response = client()
        .post(format!("{}/v1/automation/run-async", emulator.base_url()))
        .header("x-api-key", KEY)
        .header("content-type", "application/json")
        .body("{\"url\":")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "INVALID_INPUT");
    // Nothing was created by refused requests.
    let (_, list) = get(&emulator, "/v1/runs").await;
    assert_eq!(list["pagination"]["total"], 0);
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_runs_and_routes_are_not_found() {
    let emulator = start().await;
    let (status, body) = get(&emulator, "/v1/runs/no-such-run").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, body) = post(&emulator, "/v1/runs/no-such-run/cancel", json!({})).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let (status, body) = get(&emulator, "/v1/nothing-here").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (404, Some("NOT_FOUND"))
    );
    let response = client()
        .delete(format!("{}/v1/runs", emulator.base_url()))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["code"].is_string());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn run_batch_is_all_or_nothing() {
    let emulator = start().await;
    let good = json!({"url": "https://example.com", "goal": "Extract the page title"});
    let (status, answer) = post(
        &emulator,
        "/v1/automation/run-batch",
        json!({"runs": [good, {"url": "https://example.com"}, good]}),
    )
    .await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(answer["run_ids"], Value::Null);
    assert_eq!(answer["error"]["code"], "INVALID_INPUT");
    assert_eq!(
        answer["error"]["details"][0]["path"],
        json!(["runs", 1, "goal"])
    );
    let (_, list) = get(&emulator, "/v1/runs").await;
    assert_eq!(list["pagination"]["total"], 0, "nothing was created");

    for runs in [json!([]), json!(vec![good.clone(); 101]), json!("x")] {
        let (status, answer) =
            post(&emulator, "/v1/automation/run-batch", json!({"runs": runs})).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"]["code"], "INVALID_INPUT");
    }

    let (status, answer) = post(
        &emulator,
        "/v1/automation/run-batch",
        json!({"runs": [good, good, good]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["error"], Value::Null);
    let ids: Vec<String> = answer["run_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    for id in &ids {
        finished(&emulator, id).await;
    }
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn batch_get_returns_runs_and_not_found() {
    let emulator = start().await;
    let a = queue(&emulator, "Extract the page title", json!({})).await;
    let b = queue(&emulator, "Extract the page title", json!({})).await;
    let (status, answer) = post(
        &emulator,
        "/v1/runs/batch",
        json!({"run_ids": [a, "missing-1", b]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let data = answer["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["run_id"], a.as_str());
    assert_eq!(answer["not_found"], json!(["missing-1"]));
    let (_, all_found) = post(&emulator, "/v1/runs/batch", json!({"run_ids": [a]})).await;
    assert_eq!(all_found["not_found"], Value::Null);
    for body in [json!({"run_ids": []}), json!({"run_ids": [1]}), json!({})] {
        let (status, answer) = post(&emulator, "/v1/runs/batch", body).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str()),
            (400, Some("INVALID_INPUT"))
        );
    }
    emulator.shutdown().await;
}

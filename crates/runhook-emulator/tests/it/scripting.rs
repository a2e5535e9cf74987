//! Scripted outcomes: output_schema conformance, goal directives, scenario files, speed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::time::Instant;

use runhook_emulator::Scenario;
use serde_json::{Value, json};
use support::{config, finished, post, queue, start, start_with};

#[tokio::test(flavor = "multi_thread")]
async fn results_conform_to_the_output_schema() {
    let emulator = start().await;
    let schema = json!({
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "price": {"type": "number"},
            "in_stock": {"type": "boolean"},
            "reviews": {"type": "array", "items": {"type": "object", "properties": {
                "rating": {"type": "integer", "minimum": 1, "maximum": 5},
                "text": {"type": "string"}
            }, "required": ["rating"]}},
            "currency": {"type": "string", "enum": ["USD", "EUR"]}
        },
        "required": ["title", "price"]
    });
    let (status, run) = post(
        &emulator,
        "/v1/automation/run",
        json!({"url": "https://example.com", "goal": "Extract the page title", "output_schema": schema}),
    )
    .await;
    assert_eq!(status, 200, "{run}");
    let result = &run["result"];
    assert_eq!(result["title"], "Example Domain");
    assert!(result["price"].is_number());
    assert!(result["in_stock"].is_boolean());
    let review = &result["reviews"][0];
    assert!((1..=5).contains(&review["rating"].as_i64().unwrap()));
    assert!(review["text"].is_string());
    assert_eq!(result["currency"], "USD");
    assert_eq!(
        run["schema_validation"],
        json!({"valid": true, "re_prompt_attempts": 0, "errors": []})
    );
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn directives_script_failures_results_steps_and_outcomes() {
    let emulator = start().await;
    let failed = queue(
        &emulator,
        "Buy it [fail:SYSTEM_FAILURE] [code:service_busy] [error:Browser crashed] [steps:2]",
        json!({}),
    )
    .await;
    let run = finished(&emulator, &failed).await;
    assert_eq!(run["status"], "FAILED");
    assert_eq!(run["result"], Value::Null);
    assert_eq!(
        run["error"],
        json!({
            "category": "SYSTEM_FAILURE",
            "message": "Browser crashed",
            "code": "service_busy",
            "retry_after": null
        }),
        "retry_after is always there, null when there is none (as TinyFish's run object shows)"
    );
    assert_eq!(run["num_of_steps"], 2);
    assert_eq!(run["steps"][1]["status"], "FAILED");
    assert_eq!(run["schema_validation"], Value::Null);

    let plain_fail = finished(&emulator, &queue(&emulator, "x [fail]", json!({})).await).await;
    assert_eq!(plain_fail["error"]["category"], "AGENT_FAILURE");
    assert!(plain_fail["error"]["message"].is_string());

    let custom = queue(
        &emulator,
        r#"Get [result:{"answer": 42, "list": [1, 2]}] [steps:0]"#,
        json!({}),
    )
    .await;
    let run = finished(&emulator, &custom).await;
    assert_eq!(run["result"], json!({"answer": 42, "list": [1, 2]}));
    assert_eq!(run["num_of_steps"], 0);

    let cancelled = finished(&emulator, &queue(&emulator, "x [cancel]", json!({})).await).await;
    assert_eq!(cancelled["status"], "CANCELLED");

    let generic = finished(
        &emulator,
        &queue(&emulator, "Summarise the news", json!({})).await,
    )
    .await;
    assert!(generic["result"].is_object());
    emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scenario_files_choose_the_outcome_by_goal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(
        &path,
        r#"
        [[rules]]
        goal_pattern = "/^checkout/i"
        outcome = "failed"
        steps = 1
        error = { category = "AGENT_FAILURE", message = "Payment form rejected", code = "form_rejected" }

        [[rules]]
        goal_pattern = "weather"
        duration_ms = 200
        result = { forecast = "sunny", high_c = 21 }
        "#,
    )
    .unwrap();
    let scenario = Scenario::from_path(&path).unwrap();
    let emulator = start_with(config().scenario(scenario)).await;
    let run = finished(
        &emulator,
        &queue(&emulator, "Checkout the basket", json!({})).await,
    )
    .await;
    assert_eq!(run["status"], "FAILED");
    assert_eq!(run["error"]["code"], "form_rejected");
    let run = finished(
        &emulator,
        &queue(&emulator, "What's the Weather?", json!({})).await,
    )
    .await;
    assert_eq!(run["result"], json!({"forecast": "sunny", "high_c": 21}));
    // Directives still win over the rule.
    let run = finished(
        &emulator,
        &queue(&emulator, "weather [fail]", json!({})).await,
    )
    .await;
    assert_eq!(run["status"], "FAILED");
    emulator.shutdown().await;

    let json_path = dir.path().join("scenario.json");
    std::fs::write(&json_path, r#"{"rules": [{"outcome": "cancelled"}]}"#).unwrap();
    assert_eq!(Scenario::from_path(&json_path).unwrap().len(), 1);
    std::fs::write(&json_path, r#"{"rules": [{"outcome": "exploded"}]}"#).unwrap();
    assert!(Scenario::from_path(&json_path).is_err());
    assert!(Scenario::from_path(dir.path().join("missing.toml")).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn speed_scales_durations() {
    // 20 s scripted at 400x: about 50 ms.
    let emulator = start_with(config().speed(400.0)).await;
    let started = Instant::now();
    let (status, run) = post(
        &emulator,
        "/v1/automation/run",
        json!({"url": "https://example.com", "goal": "x [duration:20s]"}),
    )
    .await;
    assert_eq!((status, run["status"].as_str()), (200, Some("COMPLETED")));
    let elapsed = started.elapsed();
    assert!(elapsed.as_millis() >= 40, "{elapsed:?}");
    assert!(elapsed.as_secs() < 5, "{elapsed:?}");
    emulator.shutdown().await;
}

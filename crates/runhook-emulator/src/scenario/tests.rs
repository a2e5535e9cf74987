use serde_json::json;

use super::*;

fn plan(scenario: &Scenario, goal: &str) -> Plan {
    scenario
        .plan(goal, "https://example.com", None, &[json!("goal")])
        .unwrap()
}

#[test]
fn defaults_give_the_documented_example_results() {
    let scenario = Scenario::default();
    let title = plan(&scenario, "Extract the page title");
    assert_eq!(title.outcome, Outcome::Completed);
    assert_eq!(title.result, json!({"title": "Example Domain"}));
    assert_eq!((title.steps, title.duration), (3, Duration::from_secs(3)));
    let product = plan(&scenario, "Extract the product name and price");
    assert_eq!(product.result["product_name"], "Example Product");
    assert!(product.result["price"].is_number());
    assert!(plan(&scenario, "Do something else").result.is_object());
}

#[test]
fn directives_script_the_run() {
    let scenario = Scenario::default();
    let p = plan(
        &scenario,
        "Get it [fail:SYSTEM_FAILURE] [code:service_busy] [duration:250ms] [steps:5] [webhook:drop=2,duplicate]",
    );
    assert_eq!(p.outcome, Outcome::Failed);
    assert_eq!(
        p.error.category.value(),
        Some(&runhook::ErrorCategory::SystemFailure)
    );
    assert_eq!(
        p.error.code.value().map(String::as_str),
        Some("service_busy")
    );
    assert_eq!(p.duration, Duration::from_millis(250));
    assert_eq!(p.steps, 5);
    assert_eq!(
        p.faults,
        FaultPlan {
            drop: 2,
            timeout: 0,
            duplicate: true
        }
    );
    let p = plan(
        &scenario,
        r#"Get [result:{"a": [1, {"b": "]"}]}] done [cancel]"#,
    );
    assert_eq!(p.result, json!({"a": [1, {"b": "]"}]}));
    assert_eq!(p.outcome, Outcome::Cancelled);
    // Brackets that are not directives are plain text.
    assert_eq!(
        plan(&scenario, "Find [the] price [x:1]").outcome,
        Outcome::Completed
    );
}

#[test]
fn bad_directives_are_issues_on_the_goal() {
    let scenario = Scenario::default();
    for goal in [
        "[steps:many]",
        "[duration:forever]",
        "[fail:OOPS]",
        "[result:not json]",
        "[webhook:explode]",
        "[webhook:drop=99]",
        "[steps:3",
    ] {
        let issue = scenario
            .plan(goal, "https://example.com", None, &[json!("goal")])
            .unwrap_err();
        assert_eq!(issue.path, vec![json!("goal")], "{goal}");
    }
}

#[test]
fn scenario_files_match_in_order_and_directives_win() {
    let scenario = Scenario::from_toml_str(
        r#"
        [[rules]]
        goal_pattern = "/^checkout/i"
        outcome = "failed"
        duration_ms = 100
        error = { category = "AGENT_FAILURE", message = "Payment form rejected", code = "form_rejected" }
        webhook = { drop = 1 }

        [[rules]]
        goal_pattern = "price"
        result = { price = 10 }
        steps = 2
        "#,
    )
    .unwrap();
    assert_eq!(scenario.len(), 2);
    let p = plan(&scenario, "Checkout the cart");
    assert_eq!(p.outcome, Outcome::Failed);
    assert_eq!(p.error.message, "Payment form rejected");
    assert_eq!(p.faults.drop, 1);
    let p = plan(&scenario, "Find the PRICE [steps:7]");
    assert_eq!(p.result, json!({"price": 10}));
    assert_eq!(p.steps, 7);
    let json = Scenario::from_json_str(r#"[{"outcome": "cancelled"}]"#).unwrap();
    assert_eq!(plan(&json, "anything").outcome, Outcome::Cancelled);
}

#[test]
fn bad_scenario_files_are_refused_with_the_rule_number() {
    for text in [
        r#"[{"outcome": "exploded"}]"#,
        r#"[{"goal_pattern": "/(/"}]"#,
        r#"[{"steps": 1000}]"#,
        r#"[{"error": {"category": "NOPE"}}]"#,
        r#"[{"colour": "red"}]"#,
        r#"[{"result": [1]}]"#,
    ] {
        let error = Scenario::from_json_str(text).unwrap_err();
        assert!(
            matches!(error, ScenarioError::Rule { index: 1, .. }),
            "{text}: {error}"
        );
    }
    assert!(Scenario::from_json_str("{").is_err());
    assert!(Scenario::from_toml_str("rules = 3").is_err());
}

#[test]
fn generated_results_conform_to_the_schema() {
    let schema = json!({
        "type": "object",
        "properties": {
            "product_name": {"type": "string"},
            "price": {"type": "number", "minimum": 50},
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
            "stock": {"type": "integer"},
            "available": {"type": "boolean"},
            "currency": {"enum": ["EUR", "USD"]},
            "seller": {"type": ["object", "null"], "properties": {"url": {"type": "string"}}},
        },
        "required": ["product_name", "price"],
    });
    let value = Scenario::default()
        .plan(
            "Extract the product name and price",
            "https://shop.example",
            Some(&schema),
            &[],
        )
        .unwrap()
        .result;
    assert_eq!(value["product_name"], "Example Product");
    assert_eq!(value["price"], json!(50.0));
    assert_eq!(value["tags"].as_array().map(Vec::len), Some(2));
    assert!(value["stock"].is_i64());
    assert_eq!(value["available"], true);
    assert_eq!(value["currency"], "EUR");
    assert_eq!(value["seller"]["url"], "https://shop.example");
}

#[test]
fn every_schema_gives_an_object_result() {
    let result = |schema: Value| {
        Scenario::default()
            .plan(
                "Extract the page title",
                "https://example.com",
                Some(&schema),
                &[],
            )
            .unwrap()
            .result
    };
    let title = json!({"title": "Example Domain"});
    // No kind of value said: the default result.
    assert_eq!(result(json!({})), title);
    assert_eq!(result(json!({"x": null})), title);
    assert_eq!(result(json!({"not": {}})), title);
    // Another kind than an object: wrapped.
    assert_eq!(
        result(json!({"type": "string"})),
        json!({"value": "example"})
    );
    assert_eq!(
        result(json!({"type": "array", "items": {"type": "integer"}})),
        json!({"value": [1]})
    );
    assert_eq!(result(json!({"enum": [3, 4]})), json!({"value": 3}));
    assert_eq!(result(json!({"type": "null"})), json!({"value": null}));
    assert_eq!(result(json!({"const": {"a": 1}})), json!({"a": 1}));
    // A list of types with "object" in it, and `required` alone, describe objects.
    assert!(result(json!({"type": ["string", "object"]})).is_object());
    assert_eq!(
        result(json!({"required": ["title", "email"]})),
        json!({"title": "Example Domain", "email": "contact@example.com"})
    );
    // Boolean subschemas.
    let value = result(json!({"properties": {"title": true, "never": false}}));
    assert_eq!(value, json!({"title": "Example Domain", "never": null}));
}

#[test]
fn step_actions_start_with_navigation_and_end_with_extraction_or_failure() {
    let actions = step_actions("https://example.com", 3, None);
    assert_eq!(actions[0], "Navigate to https://example.com");
    assert_eq!(actions[2], "Extract the requested data");
    let failed = step_actions("https://example.com", 2, Some("Site blocked access"));
    assert_eq!(failed[1], "Stop: Site blocked access");
    assert!(step_actions("https://example.com", 0, None).is_empty());
}

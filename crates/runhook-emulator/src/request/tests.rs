use serde_json::json;

use super::*;

fn check(body: Value, loopback: bool) -> Result<RunRequest, Issues> {
    let mut issues = Issues::new();
    match check_run(&body, &[], loopback, &mut issues) {
        Some(request) if issues.is_empty() => Ok(request),
        _ => Err(issues),
    }
}

#[test]
fn a_minimal_body_passes_and_unknown_fields_are_accepted() {
    let request = check(
        json!({"url": "https://example.com", "goal": "Extract the page title", "future": 1}),
        false,
    )
    .unwrap();
    assert_eq!(request.goal, "Extract the page title");
    assert_eq!(request.webhook_url, None);
}

#[test]
fn missing_and_mistyped_fields_are_each_reported() {
    let issues = check(json!({"goal": 3, "browser_profile": "fast"}), false).unwrap_err();
    let paths: Vec<_> = issues
        .kept()
        .iter()
        .map(|issue| issue.path.clone())
        .collect();
    assert!(paths.contains(&vec![json!("url")]));
    assert!(paths.contains(&vec![json!("goal")]));
    assert!(paths.contains(&vec![json!("browser_profile")]));
}

#[test]
fn webhook_urls_must_be_https_unless_loopback_http_is_allowed() {
    let body = |hook: &str| json!({"url": "https://example.com", "goal": "g", "webhook_url": hook});
    assert!(check(body("https://hooks.example.com/x"), false).is_ok());
    assert!(check(body("http://127.0.0.1:9/x"), false).is_err());
    assert!(check(body("http://127.0.0.1:9/x"), true).is_ok());
    assert!(check(body("http://localhost:9/x"), true).is_ok());
    assert!(check(body("http://example.com/x"), true).is_err());
    assert!(check(body("ftp://example.com/x"), true).is_err());
}

#[test]
fn output_schemas_are_checked_for_the_supported_subset() {
    let body =
        |schema: Value| json!({"url": "https://e.com", "goal": "g", "output_schema": schema});
    assert!(
        check(
            body(json!({"type": "object", "properties": {"a": {"type": "string"}}})),
            false
        )
        .is_ok()
    );
    assert!(check(body(json!({"type": "tuple"})), false).is_err());
    assert!(check(body(json!({"required": "a"})), false).is_err());
    assert!(check(body(json!([1])), false).is_err());
}

#[test]
fn run_id_lists_hold_one_to_a_hundred_strings() {
    assert!(check_run_ids(&json!({"run_ids": ["a"]})).is_ok());
    assert!(check_run_ids(&json!({"run_ids": []})).is_err());
    assert!(check_run_ids(&json!({"run_ids": [1]})).is_err());
    assert!(check_run_ids(&json!({"ids": ["a"]})).is_err());
    let many: Vec<String> = (0..101).map(|i| i.to_string()).collect();
    assert!(check_run_ids(&json!({ "run_ids": many })).is_err());
}

#[test]
fn boolean_schemas_are_kept_as_objects_and_null_is_refused() {
    let body =
        |schema: Value| json!({"url": "https://e.com", "goal": "g", "output_schema": schema});
    let request = check(body(json!(true)), false).unwrap();
    assert_eq!(request.output_schema, Some(json!({})));
    let request = check(body(json!(false)), false).unwrap();
    assert_eq!(request.output_schema, Some(json!({"not": {}})));
    let issues = check(body(Value::Null), false).unwrap_err();
    assert_eq!(issues.kept()[0].path, vec![json!("output_schema")]);
    // Boolean subschemas are valid JSON Schema.
    let nested = json!({"properties": {"a": true}, "items": false});
    assert!(check(body(nested), false).is_ok());
}

#[test]
fn an_oversized_id_list_is_refused_by_its_length_alone() {
    let many: Vec<Value> = (0..10_000).map(|_| json!(1)).collect();
    let error = check_run_ids(&json!({ "run_ids": many })).unwrap_err();
    let details = error.body()["error"]["details"].clone();
    assert_eq!(details.as_array().map(Vec::len), Some(1));
    assert_eq!(details[0]["code"], "too_big");
}

//! `GET /openapi.json`: served without a key over real HTTP, a well-formed OpenAPI 3.0 document
//! whose references all resolve, and in step with the router: every route of the server's source
//! is documented (except the emulator's own `/_emulator/*` pages), and every documented operation
//! is answered by a route that checks the API key.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{client, start};

/// The routes the server's source declares: `(method, path)`, e.g. `("post", "/v1/runs/batch")`.
fn router_routes() -> BTreeSet<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/server");
    let route = regex::Regex::new(r#"\.route\(\s*"([^"]+)"\s*,"#).unwrap();
    let method = regex::Regex::new(r"\b(get|post|put|patch|delete)\(").unwrap();
    let mut routes = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        for found in route.captures_iter(&source) {
            // The handlers: from the path to the next call on the router, or the statement's end.
            let rest = &source[found.get(0).unwrap().end()..];
            let end = [rest.find(".route"), rest.find(';')]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(rest.len());
            for name in method.captures_iter(&rest[..end]) {
                routes.insert((name[1].to_owned(), found[1].to_owned()));
            }
        }
    }
    routes
}

/// The operations the document lists: `(method, path)`.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                operations.insert((method.to_owned(), path.clone()));
            }
        }
    }
    operations
}

/// Every `$ref` under `value`, e.g. `#/components/schemas/Run`.
fn references<'a>(value: &'a Value, found: &mut Vec<&'a str>) {
    match value {
        Value::Object(object) => {
            for (key, item) in object {
                match (key.as_str(), item) {
                    ("$ref", Value::String(target)) => found.push(target),
                    _ => references(item, found),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| references(item, found)),
        _ => {}
    }
}

async fn fetch_document(base_url: &str) -> Value {
    let response = client()
        .get(format!("{base_url}/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "served without an API key");
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "served as JSON"
    );
    serde_json::from_slice(&response.bytes().await.unwrap()).expect("the document is JSON")
}

#[tokio::test]
async fn the_document_is_served_without_a_key_and_is_openapi_3_0() {
    let emulator = start().await;
    let doc = fetch_document(&emulator.base_url()).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.0."),
        "{}",
        doc["openapi"]
    );
    assert!(doc["info"]["title"].is_string());
    assert_eq!(
        doc["components"]["securitySchemes"]["ApiKeyAuth"],
        serde_json::json!({
            "type": "apiKey", "in": "header", "name": "X-API-Key",
            "description": doc["components"]["securitySchemes"]["ApiKeyAuth"]["description"],
        })
    );
    let mut refs = Vec::new();
    references(&doc, &mut refs);
    assert!(!refs.is_empty());
    for target in refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{target}: only local references"));
        assert!(doc.pointer(pointer).is_some(), "{target} does not resolve");
    }
    let mut ids = BTreeSet::new();
    for (method, path) in documented(&doc) {
        let operation = &doc["paths"][&path][&method];
        let id = operation["operationId"].as_str().unwrap();
        assert!(ids.insert(id.to_owned()), "operationId {id} twice");
        let open = operation["security"] == serde_json::json!([]);
        assert!(
            open || operation["responses"]["401"].is_object(),
            "{method} {path}: a keyed operation documents its 401"
        );
    }
    emulator.shutdown().await;
}

#[tokio::test]
async fn the_document_lists_every_route_of_the_router() {
    let emulator = start().await;
    let doc = fetch_document(&emulator.base_url()).await;
    let routes = router_routes();
    assert!(
        routes.len() >= 10,
        "the router's routes were not found in src/server: {routes:?}"
    );
    let listed = documented(&doc);
    let missing: Vec<_> = routes
        .iter()
        .filter(|(_, path)| !path.starts_with("/_emulator/"))
        .filter(|route| !listed.contains(*route))
        .collect();
    assert!(
        missing.is_empty(),
        "routes missing from openapi.json: {missing:?}"
    );
    let unrouted: Vec<_> = listed.difference(&routes).collect();
    assert!(
        unrouted.is_empty(),
        "documented but not routed: {unrouted:?}"
    );

    // Over HTTP: each documented operation is routed, and behind the key unless it says not.
    for (method, path) in &listed {
        let url = format!(
            "{}{}",
            emulator.base_url(),
            path.replace("{id}", "no-such-run")
        );
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = client().request(method.clone(), &url).send().await.unwrap();
        let open =
            doc["paths"][path][method.as_str().to_lowercase()]["security"] == serde_json::json!([]);
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if open {
            assert_eq!(status, 200, "{method} {path}: {body}");
        } else {
            assert_eq!(status, 401, "{method} {path} without a key: {body}");
            assert_eq!(body["error"]["code"], "MISSING_API_KEY", "{method} {path}");
        }
    }
    emulator.shutdown().await;
}

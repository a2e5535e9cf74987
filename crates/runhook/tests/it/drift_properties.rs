//! Property tests of the lenient parse: whatever replaces a value inside `data`, the run is
//! never lost, every problem points into the received body, and nothing received is lost.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use proptest::prelude::*;
use runhook::{Event, RunId};
use serde_json::Value;

/// Any JSON value, nested a few levels, with keys that often collide with known fields.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        ".{0,10}".prop_map(Value::String),
        Just(Value::from("2026-03-25T10:30:00Z")),
        Just(Value::from("COMPLETED")),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    "[a-z_]{1,6}".boxed(),
                    prop::sample::select(vec!["id", "message", "timestamp", "status", "valid"])
                        .prop_map(str::to_owned)
                        .boxed()
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every valid fixture: the documents the replacement is made in (read once).
fn valid_documents() -> &'static [Value] {
    static DOCUMENTS: std::sync::OnceLock<Vec<Value>> = std::sync::OnceLock::new();
    DOCUMENTS.get_or_init(read_valid_documents)
}

fn read_valid_documents() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/valid");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap())
        .filter(|v: &Value| v["data"].to_string().len() < 20_000) // keep cases fast
        .collect()
}

/// The pointers of every value inside `data` (not `data` itself).
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                let p = format!("{at}/{}", key.replace('~', "~0").replace('/', "~1"));
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                let p = format!("{at}/{i}");
                out.push(p.clone());
                pointers(child, p, out);
            }
        }
        _ => {}
    }
}

/// Whether the replaced value is `data.run_id` / `data.status` contradicting the envelope.
fn contradicts(document: &Value) -> bool {
    let data = &document["data"];
    let id = data.get("run_id").and_then(Value::as_str);
    let status = data.get("status").and_then(Value::as_str);
    id.is_some_and(|id| RunId::validate(id).is_ok() && Some(id) != document["run_id"].as_str())
        || status.is_some_and(|s| Some(s) != document["status"].as_str())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_value_inside_data_is_drift_never_a_lost_run(
        pick in any::<prop::sample::Index>(),
        place in any::<prop::sample::Index>(),
        replacement in any_json(),
    ) {
        let documents = valid_documents();
        let mut document = pick.get(documents).clone();
        let mut places = Vec::new();
        pointers(&document["data"], "/data".to_owned(), &mut places);
        prop_assume!(!places.is_empty());
        let target = place.get(&places).clone();
        *document.pointer_mut(&target).unwrap() = replacement;
        let body = serde_json::to_vec(&document).unwrap();

        let parsed = Event::from_slice_lenient(&body);
        if contradicts(&document) {
            prop_assert!(parsed.is_err(), "{target}: a contradiction was accepted");
            return Ok(());
        }
        let event = parsed.map_err(|e| TestCaseError::fail(format!("{target}: refused: {e}")))?;
        for problem in event.drift_problems() {
            prop_assert!(
                document.pointer(&problem.pointer).is_some(),
                "{} does not resolve in the received body", problem.pointer
            );
        }
        prop_assert_eq!(serde_json::to_value(&event).unwrap(), document.clone());
        // What the typed view holds re-validates: a drifted value reads as absent, never wrong.
        let run = event.run_event().unwrap();
        let typed = serde_json::to_value(&run.data).unwrap();
        prop_assert!(serde_json::from_value::<runhook::Run>(typed).is_ok());
        // No drift, no copy: a strictly valid body gives the strict event.
        if let Ok(strict) = Event::from_slice(&body) {
            prop_assert_eq!(strict, event);
        }
    }
}

//! `output_schema`: an object or a boolean, as the description allows, never `null`. The
//! emulator checks the JSON-Schema subset it understands and keeps the rest.

use serde_json::{Map, Value, json};

use super::at;
use crate::api_error::{Issue, Issues};

/// Checks an `output_schema` (of a run body, or of a whole batch) found at `path`: absent is
/// `None`; an object is checked, and kept if sound; a boolean is kept as its object equivalent
/// (`true` as `{}`, `false` as `{"not": {}}`), so a run's schema is always an object; anything
/// else, `null` included, is an issue.
pub(crate) fn check_output_schema(
    value: Option<&Value>,
    path: Vec<Value>,
    issues: &mut Issues,
) -> Option<Value> {
    match value? {
        Value::Bool(true) => Some(json!({})),
        Value::Bool(false) => Some(json!({"not": {}})),
        schema @ Value::Object(_) => {
            let before = issues.found();
            check_schema(schema, &path, 0, issues);
            (issues.found() == before).then(|| schema.clone())
        }
        other => {
            issues.push(Issue::invalid_type(path, "object or boolean", Some(other)));
            None
        }
    }
}

/// How deep a schema may nest.
const MAX_DEPTH: usize = 32;

/// The JSON Schema types the emulator understands.
const SCHEMA_TYPES: [&str; 7] = [
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// Checks the JSON-Schema subset of `output_schema`: `type`, `properties`, `required`, `items`,
/// `enum`. Other keywords are kept and ignored; a subschema may be a boolean.
fn check_schema(schema: &Value, path: &[Value], depth: usize, issues: &mut Issues) {
    let object = match schema {
        Value::Object(object) => object,
        Value::Bool(_) if depth > 0 => return,
        other => {
            issues.push(Issue::invalid_type(
                path.to_vec(),
                "object or boolean",
                Some(other),
            ));
            return;
        }
    };
    if depth > MAX_DEPTH {
        issues.push(Issue::new(
            "too_big",
            path.to_vec(),
            "The schema is nested too deeply",
        ));
        return;
    }
    check_schema_type(object, path, issues);
    match object.get("properties") {
        None => {}
        Some(Value::Object(properties)) => {
            for (name, property) in properties {
                check_schema(
                    property,
                    &at(&at(path, "properties"), name),
                    depth + 1,
                    issues,
                );
            }
        }
        other => issues.push(Issue::invalid_type(at(path, "properties"), "object", other)),
    }
    match object.get("required") {
        None => {}
        Some(Value::Array(names)) if names.iter().all(Value::is_string) => {}
        other => issues.push(Issue::invalid_type(
            at(path, "required"),
            "array of strings",
            other,
        )),
    }
    if let Some(items) = object.get("items") {
        check_schema(items, &at(path, "items"), depth + 1, issues);
    }
    match object.get("enum") {
        None => {}
        Some(Value::Array(values)) if !values.is_empty() => {}
        Some(_) => issues.push(Issue::new(
            "invalid_value",
            at(path, "enum"),
            "enum must be a non-empty array",
        )),
    }
}

fn check_schema_type(object: &Map<String, Value>, path: &[Value], issues: &mut Issues) {
    let known = |name: &Value| {
        name.as_str()
            .is_some_and(|name| SCHEMA_TYPES.contains(&name))
    };
    match object.get("type") {
        None => {}
        Some(name @ Value::String(_)) if known(name) => {}
        Some(Value::Array(names)) if !names.is_empty() && names.iter().all(known) => {}
        Some(_) => issues.push(
            Issue::new(
                "invalid_value",
                at(path, "type"),
                "Unsupported schema type: expected one of object, array, string, number, \
                 integer, boolean, null (or a list of them)",
            )
            .with("values", json!(SCHEMA_TYPES)),
        ),
    }
}

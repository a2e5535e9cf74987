//! What scripted agents produce: a plausible result for the goal, a value that conforms to an
//! `output_schema`, error messages and step actions.

use serde_json::{Map, Value, json};

/// The host of `url`, if it has one.
fn host(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|url| url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "example.com".to_owned())
}

fn page_title(url: &str) -> String {
    let host = host(url);
    let bare = host.strip_prefix("www.").unwrap_or(&host);
    if bare == "example.com" {
        "Example Domain".to_owned()
    } else {
        format!("{bare} | Home")
    }
}

/// A plausible result for `goal` on `url`: the documented examples first, then a generic one.
pub(super) fn default_result(goal: &str, url: &str) -> Value {
    let goal = goal.to_lowercase();
    if goal.contains("pricing") || goal.contains("plan") {
        json!({"plans": [
            {"name": "Starter", "price": "$9/month"},
            {"name": "Pro", "price": "$29/month"},
            {"name": "Enterprise", "price": "Contact sales"},
        ]})
    } else if goal.contains("price") || goal.contains("product") {
        json!({"product_name": "Example Product", "price": 29.99})
    } else if goal.contains("title") {
        json!({"title": page_title(url)})
    } else {
        json!({
            "status": "success",
            "url": url,
            "summary": format!("Scripted result of the emulator for: {goal}"),
        })
    }
}

/// The message of a failure of `category` when none is scripted.
pub(super) fn default_error_message(category: &str) -> &'static str {
    match category {
        "SYSTEM_FAILURE" => "Browser crashed during execution",
        "BILLING_FAILURE" => "Insufficient credits to run this automation",
        "UNKNOWN" => "The run failed for an unknown reason",
        _ => "Site blocked access",
    }
}

/// The result of a run with `output_schema` `schema`: always an object, as the API's `result`
/// is. A value that conforms to `schema` (the subset: `type`, `properties`, `required`,
/// `items`, `enum`, `const`, `minimum`, `maximum`, `minItems`), with values taken from the
/// default result where a property of the same name and type exists. A root that says nothing
/// of the value's kind (`{}`, `true`, only unknown keywords) gives the default result; a root
/// whose value is not an object (`{"type": "string"}`, an array schema, ...) gives
/// `{"value": VALUE}`.
pub(super) fn generate(schema: &Value, goal: &str, url: &str) -> Value {
    let defaults = default_result(goal, url);
    let shapes =
        |schema: &Map<String, Value>| KIND_KEYWORDS.iter().any(|key| schema.contains_key(*key));
    if !schema.as_object().is_some_and(shapes) {
        return defaults;
    }
    let context = Context { url, defaults };
    match value(schema, "", &context, 0) {
        object @ Value::Object(_) => object,
        other => json!({ "value": other }),
    }
}

/// The keywords that say what kind of value a schema describes.
const KIND_KEYWORDS: [&str; 6] = ["type", "properties", "required", "items", "enum", "const"];

struct Context<'a> {
    url: &'a str,
    defaults: Value,
}

fn schema_type(schema: &Map<String, Value>) -> &str {
    match schema.get("type") {
        Some(Value::String(name)) => name,
        Some(Value::Array(names)) => {
            let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
            if names.contains(&"object") {
                "object"
            } else {
                names
                    .iter()
                    .find(|name| **name != "null")
                    .or_else(|| names.first())
                    .copied()
                    .unwrap_or("string")
            }
        }
        _ if schema.contains_key("properties") || schema.contains_key("required") => "object",
        _ if schema.contains_key("items") => "array",
        _ => "string",
    }
}

fn value(schema: &Value, name: &str, context: &Context<'_>, depth: usize) -> Value {
    let schema = match schema {
        Value::Object(schema) => schema,
        // `true` allows any value; `false` none (null stands for it).
        Value::Bool(true) => return json!(sample_string(name, context)),
        _ => return Value::Null,
    };
    if let Some(constant) = schema.get("const") {
        return constant.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|v| v.first())
    {
        return first.clone();
    }
    if depth > 32 {
        return Value::Null;
    }
    let kind = schema_type(schema);
    if let Some(known) = context.defaults.get(name).filter(|v| fits(v, kind)) {
        return match (kind, known.as_f64()) {
            ("number", Some(number)) => clamp(schema, number),
            _ => known.clone(),
        };
    }
    match kind {
        "object" => {
            let mut object = Map::new();
            if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                for (key, property) in properties {
                    object.insert(key.clone(), value(property, key, context, depth + 1));
                }
            }
            // A required property the schema does not describe: a sample by name.
            let required = schema.get("required").and_then(Value::as_array);
            for key in required.into_iter().flatten().filter_map(Value::as_str) {
                if !object.contains_key(key) {
                    object.insert(key.to_owned(), json!(sample_string(key, context)));
                }
            }
            Value::Object(object)
        }
        "array" => {
            let count = schema
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .clamp(1, 5);
            let items = schema
                .get("items")
                .cloned()
                .unwrap_or(json!({"type": "string"}));
            let singular = name.strip_suffix('s').unwrap_or(name);
            (0..count)
                .map(|_| value(&items, singular, context, depth + 1))
                .collect()
        }
        "number" => clamp(schema, if name.contains("price") { 29.99 } else { 42.5 }),
        "integer" => clamp(schema, if name.contains("count") { 3.0 } else { 1.0 })
            .as_f64()
            .map_or(json!(1), |n| json!(n.round() as i64)),
        "boolean" => json!(true),
        "null" => Value::Null,
        _ => json!(sample_string(name, context)),
    }
}

/// Whether a default value may stand for a schema of type `kind`.
fn fits(value: &Value, kind: &str) -> bool {
    match kind {
        "string" => value.is_string(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        "boolean" => value.is_boolean(),
        _ => false,
    }
}

fn clamp(schema: &Map<String, Value>, preferred: f64) -> Value {
    let low = schema.get("minimum").and_then(Value::as_f64);
    let high = schema.get("maximum").and_then(Value::as_f64);
    let mut number = preferred;
    if let Some(low) = low {
        number = number.max(low);
    }
    if let Some(high) = high {
        number = number.min(high);
    }
    json!(number)
}

fn sample_string(name: &str, context: &Context<'_>) -> String {
    let name = name.to_lowercase();
    if name.contains("url") || name.contains("link") {
        context.url.to_owned()
    } else if name.contains("title") {
        page_title(context.url)
    } else if name.contains("price") || name.contains("cost") {
        "$29.99".to_owned()
    } else if name.contains("email") {
        "contact@example.com".to_owned()
    } else if name.contains("date") {
        "2026-01-01".to_owned()
    } else if name.contains("name") {
        "Example Product".to_owned()
    } else if name.is_empty() {
        "example".to_owned()
    } else {
        format!("Example {}", name.replace('_', " "))
    }
}

/// The actions of a run's `count` steps; a failed run's last step says why it stopped.
pub(crate) fn step_actions(url: &str, count: u32, failure: Option<&str>) -> Vec<String> {
    const MIDDLE: [&str; 5] = [
        "Wait for the page to finish loading",
        "Dismiss the cookie banner",
        "Scroll down to find the requested content",
        "Click the most relevant link",
        "Read the visible content",
    ];
    (0..count)
        .map(|index| {
            let last = index + 1 == count;
            match (index, last, failure) {
                (_, true, Some(message)) => format!("Stop: {message}"),
                (0, _, _) => format!("Navigate to {url}"),
                (_, true, None) => "Extract the requested data".to_owned(),
                (i, false, _) => MIDDLE[(i as usize - 1) % MIDDLE.len()].to_owned(),
            }
        })
        .collect()
}

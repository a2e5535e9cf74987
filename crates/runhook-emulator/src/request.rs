//! Checking request bodies as TinyFish does: every problem becomes an [`Issue`], and a body with
//! any issue is refused whole. Unknown fields are accepted (forward compatible).

use runhook::endpoint::{AddressPolicy, UrlError, WebhookUrl};
use serde_json::{Map, Value, json};
use url::Url;

use crate::api_error::{ApiError, Issue};

/// The most runs one `/run-batch` request may create, and the most ids a batch get or cancel
/// may name.
pub(crate) const MAX_BATCH: usize = 100;

/// A checked run body: what the emulator uses of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RunRequest {
    pub(crate) url: String,
    pub(crate) goal: String,
    pub(crate) webhook_url: Option<String>,
    pub(crate) proxy_enabled: Option<bool>,
    pub(crate) proxy_country_code: Option<String>,
    pub(crate) output_schema: Option<Value>,
}

/// Parses a body as JSON: non-JSON input is INVALID_INPUT.
pub(crate) fn body_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| {
        let message = if bytes.iter().all(u8::is_ascii_whitespace) {
            "The request body is empty; expected a JSON object".to_owned()
        } else {
            format!("The request body is not valid JSON: {error}")
        };
        ApiError::invalid(vec![Issue::new("invalid_json", Vec::new(), message)])
    })
}

fn at(prefix: &[Value], key: &str) -> Vec<Value> {
    let mut path = prefix.to_vec();
    path.push(json!(key));
    path
}

/// Which loopback `webhook_url`s are accepted: plain `http://`, `https://`, both or neither.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Loopback {
    pub(crate) http: bool,
    pub(crate) https: bool,
}

impl From<bool> for Loopback {
    /// `--allow-http-loopback`: both, or neither.
    fn from(allow: bool) -> Self {
        Loopback {
            http: allow,
            https: allow,
        }
    }
}

/// Checks one run body found at `prefix` (empty for a single run, `["runs", i]` in a batch).
pub(crate) fn check_run(
    body: &Value,
    prefix: &[Value],
    loopback: impl Into<Loopback>,
    issues: &mut Vec<Issue>,
) -> Option<RunRequest> {
    let Some(object) = body.as_object() else {
        issues.push(Issue::invalid_type(prefix.to_vec(), "object", Some(body)));
        return None;
    };
    let before = issues.len();
    let url = check_url(object.get("url"), at(prefix, "url"), issues);
    let goal = match object.get("goal") {
        Some(Value::String(goal)) if goal.is_empty() => {
            issues.push(
                Issue::new(
                    "too_small",
                    at(prefix, "goal"),
                    "Too small: expected string to have >=1 characters",
                )
                .with("minimum", json!(1))
                .with("origin", json!("string")),
            );
            None
        }
        Some(Value::String(goal)) => Some(goal.clone()),
        other => {
            issues.push(Issue::invalid_type(at(prefix, "goal"), "string", other));
            None
        }
    };
    let webhook_url = check_webhook_url(
        object.get("webhook_url"),
        at(prefix, "webhook_url"),
        loopback.into(),
        issues,
    );
    match object.get("browser_profile") {
        None | Some(Value::Null) => {}
        Some(Value::String(profile)) if profile == "lite" || profile == "stealth" => {}
        Some(_) => issues.push(
            Issue::new(
                "invalid_value",
                at(prefix, "browser_profile"),
                "Invalid option: expected one of \"lite\"|\"stealth\"",
            )
            .with("values", json!(["lite", "stealth"])),
        ),
    }
    let (proxy_enabled, proxy_country_code) = check_proxy(
        object.get("proxy_config"),
        &at(prefix, "proxy_config"),
        issues,
    );
    for key in ["agent_config", "capture_config", "feature_flags"] {
        match object.get(key) {
            None | Some(Value::Null | Value::Object(_)) => {}
            other => issues.push(Issue::invalid_type(at(prefix, key), "object", other)),
        }
    }
    let output_schema = match object.get("output_schema") {
        None | Some(Value::Null) => None,
        Some(schema @ Value::Object(_)) => {
            check_schema(schema, &at(prefix, "output_schema"), 0, issues);
            Some(schema.clone())
        }
        other => {
            issues.push(Issue::invalid_type(
                at(prefix, "output_schema"),
                "object",
                other,
            ));
            None
        }
    };
    if issues.len() > before {
        return None;
    }
    Some(RunRequest {
        url: url?,
        goal: goal?,
        webhook_url,
        proxy_enabled,
        proxy_country_code,
        output_schema,
    })
}

fn check_url(value: Option<&Value>, path: Vec<Value>, issues: &mut Vec<Issue>) -> Option<String> {
    let text = match value {
        Some(Value::String(text)) => text,
        other => {
            issues.push(Issue::invalid_type(path, "string", other));
            return None;
        }
    };
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
            Some(text.clone())
        }
        _ => {
            issues.push(
                Issue::new("invalid_format", path, "Invalid URL").with("format", json!("url")),
            );
            None
        }
    }
}

fn check_webhook_url(
    value: Option<&Value>,
    path: Vec<Value>,
    loopback: Loopback,
    issues: &mut Vec<Issue>,
) -> Option<String> {
    let text = match value {
        None | Some(Value::Null) => return None,
        Some(Value::String(text)) => text,
        other => {
            issues.push(Issue::invalid_type(path, "string", other));
            return None;
        }
    };
    // `https://` to a loopback host may be allowed without plain `http://`.
    let https = Url::parse(text).is_ok_and(|url| url.scheme() == "https");
    let policy = AddressPolicy {
        allow_loopback: loopback.http || (loopback.https && https),
        allow_private: false,
    };
    match WebhookUrl::parse_with(text, &policy) {
        Ok(url) => Some(url.as_str().to_owned()),
        Err(error) => {
            let message = match error {
                UrlError::InsecureScheme | UrlError::UnsupportedScheme { .. } => {
                    "The webhook URL must use HTTPS (the emulator accepts http:// to a loopback \
                     host when started with --allow-http-loopback)"
                        .to_owned()
                }
                UrlError::InsecureRemoteHost { host } => format!(
                    "The webhook URL must use HTTPS: plain http is accepted only to a loopback \
                     host, and {host} is not one"
                ),
                UrlError::LoopbackName { .. } | UrlError::Forbidden(_) => {
                    "The webhook URL points to a local address; the emulator delivers there only \
                     when started with --allow-http-loopback (loopback addresses only)"
                        .to_owned()
                }
                other => format!("Invalid webhook URL: {other}"),
            };
            issues.push(Issue::new("invalid_format", path, message).with("format", json!("url")));
            None
        }
    }
}

fn check_proxy(
    value: Option<&Value>,
    path: &[Value],
    issues: &mut Vec<Issue>,
) -> (Option<bool>, Option<String>) {
    let object = match value {
        None | Some(Value::Null) => return (None, None),
        Some(Value::Object(object)) => object,
        other => {
            issues.push(Issue::invalid_type(path.to_vec(), "object", other));
            return (None, None);
        }
    };
    let enabled = match object.get("enabled") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(enabled)) => Some(*enabled),
        other => {
            issues.push(Issue::invalid_type(at(path, "enabled"), "boolean", other));
            None
        }
    };
    let country = match object.get("country_code") {
        None | Some(Value::Null) => None,
        Some(Value::String(code))
            if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) =>
        {
            Some(code.clone())
        }
        Some(_) => {
            issues.push(Issue::new(
                "invalid_value",
                at(path, "country_code"),
                "Invalid country code: expected an ISO 3166-1 alpha-2 code such as \"US\"",
            ));
            None
        }
    };
    (Some(enabled.unwrap_or(false)), country)
}

/// The JSON Schema types the emulator understands.
const SCHEMA_TYPES: [&str; 7] = [
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// Checks the JSON-Schema subset of `output_schema`: `type`, `properties`, `required`, `items`,
/// `enum`. Other keywords are kept and ignored.
fn check_schema(schema: &Value, path: &[Value], depth: usize, issues: &mut Vec<Issue>) {
    let Some(object) = schema.as_object() else {
        issues.push(Issue::invalid_type(path.to_vec(), "object", Some(schema)));
        return;
    };
    if depth > 32 {
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

fn check_schema_type(object: &Map<String, Value>, path: &[Value], issues: &mut Vec<Issue>) {
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

/// Checks `{"run_ids": [1..100 strings]}`.
pub(crate) fn check_run_ids(body: &Value) -> Result<Vec<String>, ApiError> {
    let ids = match body.get("run_ids") {
        Some(Value::Array(ids)) => ids,
        other => {
            let issue = Issue::invalid_type(vec![json!("run_ids")], "array", other);
            return Err(ApiError::invalid(vec![issue]));
        }
    };
    let mut issues = Vec::new();
    check_count(ids.len(), vec![json!("run_ids")], &mut issues);
    let mut out = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        match id {
            Value::String(id) => out.push(id.clone()),
            other => issues.push(Issue::invalid_type(
                vec![json!("run_ids"), json!(index)],
                "string",
                Some(other),
            )),
        }
    }
    if issues.is_empty() {
        Ok(out)
    } else {
        Err(ApiError::invalid(issues))
    }
}

/// A batch holds 1 to [`MAX_BATCH`] items.
pub(crate) fn check_count(count: usize, path: Vec<Value>, issues: &mut Vec<Issue>) {
    if count == 0 {
        issues.push(
            Issue::new(
                "too_small",
                path,
                "Too small: expected array to have >=1 items",
            )
            .with("minimum", json!(1))
            .with("origin", json!("array")),
        );
    } else if count > MAX_BATCH {
        issues.push(
            Issue::new(
                "too_big",
                path,
                format!("Too big: expected array to have <={MAX_BATCH} items"),
            )
            .with("maximum", json!(MAX_BATCH))
            .with("origin", json!("array")),
        );
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;

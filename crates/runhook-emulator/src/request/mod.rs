//! Checking request bodies as TinyFish's published API description does: every problem becomes
//! an [`Issue`], and a body with any issue is refused whole. Unknown fields are accepted
//! (forward compatible). An optional field is absent or of its type: `null` is refused, as the
//! description (whose optional fields are not nullable) and TinyFish's own checks do; the
//! official SDKs leave unset fields out.

mod options;
mod schema;
mod urls;

use serde_json::{Map, Value, json};

pub(crate) use self::schema::check_output_schema;
use crate::api_error::{ApiError, Issue, Issues};

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
    /// Always an object: a boolean schema is kept as its object equivalent.
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

/// `prefix` followed by `key`.
fn at(prefix: &[Value], key: &str) -> Vec<Value> {
    let mut path = prefix.to_vec();
    path.push(json!(key));
    path
}

/// Field `key` of `object`, if present (`null` included: a caller refuses it as a wrong type).
fn present<'a>(object: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    object.get(key)
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
    issues: &mut Issues,
) -> Option<RunRequest> {
    let Some(object) = body.as_object() else {
        issues.push(Issue::invalid_type(prefix.to_vec(), "object", Some(body)));
        return None;
    };
    let before = issues.found();
    let url = urls::check_url(object.get("url"), at(prefix, "url"), issues);
    let goal = match object.get("goal") {
        Some(Value::String(goal)) if goal.is_empty() => {
            issues.push(Issue::too_small(at(prefix, "goal"), "string", 1));
            None
        }
        Some(Value::String(goal)) => Some(goal.clone()),
        other => {
            issues.push(Issue::invalid_type(at(prefix, "goal"), "string", other));
            None
        }
    };
    let webhook_url = urls::check_webhook_url(
        present(object, "webhook_url"),
        at(prefix, "webhook_url"),
        loopback.into(),
        issues,
    );
    let proxy = options::check_options(object, prefix, issues);
    let output_schema = check_output_schema(
        object.get("output_schema"),
        at(prefix, "output_schema"),
        issues,
    );
    if issues.found() > before {
        return None;
    }
    Some(RunRequest {
        url: url?,
        goal: goal?,
        webhook_url,
        proxy_enabled: proxy.enabled,
        proxy_country_code: proxy.country_code,
        output_schema,
    })
}

/// The kind of request body [`check_body`] checks.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    /// A run: the body of `/run`, `/run-async` or `/run-sse`, or an item of `/run-batch`.
    Run,
    /// `{"run_ids": [...]}`: the body of `POST /v1/runs/batch` and `/v1/runs/batch/cancel`.
    RunIds,
}

/// Checks `bytes` as the server checks a body of `kind` before it plans a run or reads the store:
/// `Ok`, or the error envelope the server answers with (as JSON). Not part of the API: the
/// entry of the fuzz target `emulator_request` (docs/fuzzing.md).
#[doc(hidden)]
pub fn check_body(kind: BodyKind, bytes: &[u8], allow_loopback: bool) -> Result<(), Value> {
    let body = body_json(bytes).map_err(|error| error.body())?;
    match kind {
        BodyKind::Run => {
            let mut issues = Issues::new();
            match check_run(&body, &[], allow_loopback, &mut issues) {
                Some(_) if issues.is_empty() => Ok(()),
                _ => Err(ApiError::invalid(issues).body()),
            }
        }
        BodyKind::RunIds => check_run_ids(&body).map(drop).map_err(|error| error.body()),
    }
}

/// Checks `{"run_ids": [1..100 strings]}`; the count is checked before any id.
pub(crate) fn check_run_ids(body: &Value) -> Result<Vec<String>, ApiError> {
    let ids = match body.get("run_ids") {
        Some(Value::Array(ids)) => ids,
        other => {
            let issue = Issue::invalid_type(vec![json!("run_ids")], "array", other);
            return Err(ApiError::invalid(vec![issue]));
        }
    };
    let mut issues = Issues::new();
    check_count(ids.len(), vec![json!("run_ids")], &mut issues);
    if !issues.is_empty() {
        return Err(ApiError::invalid(issues));
    }
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
pub(crate) fn check_count(count: usize, path: Vec<Value>, issues: &mut Issues) {
    if count == 0 {
        issues.push(Issue::too_small(path, "array", 1));
    } else if count > MAX_BATCH {
        issues.push(Issue::too_big(path, "array", MAX_BATCH));
    }
}

#[cfg(test)]
mod tests;

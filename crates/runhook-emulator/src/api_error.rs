//! The error envelope: `{"error": {"code", "message", "details"}}`, with Zod-style issues in
//! `details` for invalid input (`{code, path, message, ...}`). At most [`MAX_DETAILS`] issues
//! are kept and shown; a last entry counts the rest.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use runhook::api::{ApiErrorCode, ErrorEnvelope};
use serde::Serialize;
use serde_json::{Map, Value, json};

/// One problem with the input: where (a path of keys and indexes) and what.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Issue {
    pub(crate) code: &'static str,
    pub(crate) path: Vec<Value>,
    pub(crate) message: String,
    /// Issue-specific fields (`expected`, `received`, `values`, `minimum`, ...).
    pub(crate) extra: Vec<(&'static str, Value)>,
}

impl Issue {
    pub(crate) fn new(code: &'static str, path: Vec<Value>, message: impl Into<String>) -> Self {
        Issue {
            code,
            path,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    pub(crate) fn with(mut self, key: &'static str, value: Value) -> Self {
        self.extra.push((key, value));
        self
    }

    /// A value of the wrong JSON type (or missing: `received` is `undefined`).
    pub(crate) fn invalid_type(path: Vec<Value>, expected: &str, received: Option<&Value>) -> Self {
        let received = received.map_or("undefined", type_name);
        Issue::new(
            "invalid_type",
            path,
            format!("Invalid input: expected {expected}, received {received}"),
        )
        .with("expected", json!(expected))
        .with("received", json!(received))
    }

    /// One of a fixed list of strings was expected (`Invalid option: expected one of "a"|"b"`).
    pub(crate) fn invalid_option(path: Vec<Value>, values: &[&str]) -> Self {
        let listed = values
            .iter()
            .map(|value| format!("\"{value}\""))
            .collect::<Vec<_>>()
            .join("|");
        Issue::new(
            "invalid_value",
            path,
            format!("Invalid option: expected one of {listed}"),
        )
        .with("values", json!(values))
    }

    /// A number, string or array below its minimum (`origin`: `number`, `string` or `array`).
    pub(crate) fn too_small(path: Vec<Value>, origin: &'static str, minimum: usize) -> Self {
        Issue::new(
            "too_small",
            path,
            format!("Too small: expected {}", bound(origin, ">=", minimum)),
        )
        .with("minimum", json!(minimum))
        .with("origin", json!(origin))
    }

    /// A number, string or array above its maximum (`origin`: `number`, `string` or `array`).
    pub(crate) fn too_big(path: Vec<Value>, origin: &'static str, maximum: usize) -> Self {
        Issue::new(
            "too_big",
            path,
            format!("Too big: expected {}", bound(origin, "<=", maximum)),
        )
        .with("maximum", json!(maximum))
        .with("origin", json!(origin))
    }

    /// The path written the way the top-level message names a field: `runs.0.url`.
    fn dotted(&self) -> String {
        self.path
            .iter()
            .map(|part| match part {
                Value::String(key) => key.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    fn to_json(&self) -> Value {
        let mut object = Map::new();
        object.insert("code".into(), json!(self.code));
        object.insert("path".into(), Value::Array(self.path.clone()));
        object.insert("message".into(), json!(self.message));
        for (key, value) in &self.extra {
            object.insert((*key).into(), value.clone());
        }
        Value::Object(object)
    }
}

/// `number to be >=1`, `string to have >=1 characters`, `array to have <=100 items`.
fn bound(origin: &str, relation: &str, limit: usize) -> String {
    match origin {
        "string" => format!("string to have {relation}{limit} characters"),
        "array" => format!("array to have {relation}{limit} items"),
        other => format!("{other} to be {relation}{limit}"),
    }
}

/// The most issues an INVALID_INPUT answer lists in `details` (and that a check keeps).
pub(crate) const MAX_DETAILS: usize = 100;

/// The issues found in one request: the first [`MAX_DETAILS`] kept, the rest only counted, so
/// that neither a check nor its answer grows with a hostile body.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Issues {
    kept: Vec<Issue>,
    found: usize,
}

impl Issues {
    /// No issues yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds an issue (kept if fewer than [`MAX_DETAILS`] are).
    pub(crate) fn push(&mut self, issue: Issue) {
        self.found = self.found.saturating_add(1);
        if self.kept.len() < MAX_DETAILS {
            self.kept.push(issue);
        }
    }

    /// How many issues were found, kept or not.
    pub(crate) fn found(&self) -> usize {
        self.found
    }

    /// Whether no issue was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.found == 0
    }

    /// The issues kept, in the order found.
    pub(crate) fn kept(&self) -> &[Issue] {
        &self.kept
    }

    /// How many issues were found beyond those kept.
    fn omitted(&self) -> usize {
        self.found - self.kept.len()
    }
}

impl From<Vec<Issue>> for Issues {
    fn from(list: Vec<Issue>) -> Self {
        let mut issues = Issues::new();
        for issue in list {
            issues.push(issue);
        }
        issues
    }
}

/// The JSON type name of `value`, as validation messages say it.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An API error, answered as the envelope with the status of its code.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    code: ApiErrorCode,
    message: String,
    details: Option<Issues>,
    /// Extra top-level fields beside `error` (`run_ids: null` for `/run-batch`).
    beside: Vec<(&'static str, Value)>,
}

impl ApiError {
    fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: None,
            beside: Vec::new(),
        }
    }

    /// The HTTP status of the code (every code the emulator answers has one).
    fn status(&self) -> StatusCode {
        self.code
            .http_status()
            .and_then(|status| StatusCode::from_u16(status).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// 400 INVALID_INPUT with the issues in `details` (at most [`MAX_DETAILS`], then one entry
    /// `{code: "custom", path: [], message, omitted: N}` counting the rest); the message names
    /// the first few.
    pub(crate) fn invalid(issues: impl Into<Issues>) -> Self {
        let issues = issues.into();
        let message = issues
            .kept()
            .iter()
            .take(3)
            .map(|issue| match issue.dotted() {
                path if path.is_empty() => issue.message.clone(),
                path => format!("Field \"{path}\": {}", issue.message),
            })
            .collect::<Vec<_>>()
            .join("; ");
        let message = if message.is_empty() {
            "Invalid input".to_owned()
        } else {
            message
        };
        ApiError {
            details: Some(issues),
            ..Self::new(ApiErrorCode::InvalidInput, message)
        }
    }

    pub(crate) fn missing_api_key() -> Self {
        Self::new(ApiErrorCode::MissingApiKey, "X-API-Key header is required")
    }

    pub(crate) fn invalid_api_key() -> Self {
        Self::new(ApiErrorCode::InvalidApiKey, "Invalid or expired API key")
    }

    pub(crate) fn run_not_found() -> Self {
        Self::new(ApiErrorCode::NotFound, "Run not found")
    }

    pub(crate) fn route_not_found(method: &str, path: &str) -> Self {
        Self::new(
            ApiErrorCode::NotFound,
            format!("No endpoint {method} {path}"),
        )
    }

    pub(crate) fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            ApiErrorCode::MethodNotAllowed,
            format!("{path} does not accept {method}"),
        )
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            ApiErrorCode::PayloadTooLarge,
            format!("The request body is larger than {limit} bytes"),
        )
    }

    /// 429 RATE_LIMIT_EXCEEDED: the emulator keeps `max_runs` runs and none has finished.
    pub(crate) fn too_many_runs(max_runs: usize) -> Self {
        Self::new(
            ApiErrorCode::RateLimitExceeded,
            format!(
                "The emulator keeps at most {max_runs} runs (--max-runs) and every one is still \
                 in progress; retry when one has finished"
            ),
        )
    }

    /// 429 RATE_LIMIT_EXCEEDED for a read the emulator throttles on purpose.
    pub(crate) fn throttled(retry_after_secs: u64) -> Self {
        Self::new(
            ApiErrorCode::RateLimitExceeded,
            format!(
                "Too many requests (the emulator's --throttle-reads); retry after \
                 {retry_after_secs} s"
            ),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ApiErrorCode::InternalError, message)
    }

    /// Adds a top-level field beside `error`.
    pub(crate) fn beside(mut self, key: &'static str, value: Value) -> Self {
        self.beside.push((key, value));
        self
    }

    /// The envelope as JSON.
    pub(crate) fn body(&self) -> Value {
        let mut envelope = ErrorEnvelope::new(self.code.clone(), self.message.clone());
        if let Some(issues) = &self.details {
            let mut details: Vec<Value> = issues.kept().iter().map(Issue::to_json).collect();
            let omitted = issues.omitted();
            if omitted > 0 {
                let rest = Issue::new(
                    "custom",
                    Vec::new(),
                    format!("{omitted} more issues not shown"),
                )
                .with("omitted", json!(omitted));
                details.push(rest.to_json());
            }
            envelope = envelope.with_details(Value::Array(details));
        }
        for (key, value) in &self.beside {
            envelope = envelope.with_beside(*key, value.clone());
        }
        serde_json::to_value(&envelope).unwrap_or(Value::Null)
    }
}

/// A JSON response with `status` (a 500 if `body` cannot be written as JSON, which a
/// [`Value`] and the core's wire types always can).
pub(crate) fn json_response<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response {
    let text = match serde_json::to_string(body) {
        Ok(text) => text,
        Err(error) => {
            return ApiError::internal(format!("Cannot write the answer: {error}")).into_response();
        }
    };
    let mut response = (status, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status(), &self.body())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_names_the_field() {
        let error = ApiError::invalid(vec![Issue::invalid_type(
            vec![json!("url")],
            "string",
            None,
        )]);
        let body = error.body();
        assert_eq!(body["error"]["code"], "INVALID_INPUT");
        assert_eq!(
            body["error"]["message"],
            "Field \"url\": Invalid input: expected string, received undefined"
        );
        assert_eq!(body["error"]["details"][0]["path"], json!(["url"]));
        assert_eq!(body["error"]["details"][0]["expected"], "string");
    }

    #[test]
    fn details_are_capped_and_the_rest_counted() {
        let mut issues = Issues::new();
        for index in 0..MAX_DETAILS + 7 {
            issues.push(Issue::invalid_type(vec![json!(index)], "string", None));
        }
        assert_eq!(issues.found(), MAX_DETAILS + 7);
        let body = ApiError::invalid(issues).body();
        let details = body["error"]["details"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(details.len(), MAX_DETAILS + 1);
        assert_eq!(details[MAX_DETAILS]["omitted"], 7);
        assert_eq!(details[MAX_DETAILS]["path"], json!([]));
    }

    #[test]
    fn bounds_are_worded_by_origin() {
        let issue = Issue::too_big(vec![json!("goal")], "string", 500);
        assert_eq!(
            issue.message,
            "Too big: expected string to have <=500 characters"
        );
        let issue = Issue::too_small(vec![json!("n")], "number", 1);
        assert_eq!(issue.message, "Too small: expected number to be >=1");
        let issue = Issue::invalid_option(vec![], &["a", "b"]);
        assert_eq!(issue.message, "Invalid option: expected one of \"a\"|\"b\"");
    }
}

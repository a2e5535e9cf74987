//! The error envelope: `{"error": {"code", "message", "details"}}`, with Zod-style issues in
//! `details` for invalid input (`{code, path, message, ...}`).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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

/// An API error, answered as the envelope.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Vec<Issue>>,
    /// Extra top-level fields beside `error` (`run_ids: null` for `/run-batch`).
    beside: Vec<(&'static str, Value)>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            beside: Vec::new(),
        }
    }

    /// 400 INVALID_INPUT with the issues in `details`; the message names the first few.
    pub(crate) fn invalid(issues: Vec<Issue>) -> Self {
        let message = issues
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
            ..Self::new(StatusCode::BAD_REQUEST, "INVALID_INPUT", message)
        }
    }

    pub(crate) fn missing_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "MISSING_API_KEY",
            "X-API-Key header is required",
        )
    }

    pub(crate) fn invalid_api_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_KEY",
            "Invalid or expired API key",
        )
    }

    pub(crate) fn run_not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", "Run not found")
    }

    pub(crate) fn route_not_found(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("No endpoint {method} {path}"),
        )
    }

    pub(crate) fn method_not_allowed(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "METHOD_NOT_ALLOWED",
            format!("{path} does not accept {method}"),
        )
    }

    pub(crate) fn too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            format!("The request body is larger than {limit} bytes"),
        )
    }

    /// 429 RATE_LIMIT_EXCEEDED: the emulator keeps `max_runs` runs and none has finished.
    pub(crate) fn too_many_runs(max_runs: usize) -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "RATE_LIMIT_EXCEEDED",
            format!(
                "The emulator keeps at most {max_runs} runs (--max-runs) and every one is still \
                 in progress; retry when one has finished"
            ),
        )
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL_ERROR", message)
    }

    /// Adds a top-level field beside `error`.
    pub(crate) fn beside(mut self, key: &'static str, value: Value) -> Self {
        self.beside.push((key, value));
        self
    }

    /// The envelope as JSON.
    pub(crate) fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(details) = &self.details {
            let details = details.iter().map(Issue::to_json).collect();
            error.insert("details".into(), Value::Array(details));
        }
        let mut body = Map::new();
        for (key, value) in &self.beside {
            body.insert((*key).into(), value.clone());
        }
        body.insert("error".into(), Value::Object(error));
        Value::Object(body)
    }
}

/// A JSON response with `status`.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        json_response(self.status, &self.body())
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
}

//! The error envelope: `{"error": {"code", "message", "details"}}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ApiErrorCode;

/// An error answer of the API: `{"error": {...}}`, and any fields beside it (`/run-batch`
/// answers `run_ids: null` there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "an error envelope {\"error\": {\"code\", \"message\", \"details\"}}")]
#[non_exhaustive]
pub struct ErrorEnvelope {
    /// The error.
    pub error: ErrorObject,
    /// Fields beside `error`, kept verbatim.
    #[serde(flatten)]
    pub beside: Map<String, Value>,
}

/// The `error` object of an [`ErrorEnvelope`]. Every field may be missing from what a server
/// sends; a reader decides what a missing one means.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(expecting = "an error object")]
#[non_exhaustive]
pub struct ErrorObject {
    /// The error code, e.g. `INVALID_INPUT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<ApiErrorCode>,
    /// What went wrong, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// More about it: for `INVALID_INPUT`, the list of issues (`{code, path, message, ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
}

impl ErrorEnvelope {
    /// An envelope with a code and a message, nothing beside.
    pub fn new(code: ApiErrorCode, message: impl Into<String>) -> Self {
        ErrorEnvelope {
            error: ErrorObject {
                code: Some(code),
                message: Some(message.into()),
                details: None,
            },
            beside: Map::new(),
        }
    }

    /// Sets `details`.
    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.error.details = Some(details);
        self
    }

    /// Adds a field beside `error`.
    #[must_use]
    pub fn with_beside(mut self, key: impl Into<String>, value: Value) -> Self {
        self.beside.insert(key.into(), value);
        self
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_and_reads_the_documented_shape() {
        let envelope = ErrorEnvelope::new(ApiErrorCode::InvalidInput, "bad")
            .with_details(json!([{"path": ["url"]}]))
            .with_beside("run_ids", Value::Null);
        let value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(
            value,
            json!({"error": {"code": "INVALID_INPUT", "message": "bad",
                   "details": [{"path": ["url"]}]}, "run_ids": null})
        );
        let back: ErrorEnvelope = serde_json::from_value(value).unwrap();
        assert_eq!(back, envelope);
        let bare: ErrorEnvelope = serde_json::from_str(r#"{"error": {}}"#).unwrap();
        assert_eq!(bare.error, ErrorObject::default());
    }
}

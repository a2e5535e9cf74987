//! Output-schema validation of a run's result.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Nullable;

/// How the run's result fared against the output schema it was given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "a schema_validation object")]
#[non_exhaustive]
pub struct SchemaValidation {
    /// Whether the result matched the schema.
    pub valid: bool,
    /// How many times the agent was asked again to fix its output.
    pub re_prompt_attempts: u64,
    /// The mismatches that remain.
    pub errors: Vec<SchemaValidationIssue>,
    /// Fields this version of runhook does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl SchemaValidation {
    /// A validation outcome with the documented fields and nothing else.
    pub fn new(valid: bool, re_prompt_attempts: u64, errors: Vec<SchemaValidationIssue>) -> Self {
        SchemaValidation {
            valid,
            re_prompt_attempts,
            errors,
            extra: Map::new(),
        }
    }
}

/// One place where the result did not match the output schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "a schema validation error object")]
#[non_exhaustive]
pub struct SchemaValidationIssue {
    /// Where in the result.
    pub path: String,
    /// What the schema expected.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub expected: Nullable<Value>,
    /// What the result held.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub received: Nullable<Value>,
    /// A readable description.
    pub message: String,
    /// Fields this version of runhook does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

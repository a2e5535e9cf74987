//! Building the validators and collecting violations.

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// The webhook envelope schema (`webhook.schema.json`, the `$id` [`WEBHOOK_SCHEMA_ID`]).
pub const WEBHOOK_SCHEMA: &str = include_str!("../schema/webhook.schema.json");
/// The run object schema (`run.schema.json`, the `$id` [`RUN_SCHEMA_ID`]).
pub const RUN_SCHEMA: &str = include_str!("../schema/run.schema.json");
/// The `$id` of the webhook schema.
pub const WEBHOOK_SCHEMA_ID: &str = "https://runhook.dev/schema/webhook.schema.json";
/// The `$id` of the run schema, which the webhook schema references.
pub const RUN_SCHEMA_ID: &str = "https://runhook.dev/schema/run.schema.json";

/// Why the validators could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// A schema document is not JSON.
    #[error("the {name} schema is not valid JSON: {message}")]
    NotJson {
        /// Which schema (`webhook` or `run`).
        name: &'static str,
        /// The parser's message.
        message: String,
    },
    /// A schema document is not a valid draft 2020-12 schema, or a reference does not resolve.
    #[error("the {name} schema cannot be compiled: {message}")]
    Invalid {
        /// Which schema (`webhook` or `run`).
        name: &'static str,
        /// The compiler's message.
        message: String,
    },
}

/// One place where a document breaks the schema.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// JSON pointer into the document (`""` is the whole document).
    pub pointer: String,
    /// What is wrong there.
    pub message: String,
}

/// Compiled validators for the webhook envelope and the run object. Build once, reuse.
pub struct SchemaValidator {
    webhook: Validator,
    run: Validator,
}

impl std::fmt::Debug for SchemaValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaValidator").finish_non_exhaustive()
    }
}

impl SchemaValidator {
    /// Compiles the schemas embedded in this crate.
    pub fn embedded() -> Result<Self, SchemaError> {
        let webhook = parse("webhook", WEBHOOK_SCHEMA)?;
        let run = parse("run", RUN_SCHEMA)?;
        Self::from_documents(&webhook, &run)
    }

    /// Compiles the given schema documents (for tools that read them from disk). The webhook
    /// schema may reference the run schema by its `$id`; nothing is fetched over the network.
    pub fn from_documents(webhook: &Value, run: &Value) -> Result<Self, SchemaError> {
        let invalid = |name| {
            move |err: &dyn std::fmt::Display| SchemaError::Invalid {
                name,
                message: err.to_string(),
            }
        };
        let registry = Registry::new()
            .add(RUN_SCHEMA_ID, run.clone())
            .and_then(|builder| builder.prepare())
            .map_err(|e| invalid("run")(&e))?;
        let build = |name, schema: &Value| {
            jsonschema::options()
                .with_draft(Draft::Draft202012)
                .should_validate_formats(true)
                .with_registry(&registry)
                .offline()
                .build(schema)
                .map_err(|e| invalid(name)(&e))
        };
        Ok(SchemaValidator {
            webhook: build("webhook", webhook)?,
            run: build("run", run)?,
        })
    }

    /// Every violation of the webhook schema in `instance` (empty when it is valid).
    pub fn validate_webhook(&self, instance: &Value) -> Vec<SchemaViolation> {
        violations(&self.webhook, instance)
    }

    /// Every violation of the run schema (the full run of `GET /v1/runs/{id}`) in `instance`.
    pub fn validate_run(&self, instance: &Value) -> Vec<SchemaViolation> {
        violations(&self.run, instance)
    }
}

fn parse(name: &'static str, text: &str) -> Result<Value, SchemaError> {
    serde_json::from_str(text).map_err(|err| SchemaError::NotJson {
        name,
        message: err.to_string(),
    })
}

fn violations(validator: &Validator, instance: &Value) -> Vec<SchemaViolation> {
    validator
        .iter_errors(instance)
        .map(|err| SchemaViolation {
            pointer: err.instance_path().as_str().to_owned(),
            message: err.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn embedded_schemas_compile_and_judge() {
        let validator = SchemaValidator::embedded().unwrap();
        let good = json!({"event": "run.failed", "run_id": "run-2", "status": "FAILED",
            "data": {"error": {"message": "Site blocked access", "category": "AGENT_FAILURE"}, "result": null}});
        assert_eq!(validator.validate_webhook(&good), vec![]);
        let bad = json!({"event": "run.failed", "run_id": "run 2", "status": "FAILED",
            "data": {"created_at": "yesterday"}});
        let pointers: Vec<_> = validator
            .validate_webhook(&bad)
            .into_iter()
            .map(|v| v.pointer)
            .collect();
        assert!(pointers.contains(&"/run_id".to_owned()), "{pointers:?}");
        assert!(
            pointers.contains(&"/data/created_at".to_owned()),
            "{pointers:?}"
        );
    }
}

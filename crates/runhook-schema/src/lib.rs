//! # runhook-schema
//!
//! The JSON Schema (draft 2020-12) of the TinyFish webhook envelope and run object, embedded in
//! the crate ([`WEBHOOK_SCHEMA`], [`RUN_SCHEMA`]), with an offline validator that reports every
//! violation with its JSON pointer. The same files are published in the repository's
//! [`docs/schema/`](https://github.com/runhook/runhook/tree/main/docs/schema), for tools in other
//! languages.
//!
//! The schema is the strict reading of the documentation (exact enums, RFC 3339 timestamps); the
//! typed parser in the `runhook` crate is the lenient one used at run time.
//!
//! ```
//! let validator = runhook_schema::SchemaValidator::embedded()?;
//! let body = serde_json::json!({"event": "run.completed", "run_id": "r1", "status": "FAILED", "data": {}});
//! let violations = validator.validate_webhook(&body);
//! assert!(!violations.is_empty());
//! # Ok::<(), runhook_schema::SchemaError>(())
//! ```

mod validator;

pub use validator::{
    RUN_SCHEMA, RUN_SCHEMA_ID, SchemaError, SchemaValidator, SchemaViolation, WEBHOOK_SCHEMA,
    WEBHOOK_SCHEMA_ID,
};

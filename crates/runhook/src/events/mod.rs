//! The typed webhook envelope and run model (PROTOCOL.md §1–2).
//!
//! Parsing is lenient where TinyFish may grow (unknown fields are kept, unknown enum values and
//! event types are kept verbatim) and strict where a wrong value means a broken sender (wrong
//! types, bad run ids, bad timestamps, inconsistent envelopes).

mod browser_config;
mod event;
mod event_error;
mod nullable;
mod run;
mod run_error;
mod run_id;
mod schema_validation;
mod status;
mod step;
mod string_enum;
mod timestamp;

pub use browser_config::BrowserConfig;
pub use event::{BuildError, Event, RunEvent, UnknownEvent};
pub use event_error::{Check, EventError};
pub use nullable::Nullable;
pub use run::Run;
pub use run_error::{ErrorCategory, RunError};
pub use run_id::{RunId, RunIdError};
pub use schema_validation::{SchemaValidation, SchemaValidationIssue};
pub use status::{EventType, RunStatus};
pub use step::Step;
pub use timestamp::{Timestamp, TimestampError};

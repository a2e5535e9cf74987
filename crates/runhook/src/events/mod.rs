//! The typed webhook envelope and run model.
//!
//! Parsing keeps what TinyFish may grow (unknown fields, unknown enum values and unknown event
//! types are kept verbatim). Two parses differ in what a wrong value inside `data` does:
//!
//! - [`Event::from_slice`] (and `from_value`, serde's `Deserialize`) is strict: any wrong type,
//!   bad run id, bad timestamp or inconsistent envelope is an [`EventError`]. Validation and a
//!   sender's pre-send check use it.
//! - [`Event::from_slice_lenient`] refuses only a broken envelope (the body not an object;
//!   `event`, `run_id`, `status` missing or not strings; an invalid `run_id`; `data` missing or not
//!   an object; event ⇔ status broken; `data.run_id` or `data.status` contradicting the envelope;
//!   a key repeated outside `data`). Any other value inside `data` that does not have its
//!   documented type is *drift*: it is left out of the typed [`Run`] (it reads as absent, never
//!   as a wrong value), reported as a [`DriftProblem`] with a pointer into the received body, and
//!   the received `data` is kept in [`Drift::raw_data`]. A receiver uses it by default, since
//!   refusing such a body would lose the run for good.

mod browser_config;
mod drift;
mod duplicate_keys;
mod event;
mod event_error;
mod lenient;
mod nullable;
mod run;
mod run_error;
mod run_id;
mod schema_validation;
mod status;
mod step;
pub(crate) mod string_enum;
mod timestamp;

pub use browser_config::BrowserConfig;
pub use drift::{Drift, DriftProblem};
#[allow(deprecated)]
pub use event::BuildError;
pub use event::{Event, EventBuildError, RunEvent, UnknownEvent};
pub use event_error::{Check, EventError};
pub(crate) use lenient::parse as parse_lenient;
pub use nullable::Nullable;
pub use run::Run;
pub use run_error::{ErrorCategory, RunError};
pub use run_id::{RunId, RunIdError};
pub use schema_validation::{SchemaValidation, SchemaValidationIssue};
pub use status::{EventType, RunStatus};
pub use step::Step;
pub use timestamp::{Timestamp, TimestampError};

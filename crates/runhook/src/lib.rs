//! # runhook
//!
//! The protocol core of runhook: everything about TinyFish-style agent-run webhooks that does not
//! need IO. No sockets, no clock, no sleeping, no randomness: time and seeds are arguments, so
//! every behaviour is a pure function you can test on a virtual clock.
//!
//! - [`events`]: the typed envelope and run model, lossless and forward compatible.
//!
//! ```
//! use runhook::{Event, ErrorCategory};
//!
//! let body = br#"{
//!   "event": "run.failed",
//!   "run_id": "run-2",
//!   "status": "FAILED",
//!   "data": { "error": { "message": "Site blocked access", "category": "AGENT_FAILURE" },
//!             "result": null }
//! }"#;
//!
//! match Event::from_slice(body)? {
//!     Event::Completed(run) => println!("{} done: {:?}", run.run_id, run.data.result),
//!     Event::Failed(run) => {
//!         let error = run.data.error.value().expect("documented failure carries an error");
//!         assert_eq!(error.message, "Site blocked access");
//!         assert_eq!(error.category.value(), Some(&ErrorCategory::AgentFailure));
//!     }
//!     Event::Cancelled(run) => println!("{} cancelled", run.run_id),
//!     other => println!("an event this version does not know: {}", other.name()),
//! }
//! # Ok::<(), runhook::EventError>(())
//! ```

pub mod events;

pub use events::{
    BrowserConfig, BuildError, Check, ErrorCategory, Event, EventError, EventType, Nullable, Run,
    RunError, RunEvent, RunId, RunIdError, RunStatus, SchemaValidation, SchemaValidationIssue,
    Step, Timestamp, TimestampError, UnknownEvent,
};

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

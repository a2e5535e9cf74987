//! # runhook
//!
//! The protocol core of runhook: everything about TinyFish-style agent-run webhooks that does not
//! need IO. No sockets, no clock, no sleeping, no randomness: time and seeds are arguments, so
//! every behaviour is a pure function you can test on a virtual clock.
//!
//! - [`events`]: the typed envelope and run model, lossless and forward compatible.
//! - [`api`]: the runs API's wire vocabulary beside the run: error codes and envelope, cancel
//!   answers, `/run-sse` frame types, list pages, batch and creation answers.
//! - [`delivery`]: sending: the retry policy and the delivery state machine (drain contract).
//! - [`endpoint`]: where a sender may deliver: webhook URL rules and IP-address classes.
//! - [`receive`](mod@receive): receiving: from an HTTP request to an accepted event or a
//!   rejection.
//! - [`store`]: the idempotency store: claim, complete, release, with leases and retention.
//! - [`inbox`]: the inbox: events stored on receipt, then processed with retries by workers.
//! - [`reconcile`]: the runs API as a second path: the watermark and watch list a sweep keeps,
//!   and the [`Source`] of an event (a webhook, or recovered by a sweep).
//! - [`outcome`]: the handler contract and the status code of every way a delivery ends.
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

pub mod api;
pub mod delivery;
pub mod endpoint;
pub mod events;
pub mod inbox;
pub mod outcome;
pub mod receive;
pub mod reconcile;
pub mod store;

#[allow(deprecated)]
pub use events::BuildError;
pub use events::{
    BrowserConfig, Check, Drift, DriftProblem, ErrorCategory, Event, EventBuildError, EventError,
    EventType, Nullable, Run, RunError, RunEvent, RunId, RunIdError, RunStatus, SchemaValidation,
    SchemaValidationIssue, Step, Timestamp, TimestampError, UnknownEvent,
};

// The crate root holds what a typical user names; the rest stays in its module.
pub use delivery::RetryPolicy;
pub use endpoint::{AddressPolicy, WebhookUrl};
pub use outcome::{HandlerOutcome, ReceiveOutcome};
pub use receive::{Rejection, RequestChecks, UrlToken, Verdict, receive};
pub use reconcile::Source;
pub use store::{IdempotencyStore, KeyStrategy, MemoryStore, StoreError};

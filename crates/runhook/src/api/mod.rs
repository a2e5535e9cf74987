//! The TinyFish runs API's wire vocabulary, shared by the API client (`runhook-tinyfish`) and
//! the emulator (`runhook-emulator`), so the two spell it from one list: the error codes and
//! the error envelope, the answer of a cancel request, the types of the `/run-sse` frames, and
//! the shapes around runs: a page of `GET /v1/runs` ([`ListPage`]), the batch read and cancel
//! ([`RunIds`], [`BatchRuns`], [`BatchCancelOutcomes`]) and the answers of the creating
//! endpoints ([`RunCreated`], [`RunsCreated`]).
//!
//! The run object itself is [`Run`](crate::Run).

mod batch;
mod cancel;
mod created;
mod envelope;
mod error_code;
mod frames;
mod list;
mod null;

pub use batch::{BatchCancelOutcomes, BatchRuns, RunIds};
pub use cancel::CancelOutcome;
pub use created::{RunCreated, RunsCreated};
pub use envelope::{ErrorEnvelope, ErrorObject};
pub use error_code::ApiErrorCode;
pub use frames::FrameType;
pub use list::{ListPage, Pagination};

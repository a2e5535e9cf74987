//! The TinyFish runs API's wire vocabulary, shared by the API client (`runhook-tinyfish`) and
//! the emulator (`runhook-emulator`), so the two spell it from one list: the error codes and
//! the error envelope, the answer of a cancel request, and the types of the `/run-sse` frames.
//!
//! The run object itself is [`Run`](crate::Run).

mod cancel;
mod envelope;
mod error_code;
mod frames;

pub use cancel::CancelOutcome;
pub use envelope::{ErrorEnvelope, ErrorObject};
pub use error_code::ApiErrorCode;
pub use frames::FrameType;

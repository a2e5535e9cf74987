//! # runhook-tinyfish
//!
//! A typed async client of the TinyFish runs API, over reqwest (rustls). Runs from the API are
//! the core's [`runhook::Run`], the same type a webhook carries, read leniently (a field with an
//! unexpected type reads as absent and is logged, never fails the call).
//!
//! | call | endpoint | retried |
//! |---|---|---|
//! | [`Client::create_run`] | `POST /v1/automation/run` (blocks until the run ends) | never |
//! | [`Client::create_run_async`] | `POST /v1/automation/run-async` | never |
//! | [`Client::create_runs`] | `POST /v1/automation/run-batch` (1–100, all or none) | never |
//! | [`Client::stream_run`] | `POST /v1/automation/run-sse` (a [`Stream`](futures::Stream) of [`StreamEvent`]s) | never |
//! | [`Client::get_run`], [`Client::get_run_with_screenshots`] | `GET /v1/runs/{id}` | yes |
//! | [`Client::list_runs`], [`Client::list_all_runs`] | `GET /v1/runs` (one page; every page) | yes |
//! | [`Client::cancel_run`] | `POST /v1/runs/{id}/cancel` (idempotent) | yes |
//! | [`Client::get_runs`] | `POST /v1/runs/batch` | yes |
//! | [`Client::cancel_runs`] | `POST /v1/runs/batch/cancel` | yes |
//!
//! Retried calls follow the client's [`RetryPolicy`](runhook::RetryPolicy) through the core's
//! delivery state machine: 429, 5xx, network errors and timeouts are retried, `Retry-After` is
//! honoured. Errors are [`Error`]; an error answer of the API is an [`ApiError`] with its
//! [`ApiErrorCode`], message, details and status.
//!
//! Configuration: [`Client::from_env`] reads `TINYFISH_API_KEY` and `TINYFISH_BASE_URL`
//! (default `https://agent.tinyfish.ai`); [`Client::builder`] sets them, the timeouts and the
//! retry policy explicitly.
//!
//! With the `confirm` feature (on by default) the client is a
//! [`RunConfirmer`](runhook_receiver::RunConfirmer): confirm every webhook by API in a
//! runhook-receiver with `ReceiverBuilder::confirm_with(Arc::new(client))`.
//!
//! With the `reconcile` feature (on by default) the client is a
//! [`RunSource`](runhook_receiver::reconcile::RunSource): the runs a
//! [`Reconciler`](runhook_receiver::reconcile::Reconciler) sweeps for webhooks that never arrived.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use runhook::RunStatus;
//! use runhook_tinyfish::{Client, ListRuns, RunRequest};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder()
//!     .base_url("http://127.0.0.1:8787") // `runhook emulate`, say
//!     .api_key("test-key")
//!     .build()?;
//! let run_id = client
//!     .create_run_async(
//!         &RunRequest::new("https://example.com", "Extract the page title")
//!             .webhook_url("https://hooks.example.com/tinyfish"),
//!     )
//!     .await?;
//! let run = client.get_run(&run_id).await?;
//! println!("{run_id} is {:?}", run.status);
//! let done: Vec<_> = client
//!     .list_all_runs(ListRuns::new().status(RunStatus::Completed))
//!     .try_collect()
//!     .await?;
//! println!("{} completed runs", done.len());
//! # Ok(()) }
//! ```

mod automation;
mod client;
#[cfg(feature = "confirm")]
mod confirm;
mod error;
#[cfg(feature = "reconcile")]
mod reconcile;
mod request;
mod response;
mod runs;
mod sse;
mod transport;

pub use automation::MAX_BATCH;
pub use client::{Client, ClientBuilder};
pub use error::{ApiError, BuildError, Error};
pub use request::{BrowserProfile, ListRuns, ProxyConfig, RunRequest, SortDirection};
pub use response::{CancelBatch, RunPage, RunsBatch};
/// The code of an API error (one list with the emulator's, in the core).
pub use runhook::api::ApiErrorCode;
/// The answer of a cancel request (the core's wire type).
pub use runhook::api::CancelOutcome;
pub use sse::{
    Complete, Heartbeat, Progress, RunEventStream, Started, StreamEvent, StreamingUrl, UnknownFrame,
};

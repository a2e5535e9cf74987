//! [`RunSource`]: where a reconciler reads runs (the runs API; `runhook-tinyfish`'s client
//! implements it).

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use runhook::{Run, RunId};

/// One page of runs listed by creation time, oldest first.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct RunsPage {
    /// The runs of the page (a listing may leave out `steps`; the reconciler fetches runs in
    /// full before it sends them).
    pub runs: Vec<Run>,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
}

impl RunsPage {
    /// A page of `runs`, followed by the page at `next_cursor` if there is one.
    pub fn new(runs: Vec<Run>, next_cursor: Option<String>) -> Self {
        RunsPage { runs, next_cursor }
    }
}

/// Why a read of the runs API failed (after the client's own retries).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceError {
    /// What went wrong, with no secret in it.
    pub message: String,
    /// How long the API asked to wait (`Retry-After` of a 429 or 503), if it said.
    pub retry_after: Option<Duration>,
}

impl SourceError {
    /// An error with `message`.
    pub fn new(message: impl Into<String>) -> Self {
        SourceError {
            message: message.into(),
            retry_after: None,
        }
    }

    /// The same error, with the wait the API asked for.
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.retry_after = Some(retry_after);
        self
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SourceError {}

/// Where a [`Reconciler`](super::Reconciler) reads runs: `GET /v1/runs` filtered by creation
/// time, and `POST /v1/runs/batch`. `runhook_tinyfish::Client` implements it; reads are retried
/// by the implementation's own policy (429 and `Retry-After` included) before an error comes
/// back.
#[async_trait]
pub trait RunSource: Send + Sync {
    /// One page of the runs created after `after` (exclusive), oldest first, at most `limit`
    /// (1–100), from `cursor` (`None`: the first page).
    async fn list_created_after(
        &self,
        after: SystemTime,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RunsPage, SourceError>;

    /// The runs `run_ids` (at most 100) in full, steps included; ids the API does not know are
    /// left out.
    async fn get_runs(&self, run_ids: &[RunId]) -> Result<Vec<Run>, SourceError>;
}

//! The answer of a cancel request.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{RunId, RunStatus, Timestamp};

/// What `POST /v1/runs/{id}/cancel` answers (and each result of a batch cancel). Cancelling is
/// idempotent: a run already cancelled or finished answers with its status and a `message`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CancelOutcome {
    /// The run.
    pub run_id: RunId,
    /// Its status now: `CANCELLED`, or the terminal status it had already reached.
    pub status: RunStatus,
    /// When it was cancelled; `None` if it was not (it had finished).
    #[serde(default)]
    pub cancelled_at: Option<Timestamp>,
    /// More about the outcome, e.g. "Run already cancelled" or "Run already finished".
    #[serde(default)]
    pub message: Option<String>,
    /// Fields this version does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl CancelOutcome {
    /// An answer for run `run_id`, now in `status`, with nothing beyond the documented fields.
    pub fn new(
        run_id: RunId,
        status: RunStatus,
        cancelled_at: Option<Timestamp>,
        message: Option<String>,
    ) -> Self {
        CancelOutcome {
            run_id,
            status,
            cancelled_at,
            message,
            extra: Map::new(),
        }
    }

    /// The message for a run that was already cancelled.
    pub const ALREADY_CANCELLED: &'static str = "Run already cancelled";
    /// The message for a run that had already finished.
    pub const ALREADY_FINISHED: &'static str = "Run already finished";

    /// Whether the run is cancelled now (by this call or an earlier one).
    pub fn is_cancelled(&self) -> bool {
        self.status == RunStatus::Cancelled
    }
}

//! A run and its parts, as stored (in memory, or as JSON in SQLite).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::scenario::FaultPlan;

/// A run's lifecycle status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum RunStatus {
    Pending,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    /// Every status, in lifecycle order.
    pub(crate) const ALL: [RunStatus; 5] = [
        RunStatus::Pending,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RunStatus::Pending => "PENDING",
            RunStatus::Running => "RUNNING",
            RunStatus::Completed => "COMPLETED",
            RunStatus::Failed => "FAILED",
            RunStatus::Cancelled => "CANCELLED",
        }
    }

    pub(crate) fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == text)
    }

    /// COMPLETED, FAILED and CANCELLED never change.
    pub(crate) fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }

    /// The webhook event of a terminal status.
    pub(crate) fn event(self) -> Option<&'static str> {
        match self {
            RunStatus::Completed => Some("run.completed"),
            RunStatus::Failed => Some("run.failed"),
            RunStatus::Cancelled => Some("run.cancelled"),
            RunStatus::Pending | RunStatus::Running => None,
        }
    }
}

/// Which endpoint created the run (runs from `/run` cannot be cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Origin {
    Sync,
    Async,
    Sse,
    Batch,
}

/// One agent step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Step {
    pub(crate) id: String,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) timestamp: OffsetDateTime,
    pub(crate) status: RunStatus,
    pub(crate) action: String,
    pub(crate) duration_ms: u64,
}

/// A run's error object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ErrorInfo {
    pub(crate) category: String,
    pub(crate) message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) retry_after: Option<u64>,
}

/// A run, with what the API shows and what the emulator needs to go on with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Run {
    pub(crate) run_id: String,
    /// Creation order, for listing and cursors.
    pub(crate) seq: u64,
    pub(crate) status: RunStatus,
    pub(crate) goal: String,
    pub(crate) url: String,
    pub(crate) origin: Origin,
    #[serde(with = "time::serde::rfc3339")]
    pub(crate) created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) finished_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub(crate) cancelled_at: Option<OffsetDateTime>,
    pub(crate) result: Option<Value>,
    pub(crate) error: Option<ErrorInfo>,
    pub(crate) streaming_url: Option<String>,
    pub(crate) proxy_enabled: Option<bool>,
    pub(crate) proxy_country_code: Option<String>,
    pub(crate) output_schema: Option<Value>,
    pub(crate) webhook_url: Option<String>,
    pub(crate) steps: Vec<Step>,
    /// The webhook faults scripted for this run.
    #[serde(default)]
    pub(crate) faults: FaultPlan,
}

impl Run {
    /// Whether a cancel request may stop this run (created by `/run-async`, `/run-sse` or
    /// `/run-batch`, and not finished).
    pub(crate) fn cancellable(&self) -> bool {
        self.origin != Origin::Sync && !self.status.is_terminal()
    }
}

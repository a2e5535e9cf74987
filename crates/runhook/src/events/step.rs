//! One action the agent took.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Nullable, RunStatus, Timestamp};

/// One action the agent took during a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "a step object")]
#[non_exhaustive]
pub struct Step {
    /// The step id (a UUID or `evt_…`).
    pub id: String,
    /// When the step happened.
    pub timestamp: Timestamp,
    /// The run status at this step.
    pub status: RunStatus,
    /// What the agent did, e.g. `Navigate to https://example.com`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub action: Nullable<String>,
    /// A `data:image/jpeg;base64,…` URL; always `null` in webhooks.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub screenshot: Nullable<String>,
    /// How long the step took, e.g. `"1.2s"`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub duration: Nullable<String>,
    /// Fields this version of runhook does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Step {
    /// A step with the required fields and nothing else.
    pub fn new(id: impl Into<String>, timestamp: Timestamp, status: RunStatus) -> Self {
        Step {
            id: id.into(),
            timestamp,
            status,
            action: Nullable::Absent,
            screenshot: Nullable::Absent,
            duration: Nullable::Absent,
            extra: Map::new(),
        }
    }
}

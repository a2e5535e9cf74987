//! The run object (`GET /v1/runs/{id}`, and a webhook's `data`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::nullable::{Nullable, non_null};
use super::{BrowserConfig, RunError, RunId, RunStatus, SchemaValidation, Step, Timestamp};

/// A run: one browser-agent execution of a goal on a URL.
///
/// In a webhook every field is optional, because `data` may be partial (the documented failure
/// example carries only `error` and `result`). Fields TinyFish sends as `null` are
/// [`Nullable`], so absent and `null` stay distinct, and fields runhook does not know are kept in
/// [`Run::extra`]; serializing gives back the document that was parsed.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(expecting = "a run object")]
#[non_exhaustive]
pub struct Run {
    /// The run id.
    #[serde(
        default,
        deserialize_with = "non_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub run_id: Option<RunId>,
    /// The run status.
    #[serde(
        default,
        deserialize_with = "non_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<RunStatus>,
    /// The goal given to the agent.
    #[serde(
        default,
        deserialize_with = "non_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub goal: Option<String>,
    /// When the run was created (never `null`).
    #[serde(
        default,
        deserialize_with = "non_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<Timestamp>,
    /// When the browser started, or `null` if it never did.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub started_at: Nullable<Timestamp>,
    /// When the run finished, or `null` while in progress.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub finished_at: Nullable<Timestamp>,
    /// How many steps the agent took; `null` while in progress.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub num_of_steps: Nullable<u64>,
    /// The extracted data (free-form object), or `null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub result: Nullable<Map<String, Value>>,
    /// Why the run failed, or `null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub error: Nullable<RunError>,
    /// The live browser view, or `null`. Old payloads spell it `streamingUrl` (kept in
    /// [`Run::extra`]); [`Run::streaming_url`] reads either.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub streaming_url: Nullable<String>,
    /// The browser's proxy settings, or `null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub browser_config: Nullable<BrowserConfig>,
    /// The actions the agent took.
    #[serde(
        default,
        deserialize_with = "non_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub steps: Option<Vec<Step>>,
    /// Output-schema validation of the result, or `null`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub schema_validation: Nullable<SchemaValidation>,
    /// A recording of the run, where offered.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub video_url: Nullable<String>,
    /// The JSON Schema the result was asked to follow, where given.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub output_schema: Nullable<Map<String, Value>>,
    /// Whether a browser profile was attached, where reported.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub profile_attached: Nullable<bool>,
    /// The attached browser profile, where reported.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub profile_id: Nullable<String>,
    /// Fields this version of runhook does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Run {
    /// The legacy spelling of `streaming_url`.
    pub const LEGACY_STREAMING_URL: &'static str = "streamingUrl";

    /// An empty run with only an id and a status, for building events and tests.
    pub fn new(run_id: RunId, status: RunStatus) -> Self {
        Run {
            run_id: Some(run_id),
            status: Some(status),
            ..Run::default()
        }
    }

    /// The live-view URL, under either spelling (`streaming_url`, or the legacy `streamingUrl`).
    pub fn streaming_url(&self) -> Option<&str> {
        self.streaming_url.value().map(String::as_str).or_else(|| {
            self.extra
                .get(Self::LEGACY_STREAMING_URL)
                .and_then(Value::as_str)
        })
    }

    /// Sets every step's screenshot to `null`: webhook payloads never carry screenshots.
    pub fn strip_screenshots(&mut self) {
        for step in self.steps.iter_mut().flatten() {
            step.screenshot = Nullable::Null;
        }
    }
}

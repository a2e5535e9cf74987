//! A run as the emulator keeps it: the core's run object ([`runhook::Run`], exactly what
//! `GET /v1/runs/{id}` shows without screenshots) and what only the emulator needs to go on
//! with it (stored in memory, or as JSON in SQLite).

use runhook::{
    BrowserConfig, ErrorCategory, Nullable, RunError, RunId, RunStatus, SchemaValidation, Timestamp,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::scenario::FaultPlan;

/// Which endpoint created the run (runs from `/run` cannot be cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Origin {
    Sync,
    Async,
    Sse,
    Batch,
}

/// The status of a run that has none (never the case of a run the emulator made).
static NO_STATUS: RunStatus = RunStatus::Pending;

/// A run and the emulator's bookkeeping of it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredRun {
    /// The run object. Its `run_id`, `status`, `goal` and `created_at` are always set; the
    /// fields the API shows as `null` are [`Nullable::Null`], never absent.
    pub(crate) run: runhook::Run,
    /// Creation order, for listing and cursors.
    pub(crate) seq: u64,
    /// The URL the agent was sent to.
    pub(crate) url: String,
    pub(crate) origin: Origin,
    #[serde(default)]
    pub(crate) webhook_url: Option<String>,
    /// When a cancel request (or the run's script) cancelled it.
    #[serde(default)]
    pub(crate) cancelled_at: Option<Timestamp>,
    /// The webhook faults scripted for this run.
    #[serde(default)]
    pub(crate) faults: FaultPlan,
}

/// What a new run is made of.
pub(crate) struct NewRun {
    pub(crate) run_id: RunId,
    pub(crate) goal: String,
    pub(crate) created_at: Timestamp,
    pub(crate) proxy_enabled: Option<bool>,
    pub(crate) proxy_country_code: Option<String>,
    /// Always an object (a boolean schema is kept as its object equivalent).
    pub(crate) output_schema: Option<Value>,
}

impl NewRun {
    /// The run object of the new PENDING run: what the API shows as `null` is `null`, not
    /// absent; `output_schema` is shown only when given.
    pub(crate) fn run_object(self) -> runhook::Run {
        let mut browser = BrowserConfig::default();
        browser.proxy_enabled = self.proxy_enabled.into();
        browser.proxy_country_code = self.proxy_country_code.into();
        let mut run = runhook::Run::new(self.run_id, RunStatus::Pending);
        run.goal = Some(self.goal);
        run.created_at = Some(self.created_at);
        run.started_at = Nullable::Null;
        run.finished_at = Nullable::Null;
        run.num_of_steps = Nullable::Null;
        run.result = Nullable::Null;
        run.error = Nullable::Null;
        run.streaming_url = Nullable::Null;
        run.browser_config = Nullable::Value(browser);
        run.steps = Some(Vec::new());
        run.schema_validation = Nullable::Null;
        run.video_url = Nullable::Null;
        run.output_schema = match self.output_schema {
            Some(Value::Object(schema)) => Nullable::Value(schema),
            Some(_) => Nullable::Null,
            None => Nullable::Absent,
        };
        run
    }
}

impl StoredRun {
    /// The run id (`""` only for a run object without one, which the emulator never makes).
    pub(crate) fn id(&self) -> &str {
        self.run.run_id.as_ref().map_or("", RunId::as_str)
    }

    /// The run status.
    pub(crate) fn status(&self) -> &RunStatus {
        self.run.status.as_ref().unwrap_or(&NO_STATUS)
    }

    /// The goal given to the agent.
    pub(crate) fn goal(&self) -> &str {
        self.run.goal.as_deref().unwrap_or_default()
    }

    /// Whether the run object holds what the emulator relies on (id, status, creation time):
    /// a stored row without them is not one of the emulator's runs.
    pub(crate) fn is_sound(&self) -> bool {
        self.run.run_id.is_some() && self.run.status.is_some() && self.run.created_at.is_some()
    }

    /// Sets the status, and `num_of_steps` with it (`null` while the run is in progress).
    pub(crate) fn set_status(&mut self, status: RunStatus) {
        self.run.num_of_steps = if status.is_terminal() {
            let steps = self.run.steps.as_ref().map_or(0, Vec::len);
            Nullable::Value(u64::try_from(steps).unwrap_or(u64::MAX))
        } else {
            Nullable::Null
        };
        self.run.status = Some(status);
    }

    /// Completes the run with `result`; with an output schema, the result is shown as valid.
    pub(crate) fn complete(&mut self, result: Map<String, Value>) {
        self.set_status(RunStatus::Completed);
        self.run.result = Nullable::Value(result);
        if self.run.output_schema.value().is_some() {
            self.run.schema_validation =
                Nullable::Value(SchemaValidation::new(true, 0, Vec::new()));
        }
    }

    /// Whether a cancel request may stop this run (created by `/run-async`, `/run-sse` or
    /// `/run-batch`, and not finished).
    pub(crate) fn cancellable(&self) -> bool {
        self.origin != Origin::Sync && !self.status().is_terminal()
    }
}

/// A scripted run's error, as the run object shows it: `retry_after` is always there, `null`
/// when the script gives none (as TinyFish's run object does, and the TypeScript SDK requires).
pub(crate) fn run_error(
    category: &str,
    message: String,
    code: Option<String>,
    retry_after: Option<u64>,
) -> RunError {
    let mut error = RunError::new(message);
    error.category = Nullable::Value(ErrorCategory::from_wire(category));
    error.code = code.map_or(Nullable::Absent, Nullable::Value);
    error.retry_after = retry_after.map_or(Nullable::Null, |secs| Nullable::Value(secs.into()));
    error
}

//! Rows written by emulators before the run object was the core's [`runhook::Run`]: the run
//! was one flat object (`run_id`, `seq`, `status`, ..., `steps` with `duration_ms`,
//! `faults`). They are read into today's [`StoredRun`], showing exactly what they showed.

use std::time::Duration;

use runhook::{Nullable, RunError, RunId, RunStatus, Step};
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::model::{NewRun, Origin, StoredRun, run_error};
use crate::scenario::FaultPlan;
use crate::timefmt;

/// A run as older versions stored it.
#[derive(Deserialize)]
pub(super) struct LegacyRun {
    run_id: RunId,
    seq: u64,
    status: RunStatus,
    goal: String,
    url: String,
    origin: Origin,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    started_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    finished_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    cancelled_at: Option<OffsetDateTime>,
    result: Option<Value>,
    error: Option<LegacyError>,
    streaming_url: Option<String>,
    proxy_enabled: Option<bool>,
    proxy_country_code: Option<String>,
    output_schema: Option<Value>,
    webhook_url: Option<String>,
    steps: Vec<LegacyStep>,
    #[serde(default)]
    faults: FaultPlan,
}

#[derive(Deserialize)]
struct LegacyStep {
    id: String,
    #[serde(with = "time::serde::rfc3339")]
    timestamp: OffsetDateTime,
    status: RunStatus,
    action: String,
    duration_ms: u64,
}

#[derive(Deserialize)]
struct LegacyError {
    category: String,
    message: String,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    retry_after: Option<u64>,
}

impl LegacyRun {
    /// The run as today's emulator keeps it.
    pub(super) fn into_stored(self) -> StoredRun {
        let mut run = NewRun {
            run_id: self.run_id,
            goal: self.goal,
            created_at: timefmt::stamp(self.created_at),
            proxy_enabled: self.proxy_enabled,
            proxy_country_code: self.proxy_country_code,
            output_schema: self.output_schema,
        }
        .run_object();
        let stamp = |t: Option<OffsetDateTime>| Nullable::from(t.map(timefmt::stamp));
        run.started_at = stamp(self.started_at);
        run.finished_at = stamp(self.finished_at);
        run.streaming_url = self.streaming_url.into();
        run.steps = Some(self.steps.into_iter().map(LegacyStep::into_step).collect());
        run.error = self.error.map(LegacyError::into_error).into();
        let mut stored = StoredRun {
            run,
            seq: self.seq,
            url: self.url,
            origin: self.origin,
            webhook_url: self.webhook_url,
            cancelled_at: self.cancelled_at.map(timefmt::stamp),
            faults: self.faults,
        };
        match (self.status, self.result) {
            (RunStatus::Completed, Some(Value::Object(result))) => stored.complete(result),
            (status, result) => {
                stored.set_status(status);
                stored.run.result = match result {
                    Some(Value::Object(result)) => Nullable::Value(result),
                    _ => Nullable::Null,
                };
            }
        }
        stored
    }
}

impl LegacyStep {
    fn into_step(self) -> Step {
        let mut step = Step::new(self.id, timefmt::stamp(self.timestamp), self.status);
        step.action = Nullable::Value(self.action);
        step.screenshot = Nullable::Null;
        step.duration = Nullable::Value(timefmt::seconds(Duration::from_millis(self.duration_ms)));
        step
    }
}

impl LegacyError {
    fn into_error(self) -> RunError {
        run_error(&self.category, self.message, self.code, self.retry_after)
    }
}

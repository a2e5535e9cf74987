//! The JSON the API shows of a run: the run object, the list entry, the answer of `/run`, the
//! webhook (the core's `Event::from_run` of the run object) and the cancel answer.

use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::run::{Run, RunStatus, Step};
use crate::timefmt;

/// The screenshot shown for every step with `?screenshots=base64`: an 8×8 JPEG.
const SCREENSHOT: &str = concat!("data:image/jpeg;base64,", include_str!("screenshot.b64"));

fn time(t: Option<OffsetDateTime>) -> Value {
    t.map_or(Value::Null, |t| Value::String(timefmt::format(t)))
}

fn step(step: &Step, screenshots: bool) -> Value {
    json!({
        "id": step.id,
        "timestamp": timefmt::format(step.timestamp),
        "status": step.status.as_str(),
        "action": step.action,
        "screenshot": if screenshots { Value::String(SCREENSHOT.trim_end().to_owned()) } else { Value::Null },
        "duration": timefmt::seconds(Duration::from_millis(step.duration_ms)),
    })
}

fn num_of_steps(run: &Run) -> Value {
    if run.status.is_terminal() {
        json!(run.steps.len())
    } else {
        Value::Null
    }
}

fn schema_validation(run: &Run) -> Value {
    match (&run.output_schema, run.status) {
        (Some(_), RunStatus::Completed) => json!({
            "valid": true,
            "re_prompt_attempts": 0,
            "errors": [],
        }),
        _ => Value::Null,
    }
}

fn error(run: &Run) -> Value {
    run.error
        .as_ref()
        .and_then(|error| serde_json::to_value(error).ok())
        .unwrap_or(Value::Null)
}

/// The fields shared by the run object and the list entry.
fn common(run: &Run) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("run_id".into(), json!(run.run_id));
    object.insert("status".into(), json!(run.status.as_str()));
    object.insert("goal".into(), json!(run.goal));
    object.insert("created_at".into(), time(Some(run.created_at)));
    object.insert("started_at".into(), time(run.started_at));
    object.insert("finished_at".into(), time(run.finished_at));
    object.insert("num_of_steps".into(), num_of_steps(run));
    object.insert("result".into(), run.result.clone().unwrap_or(Value::Null));
    object.insert("error".into(), error(run));
    object.insert("streaming_url".into(), json!(run.streaming_url));
    object.insert(
        "browser_config".into(),
        json!({
            "proxy_enabled": run.proxy_enabled,
            "proxy_country_code": run.proxy_country_code,
        }),
    );
    object.insert("schema_validation".into(), schema_validation(run));
    if let Some(schema) = &run.output_schema {
        object.insert("output_schema".into(), schema.clone());
    }
    object
}

/// The run object of `GET /v1/runs/{id}` (and of the webhook's `data`, without screenshots).
pub(crate) fn run_object(run: &Run, screenshots: bool) -> Value {
    let mut object = common(run);
    let steps = run.steps.iter().map(|s| step(s, screenshots)).collect();
    object.insert("steps".into(), Value::Array(steps));
    object.insert("video_url".into(), Value::Null);
    Value::Object(object)
}

/// A run as `GET /v1/runs` lists it: no steps, no video URL.
pub(crate) fn run_summary(run: &Run) -> Value {
    Value::Object(common(run))
}

/// The answer of `POST /v1/automation/run`.
pub(crate) fn sync_response(run: &Run) -> Value {
    json!({
        "run_id": run.run_id,
        "status": run.status.as_str(),
        "started_at": time(run.started_at),
        "finished_at": time(run.finished_at),
        "num_of_steps": num_of_steps(run),
        "result": run.result.clone().unwrap_or(Value::Null),
        "schema_validation": schema_validation(run),
        "error": error(run),
    })
}

/// The webhook of a finished run, built by the core's [`runhook::Event::from_run`] from the run
/// object: why it cannot be built otherwise (a run in progress, a run object the core cannot
/// read).
pub(crate) fn webhook_event(run: &Run) -> Result<runhook::Event, String> {
    let data: runhook::Run =
        serde_json::from_value(run_object(run, false)).map_err(|e| e.to_string())?;
    runhook::Event::from_run(data).map_err(|e| e.to_string())
}

/// The answer of a cancel request for `run`, after it was handled.
pub(crate) fn cancel_response(run: &Run, message: Option<&str>) -> Value {
    json!({
        "run_id": run.run_id,
        "status": run.status.as_str(),
        "cancelled_at": time(run.cancelled_at),
        "message": message,
    })
}

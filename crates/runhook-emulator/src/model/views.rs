//! The JSON the API shows of a run: the run object (the stored [`runhook::Run`]), the list
//! entry, the answer of `/run`, the webhook (the core's `Event::from_run` of the run object) and
//! the cancel answer ([`runhook::api::CancelOutcome`]).

use runhook::Nullable;
use runhook::api::CancelOutcome;
use serde_json::{Map, Value};

use super::run::StoredRun;

/// The screenshot shown for every step with `?screenshots=base64`: an 8×8 JPEG.
const SCREENSHOT: &str = concat!("data:image/jpeg;base64,", include_str!("screenshot.b64"));

/// The fields of the run object that `/run` answers with.
const SYNC_FIELDS: [&str; 8] = [
    "run_id",
    "status",
    "started_at",
    "finished_at",
    "num_of_steps",
    "result",
    "schema_validation",
    "error",
];

fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The run object of `GET /v1/runs/{id}` (and of the webhook's `data`, without screenshots).
pub(crate) fn run_object(run: &StoredRun, screenshots: bool) -> Value {
    if !screenshots {
        return to_json(&run.run);
    }
    let mut shown = run.run.clone();
    for step in shown.steps.iter_mut().flatten() {
        step.screenshot = Nullable::Value(SCREENSHOT.trim_end().to_owned());
    }
    to_json(&shown)
}

/// The run object as a JSON map (empty if it somehow is not one).
fn object(run: &StoredRun) -> Map<String, Value> {
    match run_object(run, false) {
        Value::Object(object) => object,
        _ => Map::new(),
    }
}

/// A run as `GET /v1/runs` lists it: no steps, no video URL.
pub(crate) fn run_summary(run: &StoredRun) -> Value {
    let mut object = object(run);
    object.remove("steps");
    object.remove("video_url");
    Value::Object(object)
}

/// The answer of `POST /v1/automation/run`.
pub(crate) fn sync_response(run: &StoredRun) -> Value {
    let mut object = object(run);
    object.retain(|key, _| SYNC_FIELDS.contains(&key.as_str()));
    Value::Object(object)
}

/// The webhook of a finished run, built by the core's [`runhook::Event::from_run`]: why it
/// cannot be built otherwise (a run in progress).
pub(crate) fn webhook_event(run: &StoredRun) -> Result<runhook::Event, String> {
    runhook::Event::from_run(run.run.clone()).map_err(|e| e.to_string())
}

/// The answer of a cancel request for `run`, after it was handled.
pub(crate) fn cancel_response(run: &StoredRun, message: Option<&str>) -> Value {
    let Some(run_id) = run.run.run_id.clone() else {
        return Value::Null;
    };
    to_json(&CancelOutcome::new(
        run_id,
        run.status().clone(),
        run.cancelled_at.clone(),
        message.map(str::to_owned),
    ))
}

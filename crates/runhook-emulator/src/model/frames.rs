//! The frames of `/run-sse`: `data: {json}` with `type` STARTED, STREAMING_URL, PROGRESS,
//! HEARTBEAT and COMPLETE.

use runhook::api::FrameType;
use serde_json::{Value, json};

use super::run::StoredRun;
use crate::timefmt;

fn now() -> String {
    timefmt::format(timefmt::now())
}

pub(crate) fn started(run_id: &str) -> Value {
    json!({"type": FrameType::Started.as_str(), "run_id": run_id, "timestamp": now()})
}

pub(crate) fn streaming_url(run_id: &str, url: &str) -> Value {
    json!({"type": FrameType::StreamingUrl.as_str(), "run_id": run_id, "streaming_url": url, "timestamp": now()})
}

pub(crate) fn progress(run_id: &str, purpose: &str) -> Value {
    json!({"type": FrameType::Progress.as_str(), "run_id": run_id, "purpose": purpose, "timestamp": now()})
}

pub(crate) fn heartbeat() -> Value {
    json!({"type": FrameType::Heartbeat.as_str(), "timestamp": now()})
}

pub(crate) fn complete(run: &StoredRun) -> Value {
    json!({
        "type": FrameType::Complete.as_str(),
        "run_id": run.id(),
        "status": run.status().as_str(),
        "result": run.run.result,
        "error": run.run.error,
        "timestamp": now(),
    })
}

/// Whether `frame` is the last one of a stream.
pub(crate) fn is_complete(frame: &Value) -> bool {
    frame["type"] == FrameType::Complete.as_str()
}

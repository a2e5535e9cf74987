//! The emulator's own endpoints: `GET /_emulator/runs` (every run kept, with what created it
//! and its webhook) and `GET /_emulator/deliveries` (the webhook attempts kept), which require
//! the API key like `/v1` (webhook URLs may carry tokens); and `GET /_emulator/stream/{id}`
//! (the page a run's `streaming_url` points to), which a browser opens without one.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::api_error::{ApiError, json_response};
use crate::model::run_object;
use crate::state::Shared;

/// `GET /_emulator/runs`: a JSON list of run objects, each with `origin` (`sync`, `async`,
/// `sse`, `batch`), `webhook_url` and `webhook_faults`.
pub(super) async fn runs(State(shared): State<Arc<Shared>>) -> Response {
    let runs: Vec<Value> = shared
        .all()
        .iter()
        .map(|run| {
            let mut object = run_object(run, false);
            object["origin"] = json!(run.origin);
            object["webhook_url"] = json!(run.webhook_url);
            object["webhook_faults"] = json!(run.faults);
            object
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(runs))
}

/// `GET /_emulator/deliveries`: a JSON list of every webhook attempt, oldest first.
pub(super) async fn deliveries(State(shared): State<Arc<Shared>>) -> Response {
    json_response(StatusCode::OK, &json!(shared.deliveries()))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /_emulator/stream/{id}`: a small page standing in for the live browser view.
pub(super) async fn stream_page(
    State(shared): State<Arc<Shared>>,
    id: Option<Path<String>>,
) -> Response {
    let Some(run) = id.and_then(|Path(id)| shared.get(&id)) else {
        return ApiError::run_not_found().into_response();
    };
    let steps: String = run
        .run
        .steps
        .iter()
        .flatten()
        .map(|step| {
            let action = step.action.value().map_or("", String::as_str);
            format!("<li>{}</li>", escape(action))
        })
        .collect();
    let page = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Run {id}</title></head>\
         <body><h1>runhook emulator: live view</h1><p>Run {id} ({status})</p>\
         <p>Goal: {goal}</p><ol>{steps}</ol></body></html>",
        id = escape(run.id()),
        status = run.status().as_str(),
        goal = escape(run.goal()),
    );
    let mut response = (StatusCode::OK, page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

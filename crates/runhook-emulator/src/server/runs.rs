//! `GET /v1/runs/{id}`, `POST /v1/runs/{id}/cancel`, `POST /v1/runs/batch` and
//! `POST /v1/runs/batch/cancel`.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use runhook::api::{BatchCancelOutcomes, BatchRuns, CancelOutcome};
use serde_json::{Value, json};

use super::read_body;
use crate::api_error::{ApiError, Issue, json_response};
use crate::model::{cancel_response, run_object};
use crate::request::{body_json, check_run_ids};
use crate::state::{Cancel, Shared};
use crate::webhook;

/// The message of a cancel request for a run of `/run`.
const NOT_CANCELLABLE: &str =
    "Runs created with /v1/automation/run cannot be cancelled; use /run-async or /run-sse";

/// `GET /v1/runs/{id}?screenshots=base64|none`.
pub(super) async fn get_run(
    State(shared): State<Arc<Shared>>,
    id: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Response {
    let mut screenshots = false;
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if name == "screenshots" {
            match value.as_ref() {
                "base64" => screenshots = true,
                "none" => screenshots = false,
                _ => {
                    let issue =
                        Issue::invalid_option(vec![json!("screenshots")], &["base64", "none"]);
                    return ApiError::invalid(vec![issue]).into_response();
                }
            }
        }
    }
    match id.ok().and_then(|Path(id)| shared.get(&id)) {
        Some(run) => json_response(StatusCode::OK, &run_object(&run, screenshots)),
        None => ApiError::run_not_found().into_response(),
    }
}

/// What one cancel request answers.
enum Answer {
    /// The run was cancelled now, or had already ended: the cancel answer.
    Done(Value),
    NotFound,
    /// A run of `/run` still going: it cannot be cancelled.
    NotCancellable,
}

/// Handles one cancel request (and starts the webhook of a run it cancels).
fn cancel_one(shared: &Arc<Shared>, id: &str) -> Answer {
    match shared.cancel(id) {
        Cancel::NotFound => Answer::NotFound,
        Cancel::Cancelled(run) => {
            webhook::start(shared, &run);
            Answer::Done(cancel_response(&run, None))
        }
        Cancel::AlreadyCancelled(run) => Answer::Done(cancel_response(
            &run,
            Some(CancelOutcome::ALREADY_CANCELLED),
        )),
        Cancel::AlreadyFinished(run) => {
            Answer::Done(cancel_response(&run, Some(CancelOutcome::ALREADY_FINISHED)))
        }
        Cancel::NotCancellable => Answer::NotCancellable,
    }
}

/// `POST /v1/runs/{id}/cancel`: idempotent. A run of `/run` still going is refused with 400.
pub(super) async fn cancel_run(
    State(shared): State<Arc<Shared>>,
    id: Result<Path<String>, PathRejection>,
) -> Response {
    let Ok(Path(id)) = id else {
        return ApiError::run_not_found().into_response();
    };
    match cancel_one(&shared, &id) {
        Answer::Done(answer) => json_response(StatusCode::OK, &answer),
        Answer::NotFound => ApiError::run_not_found().into_response(),
        Answer::NotCancellable => {
            let issue = Issue::new("custom", vec![json!("id")], NOT_CANCELLABLE);
            ApiError::invalid(vec![issue]).into_response()
        }
    }
}

async fn run_ids(body: Body) -> Result<Vec<String>, ApiError> {
    check_run_ids(&body_json(&read_body(body).await?)?)
}

/// `POST /v1/runs/batch`: `{data: [runs], not_found: [ids] | null}`.
pub(super) async fn batch_get(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    let ids = match run_ids(body).await {
        Ok(ids) => ids,
        Err(error) => return error.into_response(),
    };
    let mut data = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        match shared.get(&id) {
            Some(run) => data.push(run_object(&run, false)),
            None => missing.push(id),
        }
    }
    // The ids not found are echoed as asked for, valid run ids or not.
    json_response(
        StatusCode::OK,
        &BatchRuns::<Value, String>::new(data, missing),
    )
}

/// `POST /v1/runs/batch/cancel`: `{results: [cancel answers], not_found: [ids] | null}`, each
/// answer CANCELLED, COMPLETED or FAILED. A run of `/run` still going cannot be cancelled: as
/// with the single cancel, the request is refused with 400 (naming it), and no run is cancelled.
pub(super) async fn batch_cancel(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    let ids = match run_ids(body).await {
        Ok(ids) => ids,
        Err(error) => return error.into_response(),
    };
    // A run of /run that is going now is still going at its cancel below, or has finished
    // (then it is answered "Run already finished"): never cancelled, never RUNNING.
    let going_sync: Vec<Issue> = ids
        .iter()
        .enumerate()
        .filter(|(_, id)| {
            shared
                .get(id)
                .is_some_and(|run| !run.cancellable() && !run.status().is_terminal())
        })
        .map(|(index, _)| {
            Issue::new(
                "custom",
                vec![json!("run_ids"), json!(index)],
                NOT_CANCELLABLE,
            )
        })
        .collect();
    if !going_sync.is_empty() {
        return ApiError::invalid(going_sync).into_response();
    }
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for id in ids {
        match cancel_one(&shared, &id) {
            Answer::Done(answer) => results.push(answer),
            Answer::NotFound => missing.push(id),
            // Checked above: a run of /run cannot have become one that is going since.
            Answer::NotCancellable => {}
        }
    }
    json_response(
        StatusCode::OK,
        &BatchCancelOutcomes::<Value, String>::new(results, missing),
    )
}

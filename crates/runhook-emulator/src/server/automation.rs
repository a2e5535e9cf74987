//! `POST /v1/automation/run`, `/run-async` and `/run-batch` (the SSE one is in `sse.rs`).

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use runhook::RunId;
use runhook::api::{RunCreated, RunsCreated};
use serde_json::{Value, json};

use super::read_body;
use crate::api_error::{ApiError, Issue, Issues, json_response};
use crate::clock::until_true;
use crate::engine;
use crate::model::{Origin, StoredRun, sync_response};
use crate::request::{RunRequest, body_json, check_count, check_output_schema, check_run};
use crate::scenario::{Outcome, Plan};
use crate::state::Shared;

/// Why a run of `/run` may not be scripted to be cancelled.
const SYNC_NOT_CANCELLED: &str = "Runs created with /v1/automation/run cannot be cancelled (they \
     end COMPLETED or FAILED), so this run cannot be scripted to be cancelled ([cancel] or a \
     scenario rule with outcome \"cancelled\"); use /run-async, /run-sse or /run-batch";

/// Checks one run body and plans it; problems go to `issues`. `batch_schema` is the batch's
/// `output_schema`, for an item that has none.
pub(super) fn prepare(
    shared: &Shared,
    body: &Value,
    prefix: &[Value],
    batch_schema: Option<&Value>,
    issues: &mut Issues,
) -> Option<(RunRequest, Plan)> {
    let mut request = check_run(body, prefix, shared.settings.loopback, issues)?;
    if request.output_schema.is_none() {
        request.output_schema = batch_schema.cloned();
    }
    let mut goal_path = prefix.to_vec();
    goal_path.push(json!("goal"));
    let plan = shared.settings.scenario.plan(
        &request.goal,
        &request.url,
        request.output_schema.as_ref(),
        &goal_path,
    );
    match plan {
        Ok(plan) => Some((request, plan)),
        Err(issue) => {
            issues.push(issue);
            None
        }
    }
}

/// Reads, checks and plans a single-run body.
pub(super) async fn single(shared: &Shared, body: Body) -> Result<(RunRequest, Plan), ApiError> {
    let body = body_json(&read_body(body).await?)?;
    let mut issues = Issues::new();
    match prepare(shared, &body, &[], None, &mut issues) {
        Some(prepared) if issues.is_empty() => Ok(prepared),
        _ => Err(ApiError::invalid(issues)),
    }
}

/// Creates the run and starts its agent.
pub(super) fn launch(
    shared: &Arc<Shared>,
    request: &RunRequest,
    plan: Plan,
    origin: Origin,
) -> Result<StoredRun, ApiError> {
    let mut runs = launch_all(shared, vec![(request.clone(), plan)], origin)?;
    runs.pop()
        .ok_or_else(|| ApiError::internal("The run was not created"))
}

/// The id of a run just created (the emulator makes every run with one).
fn created_id(run: &StoredRun) -> Result<RunId, ApiError> {
    run.run
        .run_id
        .clone()
        .ok_or_else(|| ApiError::internal("The run was created without an id"))
}

/// Creates the runs (all or none: 429 when the emulator is full of runs in progress) and
/// starts their agents.
pub(super) fn launch_all(
    shared: &Arc<Shared>,
    prepared: Vec<(RunRequest, Plan)>,
    origin: Origin,
) -> Result<Vec<StoredRun>, ApiError> {
    let requests: Vec<_> = prepared
        .iter()
        .map(|(request, plan)| (request, plan.faults))
        .collect();
    let runs = shared
        .create(&requests, origin)
        .map_err(|full| ApiError::too_many_runs(full.max_runs))?;
    for (run, (_, plan)) in runs.iter().zip(prepared) {
        engine::start(shared, run, plan);
    }
    Ok(runs)
}

/// `POST /v1/automation/run`: answers when the run has finished, COMPLETED or FAILED. A run
/// scripted to be cancelled is refused (such runs cannot be cancelled).
pub(super) async fn run_sync(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    let (request, plan) = match single(&shared, body).await {
        Ok(prepared) => prepared,
        Err(error) => return error.into_response(),
    };
    if plan.outcome == Outcome::Cancelled {
        let issue = Issue::new("custom", vec![json!("goal")], SYNC_NOT_CANCELLED);
        return ApiError::invalid(vec![issue]).into_response();
    }
    let run = match launch(&shared, &request, plan, Origin::Sync) {
        Ok(run) => run,
        Err(error) => return error.into_response(),
    };
    match wait_until_finished(&shared, run.id()).await {
        Some(run) => json_response(StatusCode::OK, &sync_response(&run)),
        None => ApiError::internal("The emulator is stopping").into_response(),
    }
}

/// Waits until run `id` is finished; `None` if the emulator stops first.
async fn wait_until_finished(shared: &Shared, id: &str) -> Option<StoredRun> {
    let mut changes = shared.watch(id)?;
    let mut stop = shared.stop_signal();
    loop {
        let run = shared.get(id)?;
        if run.status().is_terminal() {
            return Some(run);
        }
        tokio::select! {
            changed = changes.changed() => changed.ok()?,
            () = until_true(&mut stop) => return None,
        }
    }
}

/// `POST /v1/automation/run-async`: `{run_id, error: null}` at once.
pub(super) async fn run_async(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    match single(&shared, body).await {
        Ok((request, plan)) => {
            match launch(&shared, &request, plan, Origin::Async).and_then(|run| created_id(&run)) {
                Ok(run_id) => json_response(StatusCode::OK, &RunCreated::new(run_id)),
                Err(error) => error.into_response(),
            }
        }
        Err(error) => error.into_response(),
    }
}

/// `POST /v1/automation/run-batch`: `{runs: [1..100 bodies], output_schema?}`, all or nothing.
/// The batch's `output_schema` applies to every item that has none. The count is checked before
/// any item, so an oversized batch costs one issue.
pub(super) async fn run_batch(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    let refuse = |issues: Issues| {
        ApiError::invalid(issues)
            .beside("run_ids", Value::Null)
            .into_response()
    };
    let body = match read_body(body).await.and_then(|bytes| body_json(&bytes)) {
        Ok(body) => body,
        Err(error) => return error.beside("run_ids", Value::Null).into_response(),
    };
    let mut issues = Issues::new();
    let batch_schema = check_output_schema(
        body.get("output_schema"),
        vec![json!("output_schema")],
        &mut issues,
    );
    let runs = match body.get("runs") {
        Some(Value::Array(runs)) => runs,
        other => {
            issues.push(Issue::invalid_type(vec![json!("runs")], "array", other));
            return refuse(issues);
        }
    };
    check_count(runs.len(), vec![json!("runs")], &mut issues);
    if !issues.is_empty() {
        return refuse(issues);
    }
    let mut prepared = Vec::with_capacity(runs.len());
    for (index, run) in runs.iter().enumerate() {
        let prefix = [json!("runs"), json!(index)];
        if let Some(one) = prepare(&shared, run, &prefix, batch_schema.as_ref(), &mut issues) {
            prepared.push(one);
        }
    }
    if !issues.is_empty() {
        return refuse(issues);
    }
    let run_ids = launch_all(&shared, prepared, Origin::Batch)
        .and_then(|runs| runs.iter().map(created_id).collect::<Result<Vec<_>, _>>());
    match run_ids {
        Ok(run_ids) => json_response(StatusCode::OK, &RunsCreated::new(run_ids)),
        Err(error) => error.beside("run_ids", Value::Null).into_response(),
    }
}

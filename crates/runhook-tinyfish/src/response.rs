//! What the API answers, beyond a run: a page of runs, the outcome of a cancel, batches.

use runhook::api::{
    BatchCancelOutcomes, BatchRuns, CancelOutcome, ListPage, RunCreated, RunsCreated,
};
use runhook::{Run, RunId};
use serde_json::Value;

use crate::Error;

/// One page of `GET /v1/runs`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunPage {
    /// The runs of this page (without `steps` and `video_url`, as the API lists them).
    pub runs: Vec<Run>,
    /// How many runs match the filters, over all pages.
    pub total: Option<u64>,
    /// The cursor of the next page, if there is one.
    pub next_cursor: Option<String>,
    /// Whether more pages follow.
    pub has_more: bool,
}

/// What `POST /v1/runs/batch` answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RunsBatch {
    /// The runs found.
    pub runs: Vec<Run>,
    /// The ids the API does not know (or that are not yours).
    pub not_found: Vec<RunId>,
}

/// What `POST /v1/runs/batch/cancel` answers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CancelBatch {
    /// One outcome per run found.
    pub results: Vec<CancelOutcome>,
    /// The ids the API does not know (or that are not yours).
    pub not_found: Vec<RunId>,
}

/// Reads a run leniently: a drifted value is left out and logged, never an error (a read that
/// failed on one odd field would hide the whole run).
pub(crate) fn run_from(value: &Value, path: &str) -> Run {
    let (run, problems) = Run::from_value_lenient(value);
    for problem in &problems {
        tracing::warn!(
            path,
            run_id = run.run_id.as_ref().map(RunId::as_str),
            pointer = %problem.pointer,
            message = %problem.message,
            "a field of a run from the API does not have its documented type; it reads as absent"
        );
    }
    run
}

/// The runs of an array.
pub(crate) fn runs_from(values: &[Value], path: &str) -> Vec<Run> {
    values.iter().map(|value| run_from(value, path)).collect()
}

/// The page of runs of a `GET /v1/runs` answer. An empty `next_cursor` is none; without
/// `has_more`, more pages follow if there is a cursor.
pub(crate) fn page_from(page: ListPage<Value>, path: &str) -> RunPage {
    let pagination = page.pagination;
    let next_cursor = pagination.next_cursor.filter(|cursor| !cursor.is_empty());
    RunPage {
        runs: runs_from(&page.data, path),
        total: pagination.total,
        has_more: pagination.has_more.unwrap_or(next_cursor.is_some()),
        next_cursor,
    }
}

/// The runs of a `POST /v1/runs/batch` answer.
pub(crate) fn batch_from(batch: BatchRuns<Value>, path: &str) -> RunsBatch {
    RunsBatch {
        runs: runs_from(&batch.data, path),
        not_found: batch.not_found,
    }
}

impl From<BatchCancelOutcomes> for CancelBatch {
    fn from(answer: BatchCancelOutcomes) -> Self {
        CancelBatch {
            results: answer.results,
            not_found: answer.not_found,
        }
    }
}

/// The run id of a `/run-async` answer, or its error.
pub(crate) fn created_from(answer: RunCreated, path: &str) -> Result<RunId, Error> {
    match (answer.run_id, answer.error) {
        (Some(run_id), None) => Ok(run_id),
        (_, Some(error)) => Err(Error::NotCreated(Box::new(error))),
        (None, None) => Err(neither("run_id", path)),
    }
}

/// The run ids of a `/run-batch` answer, or its error.
pub(crate) fn batch_created_from(answer: RunsCreated, path: &str) -> Result<Vec<RunId>, Error> {
    match (answer.run_ids, answer.error) {
        (Some(run_ids), None) => Ok(run_ids),
        (_, Some(error)) => Err(Error::NotCreated(Box::new(error))),
        (None, None) => Err(neither("run_ids", path)),
    }
}

/// An answer with neither `field` nor `error`.
fn neither(field: &str, path: &str) -> Error {
    Error::Decode {
        path: path.to_owned(),
        message: format!("neither {field} nor error"),
    }
}

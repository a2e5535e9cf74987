//! What the API answers, beyond a run: a page of runs, the outcome of a cancel, batches.

use runhook::api::CancelOutcome;
use runhook::{Run, RunId};
use serde::Deserialize;
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

#[derive(Deserialize)]
pub(crate) struct PageBody {
    data: Vec<Value>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Pagination {
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    next_cursor: Option<String>,
    #[serde(default)]
    has_more: Option<bool>,
}

impl PageBody {
    pub(crate) fn into_page(self, path: &str) -> RunPage {
        let pagination = self.pagination.unwrap_or(Pagination {
            total: None,
            next_cursor: None,
            has_more: None,
        });
        let next_cursor = pagination.next_cursor.filter(|cursor| !cursor.is_empty());
        RunPage {
            runs: runs_from(&self.data, path),
            total: pagination.total,
            has_more: pagination.has_more.unwrap_or(next_cursor.is_some()),
            next_cursor,
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct BatchBody {
    data: Vec<Value>,
    #[serde(default)]
    not_found: Option<Vec<RunId>>,
}

impl BatchBody {
    pub(crate) fn into_batch(self, path: &str) -> RunsBatch {
        RunsBatch {
            runs: runs_from(&self.data, path),
            not_found: self.not_found.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub(crate) struct CancelBatchBody {
    results: Vec<CancelOutcome>,
    #[serde(default)]
    not_found: Option<Vec<RunId>>,
}

impl From<CancelBatchBody> for CancelBatch {
    fn from(body: CancelBatchBody) -> Self {
        CancelBatch {
            results: body.results,
            not_found: body.not_found.unwrap_or_default(),
        }
    }
}

/// What `/run-async` answers: a run id, or an error.
#[derive(Deserialize)]
pub(crate) struct CreatedBody {
    #[serde(default)]
    run_id: Option<RunId>,
    #[serde(default)]
    error: Option<runhook::RunError>,
}

impl CreatedBody {
    pub(crate) fn into_result(self, path: &str) -> Result<RunId, Error> {
        match (self.run_id, self.error) {
            (Some(run_id), None) => Ok(run_id),
            (_, Some(error)) => Err(Error::NotCreated(Box::new(error))),
            (None, None) => Err(Error::Decode {
                path: path.to_owned(),
                message: "neither run_id nor error".to_owned(),
            }),
        }
    }
}

/// What `/run-batch` answers: the run ids, or an error.
#[derive(Deserialize)]
pub(crate) struct BatchCreatedBody {
    #[serde(default)]
    run_ids: Option<Vec<RunId>>,
    #[serde(default)]
    error: Option<runhook::RunError>,
}

impl BatchCreatedBody {
    pub(crate) fn into_result(self, path: &str) -> Result<Vec<RunId>, Error> {
        match (self.run_ids, self.error) {
            (Some(run_ids), None) => Ok(run_ids),
            (_, Some(error)) => Err(Error::NotCreated(Box::new(error))),
            (None, None) => Err(Error::Decode {
                path: path.to_owned(),
                message: "neither run_ids nor error".to_owned(),
            }),
        }
    }
}

//! What the creating endpoints answer: `/run-async` `{run_id, error}` and `/run-batch`
//! `{run_ids, error}`, one of the two `null`.

use serde::{Deserialize, Serialize};

use crate::{RunError, RunId};

/// What `POST /v1/automation/run-async` answers: the new run's id and `error: null`, or
/// `run_id: null` and why the run was not created. Either field may be missing from what a
/// server sends; a reader decides what that means.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunCreated {
    /// The new run.
    #[serde(default)]
    pub run_id: Option<RunId>,
    /// Why no run was created.
    #[serde(default)]
    pub error: Option<RunError>,
}

impl RunCreated {
    /// The answer for a run created as `run_id`.
    pub fn new(run_id: RunId) -> Self {
        RunCreated {
            run_id: Some(run_id),
            error: None,
        }
    }

    /// The answer for a run not created, because of `error`.
    pub fn refused(error: RunError) -> Self {
        RunCreated {
            run_id: None,
            error: Some(error),
        }
    }
}

/// What `POST /v1/automation/run-batch` answers: the new runs' ids, in the order of the
/// request, and `error: null`; or `run_ids: null` and why no run was created (a batch is all
/// or none). Either field may be missing from what a server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunsCreated {
    /// The new runs.
    #[serde(default)]
    pub run_ids: Option<Vec<RunId>>,
    /// Why no run was created.
    #[serde(default)]
    pub error: Option<RunError>,
}

impl RunsCreated {
    /// The answer for runs created as `run_ids`.
    pub fn new(run_ids: Vec<RunId>) -> Self {
        RunsCreated {
            run_ids: Some(run_ids),
            error: None,
        }
    }

    /// The answer for a batch not created, because of `error`.
    pub fn refused(error: RunError) -> Self {
        RunsCreated {
            run_ids: None,
            error: Some(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn writes_both_fields_and_reads_either() {
        let id = RunId::new("r1").unwrap();
        let created = RunCreated::new(id.clone());
        let value = serde_json::to_value(&created).unwrap();
        assert_eq!(value, json!({"run_id": "r1", "error": null}));
        assert_eq!(
            serde_json::from_value::<RunCreated>(value).unwrap(),
            created
        );

        let batch = RunsCreated::new(vec![id]);
        let value = serde_json::to_value(&batch).unwrap();
        assert_eq!(value, json!({"run_ids": ["r1"], "error": null}));
        assert_eq!(serde_json::from_value::<RunsCreated>(value).unwrap(), batch);

        let refused = RunsCreated::refused(RunError::new("no credits"));
        let value = serde_json::to_value(&refused).unwrap();
        assert_eq!(
            value,
            json!({"run_ids": null, "error": {"message": "no credits"}})
        );
        assert_eq!(
            serde_json::from_value::<RunsCreated>(value).unwrap(),
            refused
        );
        let empty: RunCreated = serde_json::from_value(json!({})).unwrap();
        assert_eq!((empty.run_id, empty.error), (None, None));
    }
}

//! The runs API's batch reads and cancels: the request `{run_ids: [...]}`, and the answers
//! `{data: [...], not_found}` and `{results: [...], not_found}`, where `not_found` lists the
//! ids not found, or is `null` when there are none.

use serde::{Deserialize, Serialize};

use super::CancelOutcome;
use super::null::empty_as_null;
use crate::RunId;

/// The body of `POST /v1/runs/batch` and `POST /v1/runs/batch/cancel`: the runs to read or
/// cancel (1 to 100).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RunIds {
    /// The ids.
    pub run_ids: Vec<RunId>,
}

impl RunIds {
    /// A body naming `run_ids`.
    pub fn new(run_ids: Vec<RunId>) -> Self {
        RunIds { run_ids }
    }
}

/// What `POST /v1/runs/batch` answers: the runs found, and the ids not found. Generic over the
/// item (a [`Run`](crate::Run), or the JSON of one) and over the id (a [`RunId`], or the string
/// as it was asked for, which a server echoes even when it is no valid id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "T: Serialize, Id: Serialize",
    deserialize = "T: Deserialize<'de>, Id: Deserialize<'de>"
))]
#[non_exhaustive]
pub struct BatchRuns<T, Id = RunId> {
    /// The runs found.
    pub data: Vec<T>,
    /// The ids not found (or not yours). Written as `null` when empty; read as empty from
    /// `null` or nothing.
    #[serde(default, with = "empty_as_null")]
    pub not_found: Vec<Id>,
}

impl<T, Id> BatchRuns<T, Id> {
    /// The answer: `data` found, `not_found` not.
    pub fn new(data: Vec<T>, not_found: Vec<Id>) -> Self {
        BatchRuns { data, not_found }
    }
}

/// What `POST /v1/runs/batch/cancel` answers: one [`CancelOutcome`] per run found, and the ids
/// not found. Generic over the outcome (or the JSON of one) and the id, as [`BatchRuns`] is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "T: Serialize, Id: Serialize",
    deserialize = "T: Deserialize<'de>, Id: Deserialize<'de>"
))]
#[non_exhaustive]
pub struct BatchCancelOutcomes<T = CancelOutcome, Id = RunId> {
    /// One outcome per run found.
    pub results: Vec<T>,
    /// The ids not found (or not yours). Written as `null` when empty; read as empty from
    /// `null` or nothing.
    #[serde(default, with = "empty_as_null")]
    pub not_found: Vec<Id>,
}

impl<T, Id> BatchCancelOutcomes<T, Id> {
    /// The answer: `results` for the runs found, `not_found` for the others.
    pub fn new(results: Vec<T>, not_found: Vec<Id>) -> Self {
        BatchCancelOutcomes { results, not_found }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::RunStatus;

    fn id(text: &str) -> RunId {
        RunId::new(text).unwrap()
    }

    #[test]
    fn not_found_is_null_when_empty_and_reads_back_empty() {
        let all_found = BatchRuns::<Value>::new(vec![json!({"run_id": "r1"})], vec![]);
        let value = serde_json::to_value(&all_found).unwrap();
        assert_eq!(
            value,
            json!({"data": [{"run_id": "r1"}], "not_found": null})
        );
        assert_eq!(
            serde_json::from_value::<BatchRuns<Value>>(value).unwrap(),
            all_found
        );
        let missing = serde_json::from_value::<BatchRuns<Value>>(json!({"data": []})).unwrap();
        assert!(missing.not_found.is_empty());

        let some = BatchRuns::<Value, String>::new(vec![], vec!["../x".into()]);
        let value = serde_json::to_value(&some).unwrap();
        assert_eq!(value, json!({"data": [], "not_found": ["../x"]}));
        // A reader that wants run ids refuses an id that is not one.
        assert!(serde_json::from_value::<BatchRuns<Value>>(value).is_err());
    }

    #[test]
    fn cancel_outcomes_and_the_request_round_trip() {
        let outcome = CancelOutcome::new(id("r1"), RunStatus::Cancelled, None, None);
        let answer = BatchCancelOutcomes::new(vec![outcome], vec![id("r2")]);
        let value = serde_json::to_value(&answer).unwrap();
        assert_eq!(
            value,
            json!({"results": [{"run_id": "r1", "status": "CANCELLED", "cancelled_at": null,
                                "message": null}],
                   "not_found": ["r2"]})
        );
        let back: BatchCancelOutcomes = serde_json::from_value(value).unwrap();
        assert_eq!(back, answer);

        let body = RunIds::new(vec![id("r1"), id("r2")]);
        let value = serde_json::to_value(&body).unwrap();
        assert_eq!(value, json!({"run_ids": ["r1", "r2"]}));
        assert_eq!(serde_json::from_value::<RunIds>(value).unwrap(), body);
    }
}

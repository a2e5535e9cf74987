//! Drift: values inside `data` that did not have their documented type, kept rather than refused.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a lenient parse ([`Event::from_slice_lenient`](super::Event::from_slice_lenient)) left
/// out of the typed [`Run`](super::Run), and the `data` object exactly as it was received.
///
/// A run event carries one only when something drifted; a well-formed event has none, and costs
/// nothing extra.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Drift {
    /// Every value that was left out of the typed view, in the order found (at least one).
    pub problems: Vec<DriftProblem>,
    /// The `data` object as received, with every drifted value still in place.
    pub raw_data: Value,
}

/// One value inside `data` that did not have its documented type or format.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriftProblem {
    /// RFC 6901 pointer into the received body (`/data/steps/1/timestamp`); it always resolves
    /// in the received document. A value that had to be left out whole (a step missing a
    /// required field) is reported at the value itself (`/data/steps/1`).
    pub pointer: String,
    /// What was expected there, and what happened to the value.
    pub message: String,
}

impl DriftProblem {
    /// A problem at `pointer`.
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        DriftProblem {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for DriftProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pointer, self.message)
    }
}

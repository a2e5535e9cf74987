//! Reading fixture files.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// A check that an invalid fixture names as one that must reject it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckName {
    /// The JSON Schema (strict).
    Schema,
    /// The core's typed parser (lenient).
    Parse,
    /// The core's consistency rules.
    Consistency,
}

impl CheckName {
    /// The name as written in fixtures.
    pub fn as_str(self) -> &'static str {
        match self {
            CheckName::Schema => "schema",
            CheckName::Parse => "parse",
            CheckName::Consistency => "consistency",
        }
    }
}

/// What `runhook::receive` answers at run time, in one mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunTimeVerdict {
    /// Accepted (200); in lenient mode, with a drift problem at the fixture's pointer if it has
    /// one, and with no drift problem if it has none.
    Accept,
    /// Refused (a 4xx).
    Reject,
}

impl RunTimeVerdict {
    /// The verdict as written in fixtures.
    pub fn as_str(self) -> &'static str {
        match self {
            RunTimeVerdict::Accept => "accept",
            RunTimeVerdict::Reject => "reject",
        }
    }
}

/// What happens to an invalid fixture's payload at run time, in each mode of `receive`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtRunTime {
    /// The default mode: only a broken envelope is refused; drift inside `data` is accepted.
    pub lenient: RunTimeVerdict,
    /// `RequestChecks::with_strict(true)`: any wrong value is refused.
    pub strict: RunTimeVerdict,
}

/// An invalid fixture: the payload and what must reject it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InvalidFixture {
    /// Why the payload is invalid.
    pub why: String,
    /// Exactly the checks that reject it.
    pub rejected_by: BTreeSet<CheckName>,
    /// The JSON pointer the runtime check reports (for `parse` and `consistency`).
    #[serde(default)]
    pub pointer: Option<String>,
    /// What `runhook::receive` does with the payload, lenient and strict.
    pub at_run_time: AtRunTime,
    /// The webhook body.
    pub payload: Value,
}

/// The `.json` files directly in `dir`, sorted by name.
pub fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    files.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
    files.sort();
    Ok(files)
}

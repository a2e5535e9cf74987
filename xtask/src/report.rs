//! Problems found by the checks, collected rather than stopping at the first.

use std::fmt;
use std::path::PathBuf;

/// One problem: the file, the JSON pointer inside it, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the repository root.
    pub file: PathBuf,
    /// JSON pointer inside the file's document (`""` for the whole document).
    pub pointer: String,
    /// What is wrong, and where useful how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}#{}: {}",
            self.file.display(),
            self.pointer,
            self.message
        )
    }
}

/// Everything one run of the checks found.
#[derive(Debug, Default)]
pub struct Report {
    /// The problems, in the order found.
    pub problems: Vec<Problem>,
    /// Valid fixtures checked.
    pub valid_fixtures: usize,
    /// Invalid fixtures checked.
    pub invalid_fixtures: usize,
    /// Retry vectors found (`fixtures/vectors/retry.json`).
    pub retry_vectors: usize,
    /// Inbox vectors found (`fixtures/vectors/inbox.json`).
    pub inbox_vectors: usize,
}

impl Report {
    /// Records a problem.
    pub fn problem(
        &mut self,
        file: impl Into<PathBuf>,
        pointer: impl Into<String>,
        message: impl Into<String>,
    ) {
        self.problems.push(Problem {
            file: file.into(),
            pointer: pointer.into(),
            message: message.into(),
        });
    }

    /// Whether nothing was found.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}

//! What can keep the emulator from starting.

use std::path::PathBuf;

/// Why the emulator could not start.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// No API key was configured: TinyFish always requires one, so the emulator does too.
    #[error("no API key is configured: give at least one (e.g. --api-key KEY or TINYFISH_API_KEY)")]
    NoApiKey,
    /// An API key is empty or holds characters an HTTP header cannot carry.
    #[error("an API key must be non-empty visible ASCII (it travels in the X-API-Key header)")]
    BadApiKey,
    /// The speed factor is outside 0.01 to 1 000 000.
    #[error("the speed must be between 0.01 and 1000000 (got {0})")]
    BadSpeed(f64),
    /// The maximum number of runs is 0.
    #[error("the maximum number of runs must be at least 1")]
    BadMaxRuns,
    /// The share of reads to throttle is not from 0.0 to 1.0.
    #[error("the share of reads to throttle must be from 0.0 to 1.0, not {0}")]
    BadThrottle(f64),
    /// The store URL is neither `memory` nor `sqlite:PATH`.
    #[error("unknown store {0:?}: use memory or sqlite:PATH")]
    BadStoreUrl(String),
    /// The SQLite store could not be opened or read.
    #[error("cannot open the SQLite store {path}: {source}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The webhook sender could not be built (its TLS roots).
    #[error("cannot start the webhook sender: {0}")]
    Dispatcher(#[from] runhook_dispatch::BuildError),
    /// The listener's address could not be read.
    #[error("cannot read the listening address: {0}")]
    Listener(std::io::Error),
}

/// Why a scenario file was refused.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read the scenario file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or JSON of the expected shape.
    #[error("the scenario is not valid {format}: {message}")]
    Syntax {
        /// `TOML` or `JSON`.
        format: &'static str,
        /// What the parser said.
        message: String,
    },
    /// A rule holds a value out of range or a bad pattern.
    #[error("scenario rule {index}: {message}")]
    Rule {
        /// The rule's position in the file, from 1.
        index: usize,
        /// What is wrong with it.
        message: String,
    },
}

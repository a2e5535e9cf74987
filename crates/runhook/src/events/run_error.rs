//! Why a run failed.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};

use super::Nullable;
use super::string_enum::string_enum;

string_enum! {
    /// What kind of failure a run had.
    pub enum ErrorCategory {
        /// TinyFish's infrastructure failed.
        SystemFailure => "SYSTEM_FAILURE",
        /// The agent could not do the task (for example, the site blocked access).
        AgentFailure => "AGENT_FAILURE",
        /// The account has no credits, or a billing problem.
        BillingFailure => "BILLING_FAILURE",
        /// TinyFish's own "unknown" category (a documented value).
        Unknown => "UNKNOWN",
    }
    expecting = "an error category string such as \"AGENT_FAILURE\"";
}

/// The error object of a failed run. Older payloads carry `message` only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(expecting = "an error object")]
#[non_exhaustive]
pub struct RunError {
    /// What went wrong, for people.
    pub message: String,
    /// The kind of failure.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub category: Nullable<ErrorCategory>,
    /// A machine-readable code in any case, e.g. `service_busy`.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub code: Nullable<String>,
    /// Seconds to wait before retrying the run (a non-negative number).
    #[serde(
        default,
        deserialize_with = "non_negative_seconds",
        skip_serializing_if = "Nullable::is_absent"
    )]
    pub retry_after: Nullable<Number>,
    /// A page that explains the error.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub help_url: Nullable<String>,
    /// Advice on what to do.
    #[serde(default, skip_serializing_if = "Nullable::is_absent")]
    pub help_message: Nullable<String>,
    /// Fields this version of runhook does not know, kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RunError {
    /// An error with a message and nothing else.
    pub fn new(message: impl Into<String>) -> Self {
        RunError {
            message: message.into(),
            category: Nullable::Absent,
            code: Nullable::Absent,
            retry_after: Nullable::Absent,
            help_url: Nullable::Absent,
            help_message: Nullable::Absent,
            extra: Map::new(),
        }
    }

    /// `retry_after` as a duration, if given.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
            .value()
            .and_then(Number::as_f64)
            .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
    }
}

fn non_negative_seconds<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Nullable<Number>, D::Error> {
    let value = Nullable::<Number>::deserialize(deserializer)?;
    if let Some(number) = value.value()
        && number.as_f64().is_none_or(|secs| secs < 0.0)
    {
        return Err(serde::de::Error::custom(format_args!(
            "retry_after must be a non-negative number of seconds, found {number}"
        )));
    }
    Ok(value)
}

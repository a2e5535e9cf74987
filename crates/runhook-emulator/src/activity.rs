//! What the emulator reports as it works: API calls and webhook attempts.

use std::time::Duration;

use serde::Serialize;

/// One thing the emulator did, passed to the observer of
/// [`EmulatorConfig::observer`](crate::EmulatorConfig::observer).
#[non_exhaustive]
#[derive(Debug, Clone)]
pub enum Activity {
    /// An HTTP request was answered.
    Request(RequestRecord),
    /// A webhook attempt ended (or a fault stood in for it).
    Delivery(DeliveryRecord),
}

/// An answered HTTP request.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct RequestRecord {
    /// The method.
    pub method: String,
    /// The path, with the values of secret-looking query parameters replaced by `***`.
    pub path: String,
    /// The response status.
    pub status: u16,
    /// From the request to the response head.
    pub elapsed: Duration,
}

/// One webhook attempt, as listed by `GET /_emulator/deliveries`.
#[non_exhaustive]
#[derive(Debug, Clone, Serialize)]
pub struct DeliveryRecord {
    /// The run the webhook is about.
    pub run_id: String,
    /// `run.completed`, `run.failed` or `run.cancelled`.
    pub event: String,
    /// The attempt number, from 1 (a duplicate repeats the number of the attempt it copies).
    pub attempt: u32,
    /// The policy's maximum number of attempts.
    pub max_attempts: u32,
    /// When the attempt started (RFC 3339).
    pub at: String,
    /// A short summary: `200`, `dropped (simulated network error)`, `timed out (simulated)`,
    /// `network error: connect`, ...
    pub result: String,
    /// The response status, when the receiver answered.
    pub status: Option<u16>,
    /// The fault that shaped this attempt: `drop`, `timeout` or `duplicate`.
    pub fault: Option<String>,
    /// What went wrong below HTTP, if anything.
    pub error: Option<String>,
    /// How long the attempt took, in milliseconds.
    pub elapsed_ms: u64,
    /// The wait before the next attempt (after `--speed`), if one follows.
    pub retry_in_ms: Option<u64>,
    /// How the delivery ended, on its last attempt: `delivered`, `failed`, `refused` or
    /// `abandoned`.
    pub outcome: Option<String>,
}

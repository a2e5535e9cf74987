//! What the dispatcher tells its caller: per-attempt reports, outcomes, the shutdown summary.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use runhook::delivery::{AttemptResult, DeliveryOutcome};

use crate::error::AddressRefused;

/// Identifies one submitted delivery within its dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryId(pub(crate) u64);

impl DeliveryId {
    /// The number behind the id (unique per dispatcher, increasing in submission order).
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "d{}", self.0)
    }
}

/// How a delivery ended, as seen by the dispatcher.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DispatchOutcome {
    /// The endpoint acknowledged the event.
    Delivered {
        /// Attempts made, including the successful one.
        attempts: u32,
        /// The acknowledging status.
        status: u16,
    },
    /// The retry policy gave up: a final status (4xx under the TinyFish policy) or no attempts
    /// left.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// What the last attempt produced.
        last: AttemptResult,
    },
    /// The destination resolved only to forbidden addresses. Not retried: fix the URL or opt in
    /// to local addresses.
    Refused {
        /// Attempts made, including the refused one (0 when the refusal came before any).
        attempts: u32,
        /// Which addresses were refused and why.
        reason: AddressRefused,
    },
    /// The dispatcher shut down before the delivery finished (or its driver stopped). The event
    /// may or may not have reached the endpoint; send it again from your own records.
    Abandoned {
        /// Attempts started before the shutdown.
        attempts: u32,
    },
}

impl DispatchOutcome {
    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            DispatchOutcome::Delivered { attempts, .. }
            | DispatchOutcome::Failed { attempts, .. }
            | DispatchOutcome::Refused { attempts, .. }
            | DispatchOutcome::Abandoned { attempts } => *attempts,
        }
    }

    /// Whether the endpoint acknowledged the event.
    pub fn is_delivered(&self) -> bool {
        matches!(self, DispatchOutcome::Delivered { .. })
    }
}

impl From<DeliveryOutcome> for DispatchOutcome {
    fn from(outcome: DeliveryOutcome) -> Self {
        match outcome {
            DeliveryOutcome::Delivered { attempts, status } => {
                DispatchOutcome::Delivered { attempts, status }
            }
            DeliveryOutcome::Failed { attempts, last } => {
                DispatchOutcome::Failed { attempts, last }
            }
            // The core's outcome is non-exhaustive; a future variant is reported as a failure of
            // unknown cause rather than silently as a success.
            other => DispatchOutcome::Failed {
                attempts: other.attempts(),
                last: AttemptResult::Network(runhook::delivery::NetworkErrorKind::Other),
            },
        }
    }
}

/// One finished attempt, as published on [`Dispatcher::subscribe`](crate::Dispatcher::subscribe)
/// and logged with `tracing`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptReport {
    /// The delivery this attempt belongs to.
    pub delivery_id: DeliveryId,
    /// The URL the event was posted to.
    pub url: Arc<str>,
    /// The attempt number, 1-based.
    pub attempt: u32,
    /// The policy's maximum number of attempts.
    pub max_attempts: u32,
    /// The response status, if a response head arrived.
    pub status: Option<u16>,
    /// What went wrong below HTTP (connect, TLS, reset, timeout, refused address), if anything.
    /// Alongside a `status`, it is the body that failed after the status line (timed out, broke
    /// off, could not be read): logged only, since the status decides the attempt.
    pub error: Option<String>,
    /// The result fed to the retry policy; `None` when the address was refused (a refusal ends
    /// the delivery without consulting the policy). Whenever `status` is set this is
    /// [`AttemptResult::Response`] with that status, even if `error` reports a body failure.
    pub result: Option<AttemptResult>,
    /// From the start of the attempt to its result.
    pub latency: Duration,
    /// The wait before the next attempt, or `None` when this was the last one.
    pub retry_in: Option<Duration>,
    /// The start of the response body (at most the configured excerpt length, lossy UTF-8).
    pub body_excerpt: String,
    /// Whether the body was longer than the excerpt.
    pub body_truncated: bool,
    /// How the delivery ended, on the report of its last attempt; `None` otherwise.
    pub outcome: Option<DispatchOutcome>,
}

impl AttemptReport {
    /// Logs the report as one `tracing` event: `info` for a delivery or a retry, `warn` for a
    /// final failure.
    pub(crate) fn log(&self) {
        let id = self.delivery_id;
        let latency_ms = u64::try_from(self.latency.as_millis()).unwrap_or(u64::MAX);
        let retry_in_ms = self
            .retry_in
            .map(|wait| u64::try_from(wait.as_millis()).unwrap_or(u64::MAX));
        match (&self.outcome, retry_in_ms) {
            (Some(outcome), _) if outcome.is_delivered() => tracing::info!(
                delivery_id = %id, url = %self.url, attempt = self.attempt,
                max_attempts = self.max_attempts, status = self.status,
                error = self.error.as_deref(), latency_ms, "webhook delivered"
            ),
            (Some(outcome), _) => tracing::warn!(
                delivery_id = %id, url = %self.url, attempt = self.attempt,
                max_attempts = self.max_attempts, status = self.status,
                error = self.error.as_deref(), latency_ms, outcome = ?outcome,
                "webhook delivery failed"
            ),
            (None, retry_in_ms) => tracing::info!(
                delivery_id = %id, url = %self.url, attempt = self.attempt,
                max_attempts = self.max_attempts, status = self.status,
                error = self.error.as_deref(), latency_ms, retry_in_ms,
                "webhook attempt failed; will retry"
            ),
        }
    }
}

/// What [`Dispatcher::shutdown`](crate::Dispatcher::shutdown) left behind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Deliveries that finished (delivered, failed or refused) during the grace period.
    pub finished: usize,
    /// Deliveries that were still pending or in flight when the grace period ended, or whose
    /// next attempt would have started after it. Their handles resolve to
    /// [`DispatchOutcome::Abandoned`].
    pub abandoned: Vec<DeliveryId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_convert_and_answer() {
        let delivered = DispatchOutcome::from(DeliveryOutcome::Delivered {
            attempts: 3,
            status: 200,
        });
        assert!(delivered.is_delivered());
        assert_eq!(delivered.attempts(), 3);
        let failed = DispatchOutcome::from(DeliveryOutcome::Failed {
            attempts: 1,
            last: AttemptResult::status(404),
        });
        assert!(!failed.is_delivered());
        assert_eq!(DispatchOutcome::Abandoned { attempts: 2 }.attempts(), 2);
        assert_eq!(DeliveryId(7).to_string(), "d7");
    }
}

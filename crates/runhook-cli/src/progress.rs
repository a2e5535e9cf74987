//! Printing attempts and outcomes: one human line each, or JSON Lines with `--json`.

use std::time::Duration;

use runhook::delivery::AttemptResult;
use runhook::endpoint::redact_url;
use runhook_dispatch::{AttemptReport, DispatchOutcome, status_text};
use serde::Serialize;

/// One `--json` line per attempt; the field order is the documented one.
#[derive(Serialize)]
struct AttemptLine<'a> {
    attempt: u32,
    status: Option<u16>,
    error: Option<&'a str>,
    elapsed_ms: u64,
    retry_in_ms: Option<u64>,
}

/// The last `--json` line.
#[derive(Serialize)]
struct OutcomeLine {
    outcome: &'static str,
    attempts: u32,
}

/// One `--json` line per delivery of `trigger --repeat`.
#[derive(Serialize)]
struct DeliveryLine {
    delivery: usize,
    outcome: &'static str,
    attempts: u32,
    status: Option<u16>,
}

/// The last `--json` line of `trigger --repeat`.
#[derive(Serialize)]
struct SummaryLine {
    deliveries: usize,
    delivered: usize,
    failed: usize,
}

/// Prints a delivery's progress to stdout.
pub(crate) struct Progress {
    json: bool,
    /// The URL as printed: its token and other secrets redacted.
    url: String,
}

impl Progress {
    /// Progress of deliveries to `url`, as JSON Lines (`json`) or text; the URL is printed
    /// without its secrets (a `?token=…` shows as `?token=***`).
    pub(crate) fn new(json: bool, url: &str) -> Self {
        Progress {
            json,
            url: redact_url(url),
        }
    }

    /// One line for one attempt (its error without the secrets it may quote).
    pub(crate) fn attempt(&mut self, report: &AttemptReport) -> anyhow::Result<()> {
        let error = report.error.as_deref().map(redact_url);
        let line = if self.json {
            serde_json::to_string(&AttemptLine {
                attempt: report.attempt,
                status: report.status,
                error: error.as_deref(),
                elapsed_ms: millis(report.latency),
                retry_in_ms: report.retry_in.map(millis),
            })?
        } else {
            human_attempt(report, error.as_deref())
        };
        crate::out::line(&line)
    }

    /// The summary line.
    pub(crate) fn outcome(&mut self, outcome: &DispatchOutcome) -> anyhow::Result<()> {
        let line = if self.json {
            serde_json::to_string(&OutcomeLine {
                outcome: if outcome.is_delivered() {
                    "delivered"
                } else {
                    "failed"
                },
                attempts: outcome.attempts(),
            })?
        } else {
            human_outcome(&self.url, outcome)
        };
        crate::out::line(&line)
    }

    /// The line for the `n`-th of `total` deliveries, once it has ended.
    pub(crate) fn delivery(
        &mut self,
        n: usize,
        total: usize,
        outcome: &DispatchOutcome,
    ) -> anyhow::Result<()> {
        let line = if self.json {
            serde_json::to_string(&DeliveryLine {
                delivery: n,
                outcome: if outcome.is_delivered() {
                    "delivered"
                } else {
                    "failed"
                },
                attempts: outcome.attempts(),
                status: match outcome {
                    DispatchOutcome::Delivered { status, .. } => Some(*status),
                    DispatchOutcome::Failed {
                        last: AttemptResult::Response { status, .. },
                        ..
                    } => Some(*status),
                    _ => None,
                },
            })?
        } else {
            format!(
                "delivery {n}/{total}: {}",
                human_outcome(&self.url, outcome)
            )
        };
        crate::out::line(&line)
    }

    /// The summary line after every delivery of `trigger --repeat` has ended.
    pub(crate) fn summary(&mut self, total: usize, delivered: usize) -> anyhow::Result<()> {
        let failed = total.saturating_sub(delivered);
        let line = if self.json {
            serde_json::to_string(&SummaryLine {
                deliveries: total,
                delivered,
                failed,
            })?
        } else {
            format!(
                "{total} deliveries to {}: {delivered} delivered, {failed} not delivered",
                self.url
            )
        };
        crate::out::line(&line)
    }
}

/// Whole milliseconds, saturating.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `attempt 2/4: 503 Service Unavailable in 12 ms; next attempt in 2 s`
fn human_attempt(report: &AttemptReport, error: Option<&str>) -> String {
    let what = match (error, report.status) {
        (Some(error), Some(status)) => format!("{} then {error}", status_text(status)),
        (Some(error), None) => format!("error: {error}"),
        (None, Some(status)) => status_text(status),
        (None, None) => "no response".to_owned(),
    };
    let next = match (report.retry_in, &report.outcome) {
        (Some(wait), _) => format!("; next attempt in {}", human_duration(wait)),
        (None, Some(outcome)) if outcome.is_delivered() => String::new(),
        (None, _) => "; no more attempts".to_owned(),
    };
    format!(
        "attempt {}/{}: {what} in {}{next}",
        report.attempt,
        report.max_attempts,
        human_duration(report.latency)
    )
}

/// The summary line of one delivery.
fn human_outcome(url: &str, outcome: &DispatchOutcome) -> String {
    let attempts = |n: u32| {
        if n == 1 {
            "1 attempt".to_owned()
        } else {
            format!("{n} attempts")
        }
    };
    match outcome {
        DispatchOutcome::Delivered {
            attempts: n,
            status,
        } => {
            format!("delivered to {url} ({status}) after {}", attempts(*n))
        }
        DispatchOutcome::Failed { attempts: n, last } => {
            let why = match last {
                AttemptResult::Response { status, .. } if (400..500).contains(status) => {
                    format!("{status} is final (4xx responses are not retried)")
                }
                AttemptResult::Response { status, .. } => format!("last answer {status}"),
                AttemptResult::Timeout => "the last attempt timed out".to_owned(),
                AttemptResult::Network(kind) => {
                    format!("the last attempt failed ({} error)", kind.as_str())
                }
                other => format!("last result {other:?}"),
            };
            format!(
                "not delivered to {url}: {why}; gave up after {}",
                attempts(*n)
            )
        }
        DispatchOutcome::Refused { reason, .. } => format!("not delivered: {reason}"),
        DispatchOutcome::Abandoned { attempts: n } => {
            format!("not delivered to {url}: abandoned after {}", attempts(*n))
        }
        other => format!("not delivered to {url}: {other:?}"),
    }
}

/// `12 ms`, `2 s`, `1.5 s`.
pub(crate) fn human_duration(duration: Duration) -> String {
    if duration >= Duration::from_secs(1) {
        let seconds = duration.as_secs_f64();
        if duration.subsec_millis() == 0 {
            format!("{seconds:.0} s")
        } else {
            format!("{seconds:.1} s")
        }
    } else {
        format!("{} ms", duration.as_millis())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_millis(12)), "12 ms");
        assert_eq!(human_duration(Duration::from_secs(2)), "2 s");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5 s");
    }

    #[test]
    fn statuses_carry_their_reason() {
        assert_eq!(status_text(503), "503 Service Unavailable");
        assert_eq!(status_text(599), "599");
    }

    #[test]
    fn outcomes_say_why() {
        let failed = DispatchOutcome::Failed {
            attempts: 1,
            last: AttemptResult::status(404),
        };
        let text = human_outcome("https://x.test/", &failed);
        assert!(
            text.contains("404 is final") && text.contains("1 attempt"),
            "{text}"
        );
        let delivered = DispatchOutcome::Delivered {
            attempts: 3,
            status: 200,
        };
        assert_eq!(
            human_outcome("https://x.test/", &delivered),
            "delivered to https://x.test/ (200) after 3 attempts"
        );
    }
}

//! The relay's forwarder: an [`InboxProcessor`] that POSTs each claimed row's original body to
//! the app (`--forward-to`), and classifies the app's answer for the inbox worker.
//!
//! Each attempt sends the body exactly as received, with `Content-Type: application/json`,
//! `Idempotency-Key: <the row's key>` and `X-Runhook-Attempt: <N>` (1 for the first attempt;
//! attempts restart at 1 after a replay). The answer decides:
//!
//! | app's answer | outcome |
//! |---|---|
//! | 2xx | done |
//! | 408, 429 | retried on the inbox policy |
//! | other 4xx | dead (the app refused it for good) |
//! | 1xx, 3xx (redirects are not followed), 5xx | retried |
//! | timeout, network error, refused address | retried |
//!
//! A retried answer with a `Retry-After` header (seconds or an HTTP date) makes the wait before
//! the next attempt at least that long, up to the inbox policy's cap (1 h by default).

mod target;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use runhook::delivery::parse_retry_after;
use runhook::inbox::InboxClaim;
use runhook::{Event, HandlerOutcome};
use runhook_receiver::Received;
use runhook_receiver::inbox::{InboxProcessor, Processed};

pub(crate) use target::ForwardTarget;

/// The default time one forward attempt may take: 30 s.
pub(crate) const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// How many bytes of the app's answer are read (to keep the connection reusable); the rest is
/// dropped with the connection.
const ANSWER_LIMIT: usize = 64 * 1024;

/// The app's status for each attempt, by row key and attempt number, written by the forwarder
/// and taken by whoever prints the attempt's line.
#[derive(Debug, Default)]
pub(crate) struct Statuses {
    inner: Mutex<HashMap<(String, u32), u16>>,
}

impl Statuses {
    /// Records that attempt `attempt` of `key` was answered `status`.
    fn record(&self, key: &str, attempt: u32, status: u16) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((key.to_owned(), attempt), status);
    }

    /// The status of attempt `attempt` of `key`, if the app answered it; forgotten once taken.
    pub(crate) fn take(&self, key: &str, attempt: u32) -> Option<u16> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(key.to_owned(), attempt))
    }
}

/// POSTs claimed rows to the app.
#[derive(Debug)]
pub(crate) struct Forwarder {
    client: reqwest::Client,
    url: reqwest::Url,
    timeout: Duration,
    statuses: Arc<Statuses>,
}

impl Forwarder {
    /// A forwarder to `target`, each attempt bounded by `timeout`, recording statuses in
    /// `statuses`; `connections` is how many idle connections to the app are kept.
    pub(crate) fn new(
        target: &ForwardTarget,
        timeout: Duration,
        connections: usize,
        statuses: Arc<Statuses>,
    ) -> anyhow::Result<Forwarder> {
        Ok(Forwarder {
            client: target.client(connections.max(1))?,
            url: target.url().clone(),
            timeout,
            statuses,
        })
    }

    /// One attempt: the outcome for the worker. The app's status, if it answered, is recorded.
    pub(crate) async fn forward(&self, key: &str, attempt: u32, body: bytes::Bytes) -> Processed {
        let request = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("Idempotency-Key", key)
            .header("X-Runhook-Attempt", attempt.to_string())
            .body(body);
        let exchange = async {
            let mut response = request.send().await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()));
            self.statuses.record(key, attempt, status);
            // Read a little of the answer so that the connection can be reused; a body that
            // breaks off does not change what the status says.
            let mut read = 0;
            while read < ANSWER_LIMIT {
                match response.chunk().await {
                    Ok(Some(chunk)) => read += chunk.len(),
                    Ok(None) | Err(_) => break,
                }
            }
            Ok::<_, reqwest::Error>((status, retry_after))
        };
        let outcome = match tokio::time::timeout(self.timeout, exchange).await {
            Ok(Ok((status, retry_after))) => match (classify(status), retry_after) {
                (HandlerOutcome::Retry { reason }, Some(after)) => {
                    return Processed::RetryAfter {
                        reason: format!("{reason} (Retry-After: {} s)", after.as_secs()),
                        after,
                    };
                }
                (outcome, _) => outcome,
            },
            Ok(Err(error)) => HandlerOutcome::retry(describe(&error)),
            Err(_elapsed) => match self.statuses.peek(key, attempt) {
                // The status line came in; the body stalled. The status decides.
                Some(status) => classify(status),
                None => HandlerOutcome::retry(format!(
                    "the app did not answer within {} ms",
                    self.timeout.as_millis()
                )),
            },
        };
        Processed::Outcome(outcome)
    }
}

impl Statuses {
    /// The status of attempt `attempt` of `key`, if recorded (not taken).
    fn peek(&self, key: &str, attempt: u32) -> Option<u16> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(key.to_owned(), attempt))
            .copied()
    }
}

#[async_trait]
impl InboxProcessor for Forwarder {
    async fn process(&self, claim: &InboxClaim, _event: Received<Event>) -> Processed {
        let entry = &claim.entry;
        self.forward(entry.key.as_str(), entry.attempts, entry.body.clone())
            .await
    }
}

/// What the app's `status` means for the row.
pub(crate) fn classify(status: u16) -> HandlerOutcome {
    let reason = format!("the app answered {}", describe_status(status));
    match status {
        200..=299 => HandlerOutcome::Ok,
        408 | 429 => HandlerOutcome::retry(reason),
        400..=499 => HandlerOutcome::reject(reason),
        _ => HandlerOutcome::retry(reason),
    }
}

/// `503 Service Unavailable`, or the bare number for a status without a reason phrase.
fn describe_status(status: u16) -> String {
    match http::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
    {
        Some(phrase) => format!("{status} {phrase}"),
        None => status.to_string(),
    }
}

/// A one-line description of a failed exchange: what kind, then the causes without repeats.
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_connect() {
        "cannot connect to the app"
    } else if error.is_timeout() {
        "the app did not answer in time"
    } else if error.is_request() {
        "the request to the app failed"
    } else {
        "the exchange with the app failed"
    };
    let mut text = kind.to_owned();
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let mut last = String::new();
    while let Some(cause) = source {
        let message = cause.to_string();
        if message != last && !text.contains(&message) {
            text.push_str(": ");
            text.push_str(&message);
            last = message;
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_hundreds_are_done_four_hundreds_dead_except_408_and_429_and_the_rest_retried() {
        assert_eq!(classify(200), HandlerOutcome::Ok);
        assert_eq!(classify(204), HandlerOutcome::Ok);
        for retried in [408, 429, 500, 502, 503, 301, 302, 100] {
            assert!(
                matches!(classify(retried), HandlerOutcome::Retry { .. }),
                "{retried}"
            );
        }
        for dead in [400, 401, 403, 404, 410, 422] {
            assert!(
                matches!(classify(dead), HandlerOutcome::Reject { .. }),
                "{dead}"
            );
        }
        assert_eq!(
            classify(503),
            HandlerOutcome::retry("the app answered 503 Service Unavailable")
        );
    }
}

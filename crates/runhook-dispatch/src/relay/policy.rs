//! The relay's inbox policy: [`RetryPolicy::inbox`] with the relay's waits and attempt timeout,
//! and the statuses of a misconfigured target retried instead of given up.

use std::time::Duration;

use runhook::RetryPolicy;
use runhook::delivery::StatusClass;
use runhook::inbox::InboxPolicy;

use super::RelayError;

/// The statuses that say the relay is misconfigured rather than that the app refused the event:
/// 404 Not Found and 405 Method Not Allowed (a wrong path or app), 501 Not Implemented (a server
/// that does not take POST). Retried on the policy, never dead at once.
pub const MISCONFIGURED: [u16; 3] = [404, 405, 501];

/// The time one forward attempt may take by default: 30 s.
pub const DEFAULT_FORWARD_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest wait between two attempts on one row: 1 h.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);

/// How much longer than a forward attempt the inbox worker waits before it stops the attempt
/// itself: the forwarder's own deadline always comes first, and names the app.
pub const WORKER_MARGIN: Duration = Duration::from_secs(5);

/// The relay's policy: [`RetryPolicy::inbox`] (408 and 429 retried, other 4xx dead,
/// `Retry-After` honoured up to 1 h, up to 100 attempts) with waits from `retry_base` doubling
/// up to [`MAX_WAIT`] (± 25 %), an attempt timeout of `forward_timeout` plus [`WORKER_MARGIN`],
/// the [`MISCONFIGURED`] statuses retried, and rows given up 72 h after receipt.
pub fn policy(forward_timeout: Duration, retry_base: Duration) -> Result<InboxPolicy, RelayError> {
    let builder = RetryPolicy::inbox()
        .to_builder()
        .exponential(retry_base, 2.0, MAX_WAIT.max(retry_base))
        .attempt_timeout(forward_timeout.saturating_add(WORKER_MARGIN));
    let retry = MISCONFIGURED
        .into_iter()
        .fold(builder, |builder, status| {
            builder.status(status, StatusClass::Retry)
        })
        .build()
        .map_err(|error| RelayError::Policy(error.to_string()))?;
    Ok(InboxPolicy::new(retry, InboxPolicy::DEFAULT_GIVE_UP_AFTER))
}

#[cfg(test)]
mod tests {
    use runhook::delivery::{AttemptResult, RetryDecision};

    use super::*;

    #[test]
    fn misconfigured_statuses_are_retried_and_the_inbox_table_holds_otherwise() {
        let policy = policy(Duration::from_secs(30), Duration::from_secs(1)).unwrap();
        let decide = |status| policy.retry.classify(&AttemptResult::status(status));
        for retried in [404, 405, 501, 408, 429, 500, 503, 301, 100] {
            assert!(
                matches!(decide(retried), RetryDecision::Retry { .. }),
                "{retried}"
            );
        }
        for dead in [400, 401, 403, 410, 422] {
            assert_eq!(decide(dead), RetryDecision::GiveUp, "{dead}");
        }
        assert_eq!(decide(204), RetryDecision::Delivered);
        assert_eq!(policy.retry.attempt_timeout(), Duration::from_secs(35));
        assert_eq!(policy.retry.max_attempts(), RetryPolicy::MAX_ATTEMPTS);
        assert_eq!(policy.give_up_after, InboxPolicy::DEFAULT_GIVE_UP_AFTER);
    }
}

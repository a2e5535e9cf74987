//! What an attempt's result means: delivered, retry, or give up. Pure, and separate from
//! scheduling: whether attempts are left is the state machine's business.

use std::time::Duration;

use super::attempt::AttemptResult;
use super::policy::RetryPolicy;

/// What a policy makes of one attempt's result.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryDecision {
    /// The endpoint acknowledged the event: stop.
    Delivered,
    /// Try again, if attempts are left.
    Retry {
        /// The delay the server asked for with `Retry-After`, already capped, when the policy
        /// honours it and the response carried one. The wait is at least this long and never
        /// shorter than the scheduled wait ([`RetryAfterRule`](super::RetryAfterRule)).
        after: Option<Duration>,
    },
    /// Stop: the endpoint refused the event for good.
    GiveUp,
}

/// What a status override maps a status to (see [`RetryPolicyBuilder::status`](super::RetryPolicyBuilder::status)).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusClass {
    /// Treat the status as an acknowledgement.
    Delivered,
    /// Retry the status (honouring `Retry-After` if the policy does).
    Retry,
    /// Give up on the status.
    GiveUp,
}

impl StatusClass {
    /// The default table (docs/protocol.md §4.1): 2xx delivered, 4xx give up, anything else (1xx, 3xx,
    /// 5xx, and numbers outside 100–599) retry, as "non-2xx responses trigger retries (except
    /// 4xx)".
    pub fn of_status(status: u16) -> Self {
        match status {
            200..=299 => StatusClass::Delivered,
            400..=499 => StatusClass::GiveUp,
            _ => StatusClass::Retry,
        }
    }
}

impl RetryPolicy {
    /// How this policy classifies a response status: its override if it has one, else the
    /// default table ([`StatusClass::of_status`]).
    pub fn status_class(&self, status: u16) -> StatusClass {
        self.overrides
            .get(&status)
            .copied()
            .unwrap_or_else(|| StatusClass::of_status(status))
    }

    /// What `result` means under this policy. Pure: the same result always gets the same
    /// decision, whatever attempt it came from. Network errors and timeouts are always retried.
    pub fn classify(&self, result: &AttemptResult) -> RetryDecision {
        match result {
            AttemptResult::Response {
                status,
                retry_after,
            } => match self.status_class(*status) {
                StatusClass::Delivered => RetryDecision::Delivered,
                StatusClass::GiveUp => RetryDecision::GiveUp,
                StatusClass::Retry => RetryDecision::Retry {
                    after: self.retry_after.honoured(*retry_after),
                },
            },
            AttemptResult::Network(_) | AttemptResult::Timeout => {
                RetryDecision::Retry { after: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::NetworkErrorKind;

    fn response(status: u16, retry_after_s: Option<u64>) -> AttemptResult {
        AttemptResult::Response {
            status,
            retry_after: retry_after_s.map(Duration::from_secs),
        }
    }

    const RETRY: RetryDecision = RetryDecision::Retry { after: None };

    #[test]
    fn tinyfish_table() {
        let policy = RetryPolicy::tinyfish();
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(
                policy.classify(&response(status, None)),
                RetryDecision::Delivered
            );
        }
        for status in [400, 401, 403, 404, 408, 410, 413, 422, 425, 429, 499] {
            assert_eq!(
                policy.classify(&response(status, Some(1))),
                RetryDecision::GiveUp,
                "{status}"
            );
        }
        for status in [
            100, 103, 199, 300, 301, 302, 304, 308, 500, 502, 503, 504, 599, 600,
        ] {
            assert_eq!(policy.classify(&response(status, None)), RETRY, "{status}");
        }
        assert_eq!(
            policy.classify(&response(503, Some(30))),
            RETRY,
            "TinyFish ignores Retry-After"
        );
        for kind in [
            NetworkErrorKind::Connect,
            NetworkErrorKind::Tls,
            NetworkErrorKind::Reset,
            NetworkErrorKind::Body,
            NetworkErrorKind::Other,
        ] {
            assert_eq!(policy.classify(&AttemptResult::Network(kind)), RETRY);
        }
        assert_eq!(policy.classify(&AttemptResult::Timeout), RETRY);
    }

    #[test]
    fn standard_retries_408_425_429_and_caps_retry_after() {
        let policy = RetryPolicy::standard();
        for status in [408, 425, 429] {
            assert_eq!(policy.classify(&response(status, None)), RETRY);
        }
        for status in [400, 404, 409, 410, 422] {
            assert_eq!(
                policy.classify(&response(status, Some(5))),
                RetryDecision::GiveUp
            );
        }
        assert_eq!(
            policy.classify(&response(429, Some(3))),
            RetryDecision::Retry {
                after: Some(Duration::from_secs(3))
            }
        );
        assert_eq!(
            policy.classify(&response(503, Some(3600))),
            RetryDecision::Retry {
                after: Some(Duration::from_secs(60))
            }
        );
        assert_eq!(
            policy.classify(&response(200, Some(3))),
            RetryDecision::Delivered
        );
    }

    #[test]
    fn overrides_win_over_the_table() {
        let policy = RetryPolicy::builder()
            .status(410, StatusClass::GiveUp)
            .status(503, StatusClass::GiveUp)
            .status(202, StatusClass::Retry)
            .status(409, StatusClass::Delivered)
            .build()
            .unwrap();
        assert_eq!(policy.classify(&response(503, None)), RetryDecision::GiveUp);
        assert_eq!(policy.classify(&response(202, None)), RETRY);
        assert_eq!(
            policy.classify(&response(409, None)),
            RetryDecision::Delivered
        );
        assert_eq!(policy.classify(&response(500, None)), RETRY);
        assert_eq!(policy.status_class(410), StatusClass::GiveUp);
    }
}

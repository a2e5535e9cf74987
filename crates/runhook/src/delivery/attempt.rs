//! What one attempt produced, the attempt log, and the final outcome.

use std::time::{Duration, Instant};

/// What one delivery attempt produced, as the driver observed it.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptResult {
    /// The endpoint answered with an HTTP status (redirects are never followed, so a 3xx lands
    /// here too).
    Response {
        /// The status code.
        status: u16,
        /// The `Retry-After` header, parsed with [`parse_retry_after`](super::parse_retry_after),
        /// if the response carried one that parses.
        retry_after: Option<Duration>,
    },
    /// No HTTP response: the request failed below HTTP.
    Network(NetworkErrorKind),
    /// The whole attempt (connect, TLS, request, response head and body) exceeded its deadline.
    Timeout,
}

impl AttemptResult {
    /// A response without a `Retry-After` header.
    pub fn status(status: u16) -> Self {
        AttemptResult::Response {
            status,
            retry_after: None,
        }
    }
}

/// The kind of a failure below HTTP. Every kind is retried; the kinds exist for the attempt log.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NetworkErrorKind {
    /// The TCP connection could not be made (refused, unreachable, DNS failure, forbidden address).
    Connect,
    /// The TLS handshake failed (certificate, protocol).
    Tls,
    /// The connection was reset or closed before a response arrived.
    Reset,
    /// The response head arrived but its body could not be read.
    Body,
    /// Any other failure below HTTP.
    Other,
}

impl NetworkErrorKind {
    /// A short lowercase name (`connect`, `tls`, `reset`, `body`, `other`), as used in the shared
    /// vectors and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkErrorKind::Connect => "connect",
            NetworkErrorKind::Tls => "tls",
            NetworkErrorKind::Reset => "reset",
            NetworkErrorKind::Body => "body",
            NetworkErrorKind::Other => "other",
        }
    }

    /// The kind named by [`as_str`](Self::as_str), if any.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "connect" => NetworkErrorKind::Connect,
            "tls" => NetworkErrorKind::Tls,
            "reset" => NetworkErrorKind::Reset,
            "body" => NetworkErrorKind::Body,
            "other" => NetworkErrorKind::Other,
            _ => return None,
        })
    }
}

/// One entry of a delivery's attempt log.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The attempt number, 1-based.
    pub attempt: u32,
    /// When the attempt started (the instant `poll_action` returned its `Send`).
    pub started: Instant,
    /// When it ended: the instant its result was handled, or its deadline if it timed out.
    /// `None` while it is in flight.
    pub ended: Option<Instant>,
    /// What it produced. `None` while it is in flight.
    pub result: Option<AttemptResult>,
    /// The wait before the next attempt, if one follows.
    pub next_wait: Option<Duration>,
}

/// How a delivery ended.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The endpoint acknowledged the event.
    Delivered {
        /// Attempts made, including the successful one.
        attempts: u32,
        /// The acknowledging status (2xx unless the policy overrides a status to delivered).
        status: u16,
    },
    /// The delivery gave up: a final status, or no attempts left.
    Failed {
        /// Attempts made.
        attempts: u32,
        /// The result of the last attempt.
        last: AttemptResult,
    },
}

impl DeliveryOutcome {
    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            DeliveryOutcome::Delivered { attempts, .. }
            | DeliveryOutcome::Failed { attempts, .. } => *attempts,
        }
    }

    /// Whether the endpoint acknowledged the event.
    pub fn is_delivered(&self) -> bool {
        matches!(self, DeliveryOutcome::Delivered { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_kind_names_round_trip() {
        for kind in [
            NetworkErrorKind::Connect,
            NetworkErrorKind::Tls,
            NetworkErrorKind::Reset,
            NetworkErrorKind::Body,
            NetworkErrorKind::Other,
        ] {
            assert_eq!(NetworkErrorKind::from_name(kind.as_str()), Some(kind));
        }
        assert_eq!(NetworkErrorKind::from_name("Connect"), None);
    }

    #[test]
    fn outcome_accessors() {
        let delivered = DeliveryOutcome::Delivered {
            attempts: 2,
            status: 204,
        };
        let failed = DeliveryOutcome::Failed {
            attempts: 4,
            last: AttemptResult::Timeout,
        };
        assert_eq!((delivered.attempts(), delivered.is_delivered()), (2, true));
        assert_eq!((failed.attempts(), failed.is_delivered()), (4, false));
    }
}

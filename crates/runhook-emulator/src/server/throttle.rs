//! Answers a share of the runs API's reads with 429 and `Retry-After`, as a rate-limited API
//! would ([`EmulatorConfig::throttle_reads`](crate::EmulatorConfig::throttle_reads)).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::RETRY_AFTER;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api_error::ApiError;
use crate::state::Shared;

/// Which reads are answered 429: a `fraction` of them, spread evenly (the 4th, 7th, 10th, …
/// of every ten for 0.3), each with `Retry-After: retry_after`.
#[derive(Debug)]
pub(crate) struct Throttle {
    fraction: f64,
    retry_after: Duration,
    reads: AtomicU64,
}

impl Throttle {
    pub(crate) fn new(fraction: f64, retry_after: Duration) -> Self {
        Throttle {
            fraction,
            retry_after,
            reads: AtomicU64::new(0),
        }
    }

    /// Whether the next read is answered 429.
    fn next_is_throttled(&self) -> bool {
        let n = self.reads.fetch_add(1, Ordering::Relaxed);
        // Exact for the counts a test reaches (below 2^53).
        #[allow(clippy::cast_precision_loss)]
        let (before, after) = (n as f64 * self.fraction, (n + 1) as f64 * self.fraction);
        after.floor() > before.floor()
    }
}

/// The middleware of the throttled routes.
pub(super) async fn throttle_reads(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(throttle) = &shared.settings.throttle else {
        return next.run(request).await;
    };
    if !throttle.next_is_throttled() {
        return next.run(request).await;
    }
    let seconds = throttle.retry_after.as_secs().max(1);
    let mut response = ApiError::throttled(seconds).into_response();
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(seconds));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fraction_is_spread_evenly() {
        let throttle = Throttle::new(0.3, Duration::from_secs(1));
        let throttled: Vec<bool> = (0..10).map(|_| throttle.next_is_throttled()).collect();
        assert_eq!(throttled.iter().filter(|t| **t).count(), 3);
        // Never two in a row at 0.3: a client's retry gets through.
        assert!(!throttled.windows(2).any(|w| w[0] && w[1]), "{throttled:?}");
        let never = Throttle::new(0.0, Duration::from_secs(1));
        assert!(!(0..100).any(|_| never.next_is_throttled()));
    }
}

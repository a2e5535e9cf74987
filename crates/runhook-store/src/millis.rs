//! Times as the integer milliseconds every durable store keeps.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `span` in milliseconds, saturating far below overflow so sums stay valid.
pub(crate) fn millis(span: Duration) -> i64 {
    i64::try_from(span.as_millis()).unwrap_or(i64::MAX / 4)
}

/// `now` in milliseconds since the Unix epoch (0 before it).
pub(crate) fn millis_since_epoch(now: SystemTime) -> i64 {
    millis(now.duration_since(UNIX_EPOCH).unwrap_or_default())
}

/// The time `ms` milliseconds after the Unix epoch (the epoch for a negative value).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn time_from_millis(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or_default())
}

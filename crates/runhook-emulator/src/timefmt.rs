//! Timestamps as the API writes and reads them: RFC 3339 in UTC, to the millisecond.

use std::time::Duration;

use runhook::Timestamp;
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Now, in UTC, truncated to the millisecond (so that what is stored is what is shown).
pub(crate) fn now() -> OffsetDateTime {
    truncate(OffsetDateTime::now_utc())
}

/// `t` in UTC, truncated to the millisecond.
pub(crate) fn truncate(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(UtcOffset::UTC);
    let millis = t.millisecond();
    t.replace_millisecond(millis).unwrap_or(t)
}

/// `t` as the API shows it, a [`Timestamp`] in UTC to the millisecond (the epoch for an instant
/// RFC 3339 cannot write, a year beyond 9999).
pub(crate) fn stamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from_offset_date_time(truncate(t)).unwrap_or_else(|_| Timestamp::unix_epoch())
}

/// `t` as RFC 3339 (`2026-03-25T10:30:05.123Z`).
pub(crate) fn format(t: OffsetDateTime) -> String {
    truncate(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// An RFC 3339 timestamp (a `date-time`: a date alone is not one).
pub(crate) fn parse(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// A duration as a step shows it: `1.2s`.
pub(crate) fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let t = parse("2026-03-25T10:30:05.123456Z").unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(format(t), "2026-03-25T10:30:05.123Z");
        assert_eq!(stamp(t).as_str(), "2026-03-25T10:30:05.123Z");
        let t = parse("2026-03-25T12:30:05+02:00").unwrap_or(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(format(t), "2026-03-25T10:30:05Z");
        assert!(parse("2026-01-01").is_none());
        assert!(parse("yesterday").is_none());
        assert_eq!(seconds(Duration::from_millis(1234)), "1.2s");
    }
}

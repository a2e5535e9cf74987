//! Times as printed: RFC 3339 in UTC, to the millisecond (`2026-03-25T10:30:00.123Z`).

use std::time::SystemTime;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `at` as RFC 3339 in UTC, to the millisecond.
pub(crate) fn rfc3339(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    let at = at
        .replace_nanosecond(at.millisecond() as u32 * 1_000_000)
        .unwrap_or(at);
    at.format(&Rfc3339).unwrap_or_else(|_| format!("{at}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn times_print_in_utc_to_the_millisecond() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_774_434_600_123);
        assert_eq!(rfc3339(at), "2026-03-25T10:30:00.123Z");
        let whole = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
        assert_eq!(rfc3339(whole), "2026-03-25T10:30:00Z");
    }
}

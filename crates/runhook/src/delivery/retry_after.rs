//! Parsing the `Retry-After` response header (RFC 9110 §10.2.3).

use std::time::{Duration, SystemTime};

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00
/// GMT`, or the obsolete RFC 850 and asctime forms), the date taken relative to `now_wall` (a date
/// in the past means no delay). Surrounding whitespace is ignored; a number too large for a
/// `Duration` saturates (the policy caps it anyway). `None` for anything else: negative or
/// fractional numbers, empty values, other text.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use runhook::delivery::parse_retry_after;
///
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_470); // 2015-10-21 07:27:50 UTC
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(10)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now_wall: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits, so the one possible parse failure is overflow.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now_wall).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// 2015-10-21 07:28:00 UTC, the date of RFC 9110's example.
    fn example_date() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_445_412_480)
    }

    #[test]
    fn delta_seconds() {
        let now = example_date();
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 42\t", now),
            Some(Duration::from_secs(42))
        );
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn http_dates_in_all_three_forms() {
        let now = example_date() - Duration::from_secs(90);
        let ninety = Some(Duration::from_secs(90));
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            ninety
        );
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            ninety
        );
        assert_eq!(parse_retry_after("Wed Oct 21 07:28:00 2015", now), ninety);
    }

    #[test]
    fn a_past_date_means_no_delay() {
        let now = example_date() + Duration::from_secs(3600);
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn garbage_is_none() {
        let now = example_date();
        for value in [
            "",
            "  ",
            "-1",
            "+5",
            "1.5",
            "1e3",
            "soon",
            "Wed, 32 Oct 2015 07:28:00 GMT",
            "３",
        ] {
            assert_eq!(parse_retry_after(value, now), None, "{value:?}");
        }
    }
}

//! The `Retry-After` response header (RFC 9110 §10.2.3): parsing it, and the one rule that says
//! what a policy makes of it.

use std::time::{Duration, SystemTime};

/// What a retry policy makes of a `Retry-After` the other side sent with a retried answer.
///
/// runhook has one rule for honouring it, shared by the delivery state machine
/// ([`Delivery`](super::Delivery)) and the inbox ([`decide_attempt`](crate::inbox::decide_attempt)):
/// **at least the server's wait, never sooner than the schedule.** The next attempt waits the
/// longer of the two: the server's wait (capped) and the schedule's own wait (with its jitter).
///
/// - A server that asks for more time than the schedule gets it, up to the cap: a rate limit or a
///   maintenance window is respected.
/// - A server that asks for less (`Retry-After: 0`, say) does not hasten the next attempt: a
///   short wait never spends the policy's attempts faster than its schedule, and a sender that
///   answers every failure with `Retry-After: 0` cannot turn the retries into a tight loop.
/// - A wait above the cap is cut to the cap, so a wrong header cannot park a delivery for days.
///
/// The other possible rule, "the server's wait replaces the schedule", is not offered: it lets a
/// zero or tiny `Retry-After` burn every attempt at once.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RetryAfterRule {
    /// `Retry-After` is ignored: the schedule alone decides (the TinyFish preset).
    Ignore,
    /// The wait is at least the server's `Retry-After`, cut to `cap`, and never shorter than the
    /// schedule's (jittered) wait: the longer of the two.
    AtLeast {
        /// The longest server wait honoured; a longer one is cut to it.
        cap: Duration,
    },
}

impl RetryAfterRule {
    /// At least the server's wait, cut to `cap`, never sooner than the schedule.
    pub const fn at_least(cap: Duration) -> Self {
        RetryAfterRule::AtLeast { cap }
    }

    /// The cap on an honoured `Retry-After`, or `None` when it is ignored.
    pub fn cap(self) -> Option<Duration> {
        match self {
            RetryAfterRule::Ignore => None,
            RetryAfterRule::AtLeast { cap } => Some(cap),
        }
    }

    /// The server's wait as this rule honours it: cut to the cap; `None` when ignored or absent.
    pub fn honoured(self, asked: Option<Duration>) -> Option<Duration> {
        Some(asked?.min(self.cap()?))
    }

    /// The wait before the next attempt: `scheduled` (the schedule's wait, jitter applied) and the
    /// server's `asked` wait (`Retry-After`, as parsed) combined under this rule.
    ///
    /// ```
    /// use std::time::Duration;
    /// use runhook::delivery::RetryAfterRule;
    ///
    /// let s = Duration::from_secs;
    /// let rule = RetryAfterRule::at_least(s(60));
    /// assert_eq!(rule.wait(s(2), Some(s(30))), s(30)); // the server asks for longer: honoured
    /// assert_eq!(rule.wait(s(2), Some(s(0))), s(2)); // shorter: the schedule stands
    /// assert_eq!(rule.wait(s(2), Some(s(3600))), s(60)); // above the cap: cut to it
    /// assert_eq!(RetryAfterRule::Ignore.wait(s(2), Some(s(30))), s(2));
    /// ```
    pub fn wait(self, scheduled: Duration, asked: Option<Duration>) -> Duration {
        match self.honoured(asked) {
            Some(asked) => asked.max(scheduled),
            None => scheduled,
        }
    }
}

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
    fn the_rule_takes_the_longer_wait_and_caps_the_servers() {
        let s = Duration::from_secs;
        let rule = RetryAfterRule::at_least(s(60));
        assert_eq!(rule.cap(), Some(s(60)));
        assert_eq!(rule.honoured(Some(s(90))), Some(s(60)));
        assert_eq!(rule.honoured(None), None);
        for (scheduled, asked, expected) in [
            (s(1), None, s(1)),
            (s(1), Some(s(0)), s(1)),
            (s(4), Some(s(3)), s(4)),
            (s(4), Some(s(5)), s(5)),
            (s(4), Some(s(3600)), s(60)),
            (s(120), Some(s(3600)), s(120)),
            (s(1), Some(Duration::MAX), s(60)),
        ] {
            assert_eq!(
                rule.wait(scheduled, asked),
                expected,
                "{scheduled:?} {asked:?}"
            );
        }
        let ignore = RetryAfterRule::Ignore;
        assert_eq!((ignore.cap(), ignore.honoured(Some(s(5)))), (None, None));
        assert_eq!(ignore.wait(s(2), Some(s(30))), s(2));
        assert_eq!(ignore.wait(s(2), Some(s(0))), s(2));
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

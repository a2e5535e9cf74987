//! Times and durations as the pages show them.

use std::time::{Duration, SystemTime};

use maud::{Markup, html};
use time::OffsetDateTime;

/// `at` in UTC: `(RFC 3339, human)`, e.g. `("2026-03-25T10:30:00Z", "2026-03-25 10:30:00")`.
fn utc(at: SystemTime) -> (String, String) {
    let seconds = match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    };
    let Ok(t) = OffsetDateTime::from_unix_timestamp(seconds) else {
        return ("".to_owned(), "out of range".to_owned());
    };
    let (date, clock) = (
        format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second()),
    );
    (format!("{date}T{clock}Z"), format!("{date} {clock}"))
}

/// `at` as a `<time>` element: UTC in its text and title; the script rewrites the text into
/// the browser's local time.
pub(crate) fn time_tag(at: SystemTime) -> Markup {
    let (rfc3339, human) = utc(at);
    html! {
        time datetime=(rfc3339) title={ (human) " UTC" } { (human) " UTC" }
    }
}

/// `at` in UTC as plain text (for descriptions).
pub(crate) fn utc_text(at: SystemTime) -> String {
    format!("{} UTC", utc(at).1)
}

/// A duration for people: `850 ms`, `3.2 s`, `4 min 5 s`, `2 h 3 min`, `3 d 4 h`.
pub(crate) fn duration(d: Duration) -> String {
    let seconds = d.as_secs();
    match seconds {
        0 => format!("{} ms", d.as_millis()),
        1..60 => format!("{:.1} s", d.as_secs_f64()),
        60..3_600 => format!("{} min {} s", seconds / 60, seconds % 60),
        3_600..86_400 => format!("{} h {} min", seconds / 3_600, seconds % 3_600 / 60),
        _ => format!("{} d {} h", seconds / 86_400, seconds % 86_400 / 3_600),
    }
}

/// How long ago `at` was, at `now` (zero if it is in the future).
pub(crate) fn age(now: SystemTime, at: SystemTime) -> String {
    duration(now.duration_since(at).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_in_rfc3339_and_in_words() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_774_434_600);
        let tag = time_tag(at).into_string();
        assert_eq!(
            tag,
            "<time datetime=\"2026-03-25T10:30:00Z\" title=\"2026-03-25 10:30:00 UTC\">\
             2026-03-25 10:30:00 UTC</time>"
        );
        assert_eq!(utc_text(SystemTime::UNIX_EPOCH), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(Duration::from_millis(850)), "850 ms");
        assert_eq!(duration(Duration::from_millis(3_240)), "3.2 s");
        assert_eq!(duration(Duration::from_secs(245)), "4 min 5 s");
        assert_eq!(duration(Duration::from_secs(7_380)), "2 h 3 min");
        assert_eq!(
            duration(Duration::from_secs(3 * 86_400 + 4 * 3_600)),
            "3 d 4 h"
        );
    }
}

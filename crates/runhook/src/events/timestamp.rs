//! RFC 3339 timestamps that keep their original text.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An RFC 3339 timestamp, parsed into a [`time::OffsetDateTime`], that keeps its original text.
///
/// Keeping the text makes parse-then-serialize lossless (`+00:00` stays `+00:00`, `.000Z` stays
/// `.000Z`). Comparison, ordering and hashing use the instant, not the text.
#[derive(Clone)]
pub struct Timestamp {
    instant: OffsetDateTime,
    text: Box<str>,
}

/// Why a string is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text does not parse as RFC 3339.
    #[error("{text:?} is not an RFC 3339 timestamp such as \"2026-03-25T10:30:00Z\": {reason}")]
    Invalid {
        /// The text that was given.
        text: String,
        /// What the parser objected to.
        reason: String,
    },
    /// The instant cannot be written as RFC 3339 (for example a year beyond 9999).
    #[error("the instant {instant} cannot be written as RFC 3339: {reason}")]
    Unrepresentable {
        /// The instant, debug-formatted.
        instant: String,
        /// What the formatter objected to.
        reason: String,
    },
}

impl Timestamp {
    /// Parses an RFC 3339 timestamp.
    pub fn parse(text: &str) -> Result<Self, TimestampError> {
        // RFC 3339 §5.6 allows only `T` or `t` between date and time; the `time` crate accepts
        // any character there, which the JSON Schema's `date-time` does not.
        if !matches!(text.as_bytes().get(10), Some(b'T' | b't')) {
            return Err(TimestampError::Invalid {
                text: text.to_owned(),
                reason: "the date and the time must be separated by 'T'".to_owned(),
            });
        }
        let instant =
            OffsetDateTime::parse(text, &Rfc3339).map_err(|err| TimestampError::Invalid {
                text: text.to_owned(),
                reason: err.to_string(),
            })?;
        Ok(Timestamp {
            instant,
            text: text.into(),
        })
    }

    /// Makes a timestamp from an instant, written in RFC 3339 form.
    pub fn from_offset_date_time(instant: OffsetDateTime) -> Result<Self, TimestampError> {
        let text = instant
            .format(&Rfc3339)
            .map_err(|err| TimestampError::Unrepresentable {
                instant: format!("{instant:?}"),
                reason: err.to_string(),
            })?;
        Ok(Timestamp {
            instant,
            text: text.into_boxed_str(),
        })
    }

    /// The Unix epoch, `1970-01-01T00:00:00Z`: a fallback for an instant RFC 3339 cannot write
    /// (see [`Timestamp::from_offset_date_time`]).
    pub fn unix_epoch() -> Self {
        Timestamp {
            instant: OffsetDateTime::UNIX_EPOCH,
            text: "1970-01-01T00:00:00Z".into(),
        }
    }

    /// The instant, with the offset the text gave.
    pub fn as_offset_date_time(&self) -> OffsetDateTime {
        self.instant
    }

    /// The original text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch.
    pub fn unix_timestamp(&self) -> i64 {
        self.instant.unix_timestamp()
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.text)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.instant == other.instant
    }
}

impl Eq for Timestamp {}

impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.instant.cmp(&other.instant)
    }
}

impl Hash for Timestamp {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.instant.hash(state);
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

impl TryFrom<OffsetDateTime> for Timestamp {
    type Error = TimestampError;
    fn try_from(instant: OffsetDateTime) -> Result<Self, Self::Error> {
        Self::from_offset_date_time(instant)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                Timestamp::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_text_and_compares_instants() {
        let utc = Timestamp::parse("2026-03-25T10:30:00Z").unwrap();
        let offset = Timestamp::parse("2026-03-25T12:30:00+02:00").unwrap();
        assert_eq!(utc, offset);
        assert_eq!(offset.as_str(), "2026-03-25T12:30:00+02:00");
        assert_eq!(utc.unix_timestamp(), 1_774_434_600);
        let frac = Timestamp::parse("2026-03-25T10:30:00.000Z").unwrap();
        assert_eq!(
            serde_json::to_string(&frac).unwrap(),
            "\"2026-03-25T10:30:00.000Z\""
        );
    }

    #[test]
    fn rejects_non_rfc3339_with_the_text() {
        for bad in [
            "yesterday",
            "2026-03-25 10:30:05",
            "2026-03-25 10:30:05Z",
            "2026-03-25x10:30:05Z",
            "2026-03-25",
            "2026-13-01T00:00:00Z",
        ] {
            let err = Timestamp::parse(bad).unwrap_err();
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[test]
    fn lowercase_separator_and_zone_are_rfc3339() {
        assert!(Timestamp::parse("2026-03-25t10:30:05z").is_ok());
    }

    #[test]
    fn formats_instants() {
        let ts = Timestamp::from_offset_date_time(OffsetDateTime::UNIX_EPOCH).unwrap();
        assert_eq!(ts.as_str(), "1970-01-01T00:00:00Z");
        assert_eq!(Timestamp::unix_epoch().as_str(), ts.as_str());
        assert_eq!(Timestamp::unix_epoch(), ts);
    }
}

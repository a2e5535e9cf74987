//! Run identifiers.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A run identifier: 1 to 256 bytes of `A-Z`, `a-z`, `0-9`, `_` and `-` (a UUID in practice).
///
/// The rule is enforced on parse because a run id becomes an idempotency key, a database key and a
/// path segment of `GET /v1/runs/{id}`: an id such as `../admin` must never get that far.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(Box<str>);

/// Why a string is not a valid [`RunId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunIdError {
    /// The id is empty.
    #[error("run_id is empty; it must be 1 to 256 characters of A-Z, a-z, 0-9, '_' or '-'")]
    Empty,
    /// The id is longer than [`RunId::MAX_LEN`] bytes.
    #[error("run_id is {len} bytes long; at most 256 are allowed")]
    TooLong {
        /// The length in bytes.
        len: usize,
    },
    /// The id holds a character outside `A-Z a-z 0-9 _ -`.
    #[error(
        "run_id has the character {found:?} at byte {index}; only A-Z, a-z, 0-9, '_' and '-' are allowed"
    )]
    InvalidCharacter {
        /// The offending character.
        found: char,
        /// Its byte offset.
        index: usize,
    },
}

impl RunId {
    /// The longest id accepted, in bytes.
    pub const MAX_LEN: usize = 256;

    /// Checks `text` against the run-id rule without allocating.
    pub fn validate(text: &str) -> Result<(), RunIdError> {
        if text.is_empty() {
            return Err(RunIdError::Empty);
        }
        if text.len() > Self::MAX_LEN {
            return Err(RunIdError::TooLong { len: text.len() });
        }
        match text
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            Some((index, found)) => Err(RunIdError::InvalidCharacter { found, index }),
            None => Ok(()),
        }
    }

    /// Makes a run id, checking the rule.
    pub fn new(text: impl Into<String>) -> Result<Self, RunIdError> {
        let text = text.into();
        Self::validate(&text)?;
        Ok(RunId(text.into_boxed_str()))
    }

    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RunId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for RunId {
    type Err = RunIdError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::new(text)
    }
}

impl TryFrom<String> for RunId {
    type Error = RunIdError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::new(text)
    }
}

impl TryFrom<&str> for RunId {
    type Error = RunIdError;
    fn try_from(text: &str) -> Result<Self, Self::Error> {
        Self::new(text)
    }
}

impl PartialEq<str> for RunId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for RunId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl Serialize for RunId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for RunId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = RunId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a run id string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<RunId, E> {
                RunId::validate(text).map_err(E::custom)?;
                Ok(RunId(text.into()))
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_uuids_and_documented_ids() {
        for id in ["4562765d-156e-4c47-b217-55b3ec4a9720", "run-2", "A_b-9"] {
            assert_eq!(RunId::new(id).unwrap().as_str(), id);
        }
        assert!(RunId::new("x".repeat(256)).is_ok());
    }

    #[test]
    fn rejects_bad_ids_with_a_reason() {
        assert_eq!(RunId::new(""), Err(RunIdError::Empty));
        assert_eq!(
            RunId::new("x".repeat(257)),
            Err(RunIdError::TooLong { len: 257 })
        );
        assert_eq!(
            RunId::new("../etc"),
            Err(RunIdError::InvalidCharacter {
                found: '.',
                index: 0
            })
        );
        assert_eq!(
            RunId::new("ab é"),
            Err(RunIdError::InvalidCharacter {
                found: ' ',
                index: 2
            })
        );
        let err = serde_json::from_str::<RunId>("\"a/b\"").unwrap_err();
        assert!(err.to_string().contains("'/'"), "{err}");
    }
}

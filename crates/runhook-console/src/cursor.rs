//! The events table's page cursor: the last row shown (its time received and key), opaque and
//! URL-safe: `<nanoseconds>.<hex of the key>` (nanoseconds: a cursor in
//! milliseconds would skip the rows received later in the same millisecond).

use std::time::{Duration, SystemTime};

use runhook::store::IdempotencyKey;

use crate::text::{hex, unhex};

/// The longest cursor accepted (a key is rarely longer than a few hundred bytes).
const MAX_CURSOR: usize = 4_096;

/// A position in the events table: the rows before it are the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cursor {
    pub(crate) received_at: SystemTime,
    pub(crate) key: IdempotencyKey,
}

impl Cursor {
    /// The cursor as text.
    pub(crate) fn encode(&self) -> String {
        let nanos = self
            .received_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        format!("{nanos}.{}", hex(self.key.as_str().as_bytes()))
    }

    /// The cursor `text` stands for, or what is wrong with it.
    pub(crate) fn decode(text: &str) -> Result<Self, String> {
        if text.len() > MAX_CURSOR {
            return Err(format!("the cursor is longer than {MAX_CURSOR} characters"));
        }
        let (nanos, key) = text
            .split_once('.')
            .ok_or("the cursor is not of the form <nanoseconds>.<key>")?;
        let nanos: u64 = nanos
            .parse()
            .map_err(|_| "the cursor's time is not a number of nanoseconds".to_owned())?;
        let key = unhex(key)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or("the cursor's key is not hex-encoded UTF-8")?;
        let received_at = SystemTime::UNIX_EPOCH
            .checked_add(Duration::from_nanos(nanos))
            .ok_or("the cursor's time is out of range")?;
        Ok(Cursor {
            received_at,
            key: IdempotencyKey::new(key),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_goes_both_ways() {
        let cursor = Cursor {
            received_at: SystemTime::UNIX_EPOCH + Duration::from_nanos(1_774_434_600_123_456_789),
            key: IdempotencyKey::new("run 1/é"),
        };
        let text = cursor.encode();
        assert!(
            text.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'),
            "{text}"
        );
        assert_eq!(Cursor::decode(&text), Ok(cursor));
    }

    #[test]
    fn a_bad_cursor_is_named() {
        assert!(Cursor::decode("nope").unwrap_err().contains("form"));
        assert!(Cursor::decode("x.00").unwrap_err().contains("nanoseconds"));
        assert!(Cursor::decode("1.zz").unwrap_err().contains("hex"));
        assert!(Cursor::decode("1.ff").unwrap_err().contains("UTF-8"));
    }
}

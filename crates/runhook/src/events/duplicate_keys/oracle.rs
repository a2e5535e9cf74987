//! The separate pass over the body that [`deserialize`](super::deserialize) replaced, kept as
//! the oracle of the differential tests: the same findings, from a second walk of the body.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::fmt;

use serde::Deserializer;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::{DuplicateKey, SCAN_LIMIT, Segment, pointer};

/// Walks `body` (already known to be valid JSON) and returns the first repeated key, if any.
pub(crate) fn find(body: &[u8]) -> Option<DuplicateKey> {
    find_up_to(body, 1).pop()
}

/// Walks `body` and returns the repeated keys, in document order, at most `limit` of them. An
/// object that repeats a key is still walked to its end, so every copy is looked into.
pub(crate) fn find_up_to(body: &[u8], limit: usize) -> Vec<DuplicateKey> {
    let mut state = State {
        path: Vec::new(),
        found: Vec::new(),
        limit: limit.max(1),
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    // An error without a finding cannot happen on valid JSON; if it did, there is nothing more
    // to report here.
    let _ = Walk(&mut state).deserialize(&mut deserializer);
    state.found
}

struct State<'de> {
    path: Vec<Segment<'de>>,
    found: Vec<DuplicateKey>,
    limit: usize,
}

struct Walk<'a, 'de>(&'a mut State<'de>);

impl<'de> DeserializeSeed<'de> for Walk<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Reads an object key, borrowing it from the body when it has no escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(key))
    }

    fn visit_str<E>(self, key: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(key.to_owned()))
    }
}

impl<'de> Visitor<'de> for Walk<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            self.0.path.push(Segment::Index(index));
            let more = seq.next_element_seed(Walk(&mut *self.0))?;
            self.0.path.pop();
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut few: Vec<Cow<'de, str>> = Vec::new();
        let mut many: BTreeSet<Cow<'de, str>> = BTreeSet::new();
        while let Some(key) = map.next_key_seed(Key)? {
            let repeated = if many.is_empty() {
                few.contains(&key)
            } else {
                many.contains(&key)
            };
            if repeated {
                let object = pointer(&self.0.path);
                let key_text = key.clone().into_owned();
                if !self
                    .0
                    .found
                    .iter()
                    .any(|d| d.object == object && d.key == key_text)
                {
                    self.0.found.push(DuplicateKey {
                        object,
                        key: key_text,
                    });
                }
                if self.0.found.len() >= self.0.limit {
                    // Stop the walk; the error itself is discarded by `find_up_to`.
                    return Err(serde::de::Error::custom("duplicate key"));
                }
            }
            self.0.path.push(Segment::Key(key.clone()));
            map.next_value_seed(Walk(&mut *self.0))?;
            self.0.path.pop();
            if many.is_empty() && few.len() < SCAN_LIMIT {
                few.push(key);
            } else {
                many.extend(few.drain(..));
                many.insert(key);
            }
        }
        Ok(())
    }
}

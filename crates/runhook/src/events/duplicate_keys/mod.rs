//! Finding a key repeated within one JSON object, in the same pass as the parse.
//!
//! The event parser already refuses a repeated *known* field, but keeps unknown fields and
//! free-form values (`data.result`) in maps where the last copy silently wins. Parsers disagree on
//! which copy wins, so a body with a repeated key can mean two things; TinyFish never sends one.
//!
//! [`deserialize`] parses a body into any type and, in the same pass, notes every key repeated
//! within one object, with the JSON pointer of that object: the `serde_json` deserializer is
//! wrapped ([`Tracked`]) so that each object the type reads (a documented struct, its unknown
//! fields, a free-form map or value) has its keys checked as they go by. Nothing changes for the
//! type: it receives the same calls, the same values and the same errors as from
//! `serde_json::from_slice`.

mod forward;
#[cfg(test)]
mod oracle;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::{DeserializeSeed, MapAccess, SeqAccess};

use super::event_error::push_token;

/// A key found twice in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DuplicateKey {
    /// JSON pointer of the object holding the key twice.
    pub(crate) object: String,
    /// The repeated key.
    pub(crate) key: String,
}

/// Parses `body` as `T` (as `serde_json::from_slice` does, trailing characters refused) and
/// returns, with the outcome, the repeated keys met on the way, in document order, at most
/// `limit` of them (none with a `limit` of 0). A repeat is noted once per object and key. An
/// object that repeats a key is still read to its end, so every copy is looked into.
///
/// Every object of a body `T` reads successfully has been looked at; after a failed parse, only
/// the objects read before the failure have.
pub(crate) fn deserialize<'de, T: Deserialize<'de>>(
    body: &'de [u8],
    limit: usize,
) -> (Result<T, serde_json::Error>, Vec<DuplicateKey>) {
    if limit == 0 {
        return (serde_json::from_slice(body), Vec::new());
    }
    let mut walk = Walk {
        path: Vec::new(),
        keys: Vec::new(),
        found: Vec::new(),
        limit,
        key: None,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let parsed = T::deserialize(Tracked {
        inner: &mut deserializer,
        walk: &mut walk,
        key: false,
    })
    .and_then(|value| deserializer.end().map(|()| value));
    (parsed, walk.found)
}

/// Objects with up to this many keys are checked by a linear scan, larger ones with a set.
const SCAN_LIMIT: usize = 16;

/// One step of the path from the root to the current value.
enum Segment<'de> {
    Key(Cow<'de, str>),
    Index(usize),
}

/// The JSON pointer of `path`.
fn pointer(path: &[Segment<'_>]) -> String {
    let mut pointer = String::new();
    for segment in path {
        match segment {
            Segment::Key(key) => push_token(&mut pointer, key),
            Segment::Index(index) => {
                pointer.push('/');
                pointer.push_str(&index.to_string());
            }
        }
    }
    pointer
}

/// The state of one parse.
struct Walk<'de> {
    /// Where the value being read is.
    path: Vec<Segment<'de>>,
    /// The keys read so far in each object being read, the outer objects' first (a stack).
    keys: Vec<Cow<'de, str>>,
    /// The repeats noted so far.
    found: Vec<DuplicateKey>,
    limit: usize,
    /// The object key read last, taken by the object that asked for it.
    key: Option<Cow<'de, str>>,
}

impl<'de> Walk<'de> {
    /// `read`, with `segment` on the path.
    fn below<T>(&mut self, segment: Segment<'de>, read: impl FnOnce(&mut Self) -> T) -> T {
        self.path.push(segment);
        let value = read(self);
        self.path.pop();
        value
    }

    /// Notes `key`, just read in the object whose keys start at `start` of [`Walk::keys`] (and
    /// are in `many` once the object has more than [`SCAN_LIMIT`]), and records it if repeated.
    fn note_key(
        &mut self,
        start: usize,
        many: &mut Option<BTreeSet<Cow<'de, str>>>,
        key: Cow<'de, str>,
    ) {
        if self.found.len() >= self.limit {
            return;
        }
        let repeated = match many {
            Some(set) => !set.insert(key.clone()),
            None => {
                let repeated = self.keys[start..].contains(&key);
                if !repeated && self.keys.len() - start == SCAN_LIMIT {
                    let mut set: BTreeSet<Cow<'de, str>> = self.keys.drain(start..).collect();
                    set.insert(key.clone());
                    *many = Some(set);
                } else if !repeated {
                    self.keys.push(key.clone());
                }
                repeated
            }
        };
        if repeated {
            let object = pointer(&self.path);
            if !self
                .found
                .iter()
                .any(|d| d.object == object && d.key == *key)
            {
                self.found.push(DuplicateKey {
                    object,
                    key: key.into_owned(),
                });
            }
        }
    }
}

/// A deserializer, visitor or seed that passes the walk on to what it reads; with `key`, it reads
/// an object key, and its visitor leaves the key in [`Walk::key`].
struct Tracked<'w, 'de, X> {
    inner: X,
    walk: &'w mut Walk<'de>,
    key: bool,
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Tracked<'_, 'de, S> {
    type Value = S::Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, inner: D) -> Result<S::Value, D::Error> {
        self.inner.deserialize(Tracked {
            inner,
            walk: self.walk,
            key: self.key,
        })
    }
}

/// The entries of an object, its keys checked.
struct TrackedMap<'w, 'de, A> {
    inner: A,
    walk: &'w mut Walk<'de>,
    /// Where this object's keys start in [`Walk::keys`].
    start: usize,
    /// This object's keys, once it has more than [`SCAN_LIMIT`].
    many: Option<BTreeSet<Cow<'de, str>>>,
    /// The key of the entry whose value is read next.
    current: Option<Cow<'de, str>>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TrackedMap<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        self.walk.key = None;
        let key = self.inner.next_key_seed(Tracked {
            inner: seed,
            walk: &mut *self.walk,
            key: true,
        })?;
        self.current = self.walk.key.take();
        if key.is_some()
            && let Some(name) = &self.current
        {
            self.walk.note_key(self.start, &mut self.many, name.clone());
        }
        Ok(key)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let key = self.current.take().unwrap_or_default();
        let inner = &mut self.inner;
        self.walk.below(Segment::Key(key), |walk| {
            inner.next_value_seed(Tracked {
                inner: seed,
                walk,
                key: false,
            })
        })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

/// The elements of an array, each read with its index on the path.
struct TrackedSeq<'w, 'de, A> {
    inner: A,
    walk: &'w mut Walk<'de>,
    index: usize,
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for TrackedSeq<'_, 'de, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, A::Error> {
        let inner = &mut self.inner;
        let element = self.walk.below(Segment::Index(self.index), |walk| {
            inner.next_element_seed(Tracked {
                inner: seed,
                walk,
                key: false,
            })
        });
        self.index += 1;
        element
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

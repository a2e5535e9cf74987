//! How the runs API writes "none": `null` where a list would be empty, and `null` or nothing
//! where an object would hold nothing.

use serde::{Deserialize, Deserializer};

/// Reads a field that may be `null` (or absent, with `#[serde(default)]`) as its default.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// A list written as `null` when empty (the API's `not_found` when every id was found), and
/// read as empty from `null`: `#[serde(default, with = "empty_as_null")]`.
pub(crate) mod empty_as_null {
    use serde::{Serialize, Serializer};

    pub(crate) use super::null_as_default as deserialize;

    /// Writes `items`, or `null` if there are none.
    pub(crate) fn serialize<S, T>(items: &[T], serializer: S) -> Result<S::Ok, S::Error>
    where
        S: Serializer,
        T: Serialize,
    {
        if items.is_empty() {
            serializer.serialize_none()
        } else {
            serializer.collect_seq(items)
        }
    }
}

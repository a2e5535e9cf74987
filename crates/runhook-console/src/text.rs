//! Small text helpers: hex, shortening, percent-encoding of path segments.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but the unreserved characters of RFC 3986 is encoded in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `bytes` as lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// The bytes of the hex string `text`, if it is one.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `segment` percent-encoded for a path. The names of the console's own routes beside
/// `/events/{key}` (`stream`, `replay`) get their first letter encoded too, so that a key of
/// that name still reaches its event page.
pub(crate) fn path_segment(segment: &str) -> String {
    let encoded = utf8_percent_encode(segment, SEGMENT).to_string();
    if matches!(segment, "stream" | "replay") {
        let first = segment.as_bytes()[0];
        return format!("%{first:02X}{}", &encoded[1..]);
    }
    encoded
}

/// `text` cut to at most `max` characters, with `…` if it was cut.
pub(crate) fn shorten(text: &str, max: usize) -> Cow<'_, str> {
    match text.char_indices().nth(max) {
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_goes_both_ways() {
        assert_eq!(hex(b"\x00\xffa/"), "00ff612f");
        assert_eq!(unhex("00ff612f").as_deref(), Some(&b"\x00\xffa/"[..]));
        assert_eq!(unhex("0"), None);
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("é1"), None);
    }

    #[test]
    fn segments_are_encoded_and_route_names_escaped() {
        assert_eq!(path_segment("run-1/a b"), "run-1%2Fa%20b");
        assert_eq!(path_segment("stream"), "%73tream");
        assert_eq!(path_segment("replay"), "%72eplay");
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("héllo", 2), "hé…");
        assert_eq!(shorten("hi", 2), "hi");
    }
}

//! The content-type and content-encoding checks: uncompressed JSON or 415.

use http::HeaderMap;
use http::header::{CONTENT_ENCODING, CONTENT_TYPE};

use super::{Rejection, RejectionKind};

/// Accepts `application/json` (and, if `accept_suffix`, `application/*+json`), in any case, with
/// any parameters except a `charset` other than UTF-8 (RFC 8259 §8.1: JSON is UTF-8).
pub(super) fn check(headers: &HeaderMap, accept_suffix: bool) -> Result<(), Rejection> {
    let mut values = headers.get_all(CONTENT_TYPE).iter();
    let Some(value) = values.next() else {
        return Err(unsupported(
            "the request has no Content-Type header; send `Content-Type: application/json`"
                .to_owned(),
        ));
    };
    if values.next().is_some() {
        return Err(unsupported(
            "the request has more than one Content-Type header; send exactly one, \
             `application/json`"
                .to_owned(),
        ));
    }
    let Ok(text) = value.to_str() else {
        return Err(unsupported(
            "the Content-Type header is not printable ASCII; send `application/json`".to_owned(),
        ));
    };
    let mut parts = text.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !is_json(essence, accept_suffix) {
        let expected = if accept_suffix {
            "`application/json` (or `application/<type>+json`)"
        } else {
            "`application/json`"
        };
        return Err(unsupported(format!(
            "Content-Type is `{essence}`; expected {expected}, parameters such as \
             `; charset=utf-8` are fine"
        )));
    }
    for parameter in parts {
        let Some((name, value)) = parameter.split_once('=') else {
            continue;
        };
        if !name.trim().eq_ignore_ascii_case("charset") {
            continue;
        }
        let charset = value.trim().trim_matches('"');
        if !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")) {
            return Err(unsupported(format!(
                "Content-Type declares charset `{charset}`; a JSON body must be UTF-8 \
                 (send `charset=utf-8` or no charset)"
            )));
        }
    }
    Ok(())
}

/// Accepts no `Content-Encoding`, or only `identity` (any case, in any number of headers or list
/// items): the body is never decompressed, so a `gzip` body is refused with a reason that names
/// the encoding instead of failing as malformed JSON.
pub(super) fn check_encoding(headers: &HeaderMap) -> Result<(), Rejection> {
    for value in headers.get_all(CONTENT_ENCODING) {
        let Ok(text) = value.to_str() else {
            return Err(Rejection::new(
                RejectionKind::UnsupportedContentEncoding,
                "the Content-Encoding header is not printable ASCII; send the body uncompressed, \
                 without Content-Encoding"
                    .to_owned(),
            ));
        };
        for coding in text.split(',').map(str::trim) {
            if !coding.is_empty() && !coding.eq_ignore_ascii_case("identity") {
                return Err(Rejection::new(
                    RejectionKind::UnsupportedContentEncoding,
                    format!(
                        "Content-Encoding `{coding}` is not supported; send the body \
                         uncompressed (no Content-Encoding, or `identity`)"
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn is_json(essence: &str, accept_suffix: bool) -> bool {
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let (kind, subtype) = (kind.trim(), subtype.trim());
    if !kind.eq_ignore_ascii_case("application") {
        return false;
    }
    if subtype.eq_ignore_ascii_case("json") {
        return true;
    }
    accept_suffix
        && subtype.len() > "+json".len()
        && subtype
            .get(subtype.len() - "+json".len()..)
            .is_some_and(|suffix| suffix.eq_ignore_ascii_case("+json"))
}

fn unsupported(reason: String) -> Rejection {
    Rejection::new(RejectionKind::UnsupportedMediaType, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn verdict(value: Option<&'static [u8]>, suffix: bool) -> Result<(), Rejection> {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(CONTENT_TYPE, HeaderValue::from_bytes(value).unwrap());
        }
        check(&headers, suffix)
    }

    #[test]
    fn accepts_json_with_parameters_in_any_case() {
        for value in [
            &b"application/json"[..],
            b"Application/JSON",
            b"application/json; charset=utf-8",
            b"application/json;charset=UTF-8",
            b"application/json; charset=\"utf-8\"",
            b"application/json; charset=utf8",
            b"application/json; boundary=x; foo",
            b" application/json ",
            b"application/vnd.tinyfish.webhook+json",
            b"application/problem+JSON; charset=utf-8",
        ] {
            assert_eq!(verdict(Some(value), true), Ok(()), "{value:?}");
        }
    }

    #[test]
    fn rejects_other_types_with_a_reason() {
        for value in [
            &b"text/plain"[..],
            b"text/json",
            b"application/x-www-form-urlencoded",
            b"multipart/form-data; boundary=x",
            b"application/jsonx",
            b"application/+json",
            b"json",
            b"",
            b"application/json; charset=iso-8859-1",
            b"application/json; charset=utf-16",
            b"application/json\xff",
        ] {
            let rejection = verdict(Some(value), true).unwrap_err();
            assert_eq!(rejection.status, 415, "{value:?}");
            assert!(!rejection.reason.is_empty());
        }
        assert!(
            verdict(None, true)
                .unwrap_err()
                .reason
                .contains("no Content-Type")
        );
        assert_eq!(
            verdict(Some(b"application/ld+json"), false)
                .unwrap_err()
                .status,
            415
        );
    }

    #[test]
    fn only_identity_content_encoding_is_accepted() {
        let encoded = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(CONTENT_ENCODING, HeaderValue::from_static(value));
            }
            check_encoding(&headers)
        };
        assert_eq!(encoded(&[]), Ok(()));
        assert_eq!(encoded(&["identity"]), Ok(()));
        assert_eq!(encoded(&["IDENTITY", " Identity "]), Ok(()));
        for values in [
            &["gzip"][..],
            &["GZIP"],
            &["identity, br"],
            &["identity", "deflate"],
        ] {
            let rejection = encoded(values).unwrap_err();
            assert_eq!(
                (rejection.status, rejection.kind),
                (415, RejectionKind::UnsupportedContentEncoding),
                "{values:?}"
            );
            let named = values.iter().flat_map(|v| v.split(',')).map(str::trim);
            assert!(
                named
                    .filter(|c| !c.eq_ignore_ascii_case("identity"))
                    .any(|c| rejection.reason.contains(&format!("`{c}`"))),
                "{values:?}: {}",
                rejection.reason
            );
        }
    }

    #[test]
    fn rejects_two_content_type_headers() {
        let mut headers = HeaderMap::new();
        headers.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.append(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert!(
            check(&headers, true)
                .unwrap_err()
                .reason
                .contains("more than one")
        );
    }
}

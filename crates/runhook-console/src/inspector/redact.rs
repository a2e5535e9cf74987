//! What the inspector pages hide: secret header values, and secrets in the path's query.

use std::borrow::Cow;

use http::{HeaderName, HeaderValue};

/// What stands in for a secret header value.
pub(crate) const REDACTED: &str = "[redacted]";

/// The words that make a header's value a secret, found anywhere in its name.
const SECRET_WORDS: [&str; 5] = ["token", "secret", "key", "signature", "password"];

/// Whether the value of the header `name` is a secret: `Authorization`, `Proxy-Authorization`,
/// `Cookie`, and any header whose name holds token, secret, key, signature or password.
pub(crate) fn is_secret_header(name: &HeaderName) -> bool {
    let name = name.as_str();
    matches!(
        name,
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || SECRET_WORDS.iter().any(|word| name.contains(word))
}

/// The value of header `name` as a page shows it.
pub(crate) fn header_value<'v>(name: &HeaderName, value: &'v HeaderValue) -> Cow<'v, str> {
    if is_secret_header(name) {
        Cow::Borrowed(REDACTED)
    } else {
        String::from_utf8_lossy(value.as_bytes())
    }
}

/// A path and query as a page shows it: secret query values and token-like segments hidden.
pub(crate) fn path(path: &str) -> String {
    runhook::endpoint::redact_url(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_headers_are_named() {
        for name in [
            "authorization",
            "cookie",
            "x-api-key",
            "x-webhook-signature",
            "x-token",
        ] {
            assert!(is_secret_header(&HeaderName::from_static(name)), "{name}");
        }
        for name in ["content-type", "user-agent", "x-request-id"] {
            assert!(!is_secret_header(&HeaderName::from_static(name)), "{name}");
        }
        let value = HeaderValue::from_static("Bearer abc");
        assert_eq!(header_value(&http::header::AUTHORIZATION, &value), REDACTED);
    }

    #[test]
    fn query_secrets_are_hidden() {
        assert_eq!(path("/hook?token=s3cret&x=1"), "/hook?token=***&x=1");
    }
}

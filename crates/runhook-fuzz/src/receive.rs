//! `receive` and `url_token`: deciding on a request, and the URL-token check.

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use runhook::receive::{Authenticator, RequestChecks, TokenPlace, UrlToken, Verdict};

use crate::input::{RawRequest, split_line};

/// The statuses [`runhook::receive()`] documents.
const STATUSES: [u16; 6] = [200, 400, 401, 405, 413, 415];

/// The tokens the URL-token checks accept.
const TOKENS: [&str; 2] = ["t0k3n", "s3cr3t+/é"];

/// The body limit of the URL-token configuration.
const SMALL_LIMIT: usize = 4096;

/// Reads `data` as a request written as text (`METHOD URI`, header lines, an empty line, the
/// body; a part `http` cannot hold is left out) and decides on it with [`runhook::receive()`] in
/// three configurations: the default, strict mode, and a URL token in the query with a 4 KiB
/// body limit. Checks: the status is one the checks document; a method other than `POST` is a
/// 405 and a body over the limit a 413; an accepted event is written out and read back to
/// itself; what strict mode or the token accepts, the default accepts as the same event; a 401
/// names no token.
pub fn receive(data: &[u8]) {
    let raw = RawRequest::parse(data);
    let method = Method::from_bytes(raw.method).unwrap_or(Method::POST);
    let uri = Uri::try_from(raw.uri).unwrap_or_else(|_| Uri::from_static("/"));
    let mut headers = HeaderMap::new();
    for (name, value) in &raw.headers {
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let token = match UrlToken::in_query(TOKENS) {
        Ok(token) => token,
        Err(error) => panic!("the fuzz target's tokens are refused: {error}"),
    };
    let configs = [
        RequestChecks::default(),
        RequestChecks::default().with_strict(true),
        RequestChecks::default()
            .with_authenticator(token)
            .with_max_body_bytes(SMALL_LIMIT),
    ];
    let verdicts: Vec<Verdict> = configs
        .iter()
        .map(|config| {
            let verdict = runhook::receive(&method, &uri, &headers, raw.body, config);
            let status = verdict.status();
            assert!(
                STATUSES.contains(&status),
                "an undocumented status {status}"
            );
            if method != Method::POST {
                assert_eq!(status, 405);
            } else if raw.body.len() > config.limits.max_body_bytes {
                assert_eq!(status, 413);
            }
            match &verdict {
                Verdict::Accept(event) => crate::events::round_trip(event),
                Verdict::Reject(rejection) if rejection.status == 401 => {
                    for token in TOKENS {
                        assert!(!rejection.reason.contains(token), "a 401 names a token");
                    }
                }
                Verdict::Reject(_) => {}
            }
            verdict
        })
        .collect();
    for stricter in &verdicts[1..] {
        if let Verdict::Accept(event) = stricter {
            assert_eq!(
                &verdicts[0],
                &Verdict::Accept(event.clone()),
                "a stricter configuration accepts what the default does not"
            );
        }
    }
}

/// Checks the URI on the second line of `data` against a [`UrlToken`] whose place the first
/// line names (`query NAME`, `last`, or `segment N`; anything else is the query parameter
/// `token`), accepting two tokens. Checks: verifying and redacting never panic; a URI that is
/// accepted is no longer accepted once redacted (the token's place is what redaction hides).
pub fn url_token(data: &[u8]) {
    let (first, rest) = split_line(data);
    let (second, _) = split_line(rest);
    let first = String::from_utf8_lossy(first);
    let place = match first.split_once(' ') {
        Some(("query", name)) if !name.is_empty() => TokenPlace::Query(name.to_owned()),
        Some(("segment", index)) => match index.parse() {
            Ok(index) => TokenPlace::PathSegment(index),
            Err(_) => TokenPlace::default(),
        },
        _ if first == "last" => TokenPlace::LastPathSegment,
        _ => TokenPlace::default(),
    };
    let Ok(uri) = Uri::try_from(second) else {
        return;
    };
    let token = match UrlToken::new(place, TOKENS) {
        Ok(token) => token,
        Err(error) => panic!("the fuzz target's tokens are refused: {error}"),
    };
    let headers = HeaderMap::new();
    let accepted = token.verify(&uri, &headers, b"").is_ok();
    let redacted = token.redact(&uri);
    assert_eq!(redacted, token.redact_uri(&uri));
    if accepted && let Ok(redacted_uri) = Uri::try_from(redacted.as_str()) {
        assert!(
            token.verify(&redacted_uri, &headers, b"").is_err(),
            "the redacted URI still carries an accepted token: {redacted}"
        );
    }
}

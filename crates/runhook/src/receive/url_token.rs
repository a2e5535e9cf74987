//! [`UrlToken`]: the secret token in the registered `webhook_url`, the one credential a TinyFish
//! delivery carries.

use std::fmt;

use http::{HeaderMap, Uri};
use percent_encoding::percent_decode_str;
use subtle::{Choice, ConstantTimeEq};

use super::{AuthError, Authenticator};
use crate::endpoint::{decode_form, map_pairs};

/// What replaces a token in [`UrlToken::redact`].
const REDACTED: &str = "REDACTED";

/// Where in the request URI the token is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenPlace {
    /// A query parameter with this name (form-decoded: `%2B` is `+`, `+` is a space), e.g.
    /// `https://example.com/hooks/tinyfish?token=…`. It must appear exactly once.
    Query(String),
    /// The last segment of the path (percent-decoded), e.g. `https://example.com/hooks/…`.
    LastPathSegment,
    /// The path segment at this 0-based index (percent-decoded): in `/hooks/tinyfish/abc`,
    /// segment 0 is `hooks` and segment 2 is `abc`.
    PathSegment(usize),
}

impl TokenPlace {
    /// The default query parameter name, `token`.
    pub const DEFAULT_QUERY: &'static str = "token";
}

impl Default for TokenPlace {
    /// The query parameter `token`.
    fn default() -> Self {
        TokenPlace::Query(Self::DEFAULT_QUERY.to_owned())
    }
}

impl fmt::Display for TokenPlace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenPlace::Query(name) => write!(f, "query parameter `{name}`"),
            TokenPlace::LastPathSegment => f.write_str("last path segment"),
            TokenPlace::PathSegment(index) => write!(f, "path segment {index}"),
        }
    }
}

/// Why a [`UrlToken`] cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlTokenError {
    /// No token was given: every request would be refused.
    #[error("no token given; a URL-token authenticator needs at least one")]
    NoToken,
    /// A token is empty: it would match a URL without a secret.
    #[error("token {index} is empty; every token must hold at least one character")]
    EmptyToken {
        /// The 0-based position of the empty token in the list given.
        index: usize,
    },
    /// The query parameter name is empty.
    #[error("the query parameter name is empty")]
    EmptyParameterName,
}

/// Accepts a request whose URI carries one of the configured tokens, in the query or in a path
/// segment: TinyFish sends no header and no signature, so the secret lives in the `webhook_url`
/// the receiver registered.
///
/// Several tokens are accepted at once, so a token can be rotated: register the new URL, accept
/// both, then drop the old one. Tokens are compared in constant time (every configured token is
/// compared, and the time depends only on the configured tokens' lengths). A missing or wrong
/// token is a 401 whose reason names neither the expected nor the presented token. Never log a
/// raw URI: log [`UrlToken::redact`] (or [`Authenticator::redact_uri`]) instead. `Debug` shows
/// the place and the number of tokens, never a token.
#[derive(Clone)]
pub struct UrlToken {
    place: TokenPlace,
    tokens: Vec<Box<[u8]>>,
}

impl UrlToken {
    /// Tokens in `place`. Fails if there is no token, an empty one, or an empty parameter name.
    pub fn new<I, T>(place: TokenPlace, tokens: I) -> Result<Self, UrlTokenError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        if matches!(&place, TokenPlace::Query(name) if name.is_empty()) {
            return Err(UrlTokenError::EmptyParameterName);
        }
        let tokens: Vec<Box<[u8]>> = tokens
            .into_iter()
            .map(|token| token.into().into_bytes().into_boxed_slice())
            .collect();
        if tokens.is_empty() {
            return Err(UrlTokenError::NoToken);
        }
        if let Some(index) = tokens.iter().position(|token| token.is_empty()) {
            return Err(UrlTokenError::EmptyToken { index });
        }
        Ok(UrlToken { place, tokens })
    }

    /// Tokens in the query parameter `token`; see [`UrlToken::new`].
    pub fn in_query<I, T>(tokens: I) -> Result<Self, UrlTokenError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::new(TokenPlace::default(), tokens)
    }

    /// Tokens in the last path segment; see [`UrlToken::new`].
    pub fn in_last_path_segment<I, T>(tokens: I) -> Result<Self, UrlTokenError>
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        Self::new(TokenPlace::LastPathSegment, tokens)
    }

    /// Where the token is read from.
    pub fn place(&self) -> &TokenPlace {
        &self.place
    }

    /// The URI's path and query with the token's place replaced by `REDACTED` (whether the
    /// token there is right or wrong), fit for a log.
    pub fn redact(&self, uri: &Uri) -> String {
        let path = uri.path();
        match &self.place {
            TokenPlace::Query(name) => {
                let Some(query) = uri.query() else {
                    return path.to_owned();
                };
                let pairs = map_pairs(query, REDACTED, |raw_name, has_value| {
                    has_value && decode_form(raw_name) == *name
                });
                format!("{path}?{pairs}")
            }
            place => {
                let mut segments: Vec<&str> = segments(path).collect();
                if let Some(index) = segment_index(place, segments.len())
                    && let Some(segment) = segments.get_mut(index)
                {
                    *segment = REDACTED;
                }
                let mut redacted = format!("/{}", segments.join("/"));
                if let Some(query) = uri.query() {
                    redacted.push('?');
                    redacted.push_str(query);
                }
                redacted
            }
        }
    }

    /// The token the URI presents, decoded; `Err` says why there is none to compare.
    fn presented(&self, uri: &Uri) -> Result<Vec<u8>, AuthError> {
        let missing = || AuthError::MissingToken {
            place: self.place.to_string(),
        };
        let token = match &self.place {
            TokenPlace::Query(name) => {
                let query = uri.query().unwrap_or_default();
                let mut values = url::form_urlencoded::parse(query.as_bytes())
                    .filter(|(key, _)| key == name)
                    .map(|(_, value)| value);
                let first = values.next().ok_or_else(missing)?;
                if values.next().is_some() {
                    return Err(AuthError::Invalid {
                        reason: format!("the {} appears more than once", self.place),
                    });
                }
                first.into_owned().into_bytes()
            }
            place => {
                let segments: Vec<&str> = segments(uri.path()).collect();
                let index = segment_index(place, segments.len()).ok_or_else(missing)?;
                let segment = segments.get(index).ok_or_else(missing)?;
                percent_decode_str(segment).collect()
            }
        };
        if token.is_empty() {
            return Err(missing());
        }
        Ok(token)
    }
}

impl Authenticator for UrlToken {
    fn verify(&self, uri: &Uri, _headers: &HeaderMap, _body: &[u8]) -> Result<(), AuthError> {
        let presented = self.presented(uri)?;
        let mut accepted = Choice::from(0);
        for token in &self.tokens {
            accepted |= matches(&presented, token);
        }
        if bool::from(accepted) {
            Ok(())
        } else {
            Err(AuthError::Invalid {
                reason: format!(
                    "the token in the {} is not one this endpoint accepts",
                    self.place
                ),
            })
        }
    }

    fn redact_uri(&self, uri: &Uri) -> String {
        self.redact(uri)
    }
}

impl fmt::Debug for UrlToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlToken")
            .field("place", &self.place)
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .finish()
    }
}

/// Whether `presented` equals `token`, in time that depends on `token`'s length only.
fn matches(presented: &[u8], token: &[u8]) -> Choice {
    let mut equal = (presented.len() as u64).ct_eq(&(token.len() as u64));
    for (i, byte) in token.iter().enumerate() {
        equal &= presented.get(i).copied().unwrap_or(0).ct_eq(byte);
    }
    equal
}

/// The path's segments after the leading `/` (`/a/b/` gives `a`, `b`, ``).
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.strip_prefix('/').unwrap_or(path).split('/')
}

/// The index of the token's segment among `count` segments.
fn segment_index(place: &TokenPlace, count: usize) -> Option<usize> {
    match place {
        TokenPlace::LastPathSegment => count.checked_sub(1),
        TokenPlace::PathSegment(index) => (*index < count).then_some(*index),
        TokenPlace::Query(_) => None,
    }
}

#[cfg(test)]
#[path = "url_token_tests.rs"]
mod tests;

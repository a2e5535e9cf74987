//! The authenticity seam: a check of the raw request that runs before the body is parsed.
//!
//! TinyFish sends no header and no signature, so the default is [`NoAuthentication`]; what a
//! receiver can check is a secret token in the `webhook_url` it registered, which
//! [`UrlToken`](super::UrlToken) does. A signing scheme, a shared-secret header or an allow-list
//! plugs in here without touching the rest of the pipeline.

use http::{HeaderMap, Uri};

/// Why an [`Authenticator`] refused a request. The message is sent back with the 401, so it
/// never holds a secret, expected or presented.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A header the authenticator needs is absent.
    #[error("the request has no {header} header; this endpoint requires it")]
    MissingHeader {
        /// The header's name.
        header: String,
    },
    /// The request URI carries no token where one is expected.
    #[error("the request URI has no token ({place}); use the webhook URL this endpoint issued")]
    MissingToken {
        /// Where the token is expected, e.g. ``query parameter `token` ``.
        place: String,
    },
    /// The credentials are present but wrong (bad signature, unknown key, expired timestamp…).
    #[error("the request's credentials are not valid: {reason}")]
    Invalid {
        /// What did not match.
        reason: String,
    },
}

/// Decides whether a request comes from the sender it claims to.
///
/// Pure and synchronous: it sees the request URI as received (path and query, where a URL token
/// lives), the headers and the raw body bytes exactly as received (never a re-encoded body), and
/// reads no clock of its own; a scheme that needs the time takes it when it is built or through
/// its own injected source.
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// Accepts the request, or says why not (answered with 401).
    fn verify(&self, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError>;

    /// The request's path and query, fit for a log: any secret this authenticator reads from the
    /// URI is replaced with `REDACTED`. The default returns the path and query as they are.
    fn redact_uri(&self, uri: &Uri) -> String {
        uri.path_and_query()
            .map_or_else(|| uri.path().to_owned(), |pq| pq.as_str().to_owned())
    }
}

/// Accepts every request: the default, since TinyFish signs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoAuthentication;

impl Authenticator for NoAuthentication {
    fn verify(&self, _uri: &Uri, _headers: &HeaderMap, _body: &[u8]) -> Result<(), AuthError> {
        Ok(())
    }
}

//! The authenticity seam: a check of the raw request that runs before the body is parsed.
//!
//! TinyFish sends no signature today (PROTOCOL.md §2), so the default is [`NoAuthentication`].
//! A signing scheme, a shared-secret header or an allow-list plugs in here without touching the
//! rest of the pipeline.

use http::HeaderMap;

/// Why an [`Authenticator`] refused a request. The message is sent back with the 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A header the authenticator needs is absent.
    #[error("the request has no {header} header; this endpoint requires it")]
    MissingHeader {
        /// The header's name.
        header: String,
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
/// Pure and synchronous: it sees the headers and the raw body bytes exactly as received (never a
/// re-encoded body), and reads no clock of its own; a scheme that needs the time takes it when it
/// is built or through its own injected source.
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    /// Accepts the request, or says why not (answered with 401).
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), AuthError>;
}

/// Accepts every request: the default, since TinyFish signs nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoAuthentication;

impl Authenticator for NoAuthentication {
    fn verify(&self, _headers: &HeaderMap, _body: &[u8]) -> Result<(), AuthError> {
        Ok(())
    }
}

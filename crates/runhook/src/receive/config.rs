//! What [`receive`](super::receive) accepts: the body limit, the content types and the
//! authenticator.

use std::sync::Arc;

use super::{Authenticator, NoAuthentication};

/// Size limits of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Limits {
    /// The largest body accepted, in bytes; a larger one gets 413, which a TinyFish sender never
    /// retries: the run is lost. Default 8 MiB: a run's `result` is free-form data extracted
    /// from pages (typical payloads are a few KiB, the largest documented a few hundred KiB;
    /// screenshots are never sent), so 8 MiB leaves room for a large extraction, while eight such
    /// bodies fit the receiver's default 64 MiB budget of buffered body bytes.
    pub max_body_bytes: usize,
}

impl Limits {
    /// The default body limit: 8 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

    /// Limits with the given body limit.
    pub fn new(max_body_bytes: usize) -> Self {
        Limits { max_body_bytes }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(Self::DEFAULT_MAX_BODY_BYTES)
    }
}

/// Configuration of [`receive`](super::receive).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RequestChecks {
    /// Size limits.
    pub limits: Limits,
    /// Whether `application/<anything>+json` (RFC 6839 structured syntax suffix) counts as JSON.
    /// Default `true`: such a body is still parsed strictly, and a sender that labels its JSON
    /// more precisely is not turned away. `application/json` is always accepted.
    pub accept_json_suffix: bool,
    /// Whether a key repeated within one JSON object is looked for. Default `true`: parsers
    /// disagree on which copy wins, and TinyFish never repeats a key. Outside `data` a repeated
    /// key is a 400; inside `data` it is drift (the key is left out of the typed run and
    /// reported), or a 400 in [`strict`](Self::strict) mode. When `false`, the last copy of a
    /// repeated unknown or free-form key wins.
    pub reject_duplicate_keys: bool,
    /// Whether a value inside `data` that does not have its documented type (drift) is a 400.
    /// Default `false`: such an event is accepted with the value left out of the typed run and
    /// the problem reported ([`Event::from_slice_lenient`](crate::Event::from_slice_lenient)),
    /// because TinyFish never retries a 400 and the run would be lost. `true` restores the
    /// strict parse ([`Event::from_slice`](crate::Event::from_slice)).
    pub strict: bool,
    /// Checks authenticity before the body is parsed. Default [`NoAuthentication`].
    pub authenticator: Arc<dyn Authenticator>,
}

impl RequestChecks {
    /// This configuration with another body limit.
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.limits.max_body_bytes = max_body_bytes;
        self
    }

    /// This configuration in strict mode (`true`: drift inside `data` is a 400) or lenient mode
    /// (`false`, the default).
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// This configuration with another authenticator.
    pub fn with_authenticator(mut self, authenticator: impl Authenticator + 'static) -> Self {
        self.authenticator = Arc::new(authenticator);
        self
    }
}

impl Default for RequestChecks {
    fn default() -> Self {
        RequestChecks {
            limits: Limits::default(),
            accept_json_suffix: true,
            reject_duplicate_keys: true,
            strict: false,
            authenticator: Arc::new(NoAuthentication),
        }
    }
}

//! Why a request is not an acceptable webhook, and the status code that says so.

use http::header::{ALLOW, HeaderName, HeaderValue};

use crate::events::{Check, EventError};

/// The class of a [`Rejection`]; each maps to one status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectionKind {
    /// The method is not `POST` (405, with `Allow: POST`).
    MethodNotAllowed,
    /// The body is larger than the configured limit (413).
    PayloadTooLarge,
    /// An [`Authenticator`](super::Authenticator) is configured and refused the request (401).
    Unauthenticated,
    /// The content type is missing or is not JSON (415).
    UnsupportedMediaType,
    /// `Content-Encoding` names an encoding other than `identity`, e.g. `gzip` (415): the body
    /// is never decoded, so it would not be JSON.
    UnsupportedContentEncoding,
    /// The body is not well-formed UTF-8 JSON: bad bytes, bad syntax, nesting deeper than 128
    /// levels, a number out of range, a key repeated in one object (400).
    MalformedJson,
    /// The body is JSON but not a webhook: not an object, a field missing or of the wrong type
    /// (400).
    InvalidEvent,
    /// The fields parse but disagree: event ⇔ status, `data.run_id` or `data.status` differ from
    /// the envelope (400).
    InconsistentEvent,
}

impl RejectionKind {
    /// The HTTP status code for this kind of rejection.
    pub fn status(self) -> u16 {
        match self {
            RejectionKind::MethodNotAllowed => 405,
            RejectionKind::PayloadTooLarge => 413,
            RejectionKind::Unauthenticated => 401,
            RejectionKind::UnsupportedMediaType | RejectionKind::UnsupportedContentEncoding => 415,
            RejectionKind::MalformedJson
            | RejectionKind::InvalidEvent
            | RejectionKind::InconsistentEvent => 400,
        }
    }

    /// A stable snake_case name, as used in responses, reports and `fixtures/vectors`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectionKind::MethodNotAllowed => "method_not_allowed",
            RejectionKind::PayloadTooLarge => "payload_too_large",
            RejectionKind::Unauthenticated => "unauthenticated",
            RejectionKind::UnsupportedMediaType => "unsupported_media_type",
            RejectionKind::UnsupportedContentEncoding => "unsupported_content_encoding",
            RejectionKind::MalformedJson => "malformed_json",
            RejectionKind::InvalidEvent => "invalid_event",
            RejectionKind::InconsistentEvent => "inconsistent_event",
        }
    }
}

impl std::fmt::Display for RejectionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request refused before any handler saw it: the status code to answer with, and a reason a
/// person can act on (it is safe to send back to the sender as is).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{status} {kind}: {reason}")]
#[non_exhaustive]
pub struct Rejection {
    /// The HTTP status code; always `kind.status()`.
    pub status: u16,
    /// What class of problem it is.
    pub kind: RejectionKind,
    /// What was wrong, and what to do about it.
    pub reason: String,
    /// For a body that is not a valid event, the JSON pointer of the problem (`""` is the whole
    /// body); `None` otherwise.
    pub pointer: Option<String>,
    /// The refused body's `run_id`, when its envelope has a valid one (a pairing mismatch, a
    /// contradicting `data.status`, drift in strict mode…), so a lost run can be identified;
    /// `None` otherwise, and for every refusal made before the body is read (405, 413, 401, 415).
    pub run_id: Option<String>,
}

impl Rejection {
    /// A rejection of the given kind; the status code follows from the kind.
    pub fn new(kind: RejectionKind, reason: impl Into<String>) -> Self {
        Rejection {
            status: kind.status(),
            kind,
            reason: reason.into(),
            pointer: None,
            run_id: None,
        }
    }

    /// 405 for a method other than `POST`.
    pub fn method_not_allowed(method: &http::Method) -> Self {
        Self::new(
            RejectionKind::MethodNotAllowed,
            format!("method {method} is not allowed: webhooks are delivered with POST"),
        )
    }

    /// 413 for a body of `len` bytes (or more) over a limit of `limit` bytes.
    ///
    /// Adapters that stop reading a body at the limit call this with the length read so far.
    pub fn payload_too_large(len: Option<u64>, limit: usize) -> Self {
        let size = match len {
            Some(len) => format!("the body is {len} bytes"),
            None => "the body is larger than the limit".to_owned(),
        };
        Self::new(
            RejectionKind::PayloadTooLarge,
            format!(
                "{size}; at most {limit} bytes are accepted (raise the receiver's max_body_bytes \
                 if such payloads are expected)"
            ),
        )
    }

    /// 400 for a body that is not a valid event, with the message and pointer of `error`.
    pub fn invalid_event(error: &EventError) -> Self {
        let kind = match error {
            EventError::Syntax { .. } | EventError::DuplicateKey { .. } => {
                RejectionKind::MalformedJson
            }
            _ if error.check() == Check::Consistency => RejectionKind::InconsistentEvent,
            _ => RejectionKind::InvalidEvent,
        };
        Rejection {
            pointer: Some(error.pointer().to_owned()),
            ..Self::new(kind, error.to_string())
        }
    }

    /// Headers the response should carry: `Allow: POST` for a 405, none otherwise.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self.kind {
            RejectionKind::MethodNotAllowed => vec![(ALLOW, HeaderValue::from_static("POST"))],
            _ => Vec::new(),
        }
    }
}

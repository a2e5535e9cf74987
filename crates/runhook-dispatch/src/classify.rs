//! The one classification of HTTP-client errors: what a failed exchange was (a refused address,
//! a timeout, or a failure below HTTP of a given kind, TLS included), with a one-line
//! description. The [`Sender`](crate::Sender) uses it for every attempt, and the runs client
//! (`runhook-tinyfish`) for its own requests.

use std::error::Error as StdError;

use runhook::delivery::{AttemptResult, NetworkErrorKind};

use crate::error::AddressRefused;

/// Why an attempt got no usable answer, or what went wrong after its status line.
///
/// Before the status line, this is the attempt's result: [`result`](Self::result) gives what the
/// retry policy is fed. After it ([`BodyTimeout`](Self::BodyTimeout), [`Body`](Self::Body)), it
/// is only reported: the status decides.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// Every address of the destination is forbidden by the address rules: a configuration
    /// error, not a transient one.
    #[error(transparent)]
    Refused(AddressRefused),
    /// The deadline passed before the response head arrived.
    #[error("timed out before the response head arrived")]
    Timeout,
    /// The request failed below HTTP (connect, TLS, reset, ...).
    #[error("{message}")]
    Network {
        /// What kind of failure.
        kind: NetworkErrorKind,
        /// The client's description, its causes joined without repeats.
        message: String,
    },
    /// The status line arrived, then the deadline passed while the body was read.
    #[error("timed out while reading the response body")]
    BodyTimeout,
    /// The status line arrived, then the body broke off or could not be read.
    #[error("reading the response body failed: {message}")]
    Body {
        /// The client's description.
        message: String,
    },
    /// The attempt panicked (in the HTTP client, or in a caller's
    /// [`HostLookup`](crate::HostLookup)); treated as a failure of unknown kind.
    #[error("the attempt panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
}

impl SendError {
    /// Classifies an error of the HTTP client by walking its source chain: a refusal by the
    /// address rules, a timeout, or a failure below HTTP of the kind the chain reveals
    /// (`rustls` errors are [`NetworkErrorKind::Tls`]; resets, refused connections and broken
    /// connections are recognised from `std::io` and `hyper` errors).
    pub fn classify(err: &reqwest::Error) -> SendError {
        let mut kind = None;
        for cause in chain(err) {
            if let Some(refused) = cause.downcast_ref::<AddressRefused>() {
                return SendError::Refused(refused.clone());
            }
            if kind.is_none() {
                kind = kind_of(cause);
            }
        }
        let kind = match kind {
            Some(kind) => kind,
            None if err.is_timeout() => return SendError::Timeout,
            None if err.is_connect() => NetworkErrorKind::Connect,
            None if err.is_body() || err.is_decode() => NetworkErrorKind::Body,
            None => NetworkErrorKind::Other,
        };
        SendError::Network {
            kind,
            message: describe(err),
        }
    }

    /// The kind of failure below HTTP: a refusal counts as [`NetworkErrorKind::Connect`] (no
    /// connection was made), a body failure as [`NetworkErrorKind::Body`], a timeout or a panic
    /// as [`NetworkErrorKind::Other`].
    pub fn kind(&self) -> NetworkErrorKind {
        match self {
            SendError::Refused(_) => NetworkErrorKind::Connect,
            SendError::Network { kind, .. } => *kind,
            SendError::BodyTimeout | SendError::Body { .. } => NetworkErrorKind::Body,
            SendError::Timeout | SendError::Panicked { .. } => NetworkErrorKind::Other,
        }
    }

    /// What the retry policy is fed when this error came before any status line, or the
    /// refusal that ends a delivery without consulting the policy.
    pub fn result(&self) -> Result<AttemptResult, AddressRefused> {
        match self {
            SendError::Refused(refused) => Err(refused.clone()),
            SendError::Timeout => Ok(AttemptResult::Timeout),
            other => Ok(AttemptResult::Network(other.kind())),
        }
    }
}

/// `503 Service Unavailable`: a status with its reason phrase, or the bare number for a status
/// without one.
pub fn status_text(status: u16) -> String {
    match reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|code| code.canonical_reason())
    {
        Some(phrase) => format!("{status} {phrase}"),
        None => status.to_string(),
    }
}

/// The kind one link of the chain reveals, if any.
fn kind_of(cause: &(dyn StdError + 'static)) -> Option<NetworkErrorKind> {
    if cause.downcast_ref::<rustls::Error>().is_some() {
        return Some(NetworkErrorKind::Tls);
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        if io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return Some(NetworkErrorKind::Tls);
        }
        use std::io::ErrorKind as K;
        return match io.kind() {
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                Some(NetworkErrorKind::Reset)
            }
            K::ConnectionRefused
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable => Some(NetworkErrorKind::Connect),
            _ => None,
        };
    }
    if let Some(hyper) = cause.downcast_ref::<hyper::Error>()
        && (hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled())
    {
        return Some(NetworkErrorKind::Reset);
    }
    None
}

/// The error and its sources, outermost first. `io::Error` hides its payload from `source()`,
/// so the payload is visited explicitly.
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        out.push(cause);
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
        if out.len() > 32 {
            break;
        }
    }
    out
}

/// A one-line description: the error's sources without repeats. reqwest's own "error sending
/// request for url (...)" and hyper-util's "client error (...)" wrappers add nothing, so they
/// are left out.
pub(crate) fn describe(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (depth, cause) in chain(err).into_iter().enumerate() {
        let text = cause.to_string();
        let wrapper =
            (depth == 0 && cause.source().is_some()) || text.starts_with("client error (");
        if !wrapper && !parts.iter().any(|seen| seen.contains(&text)) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_payloads_are_visited() {
        let io = std::io::Error::other(AddressRefused::new(None, vec![]));
        let found = chain(&io)
            .into_iter()
            .any(|cause| cause.downcast_ref::<AddressRefused>().is_some());
        assert!(found);
        assert_eq!(
            kind_of(&std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            Some(NetworkErrorKind::Reset)
        );
        let tls = std::io::Error::other(rustls::Error::DecryptError);
        assert_eq!(kind_of(&tls), Some(NetworkErrorKind::Tls));
    }

    #[test]
    fn results_and_kinds() {
        let refused = SendError::Refused(AddressRefused::new(None, vec![]));
        assert!(refused.result().is_err());
        assert_eq!(refused.kind(), NetworkErrorKind::Connect);
        assert_eq!(SendError::Timeout.result(), Ok(AttemptResult::Timeout));
        let reset = SendError::Network {
            kind: NetworkErrorKind::Reset,
            message: "reset".into(),
        };
        assert_eq!(
            reset.result(),
            Ok(AttemptResult::Network(NetworkErrorKind::Reset))
        );
        let panicked = SendError::Panicked {
            message: "broke".into(),
        };
        assert_eq!(
            panicked.result(),
            Ok(AttemptResult::Network(NetworkErrorKind::Other))
        );
        assert_eq!(panicked.to_string(), "the attempt panicked: broke");
    }

    #[test]
    fn statuses_are_named() {
        assert_eq!(status_text(503), "503 Service Unavailable");
        assert_eq!(status_text(599), "599");
    }
}

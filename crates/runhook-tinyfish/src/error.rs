//! What can go wrong: building a client ([`BuildError`]) and calling the API ([`Error`],
//! [`ApiError`], [`ApiErrorCode`]).

use std::time::Duration;

use runhook::RunError;
use runhook::api::{ApiErrorCode, ErrorEnvelope};
use runhook::delivery::NetworkErrorKind;
use serde_json::Value;

/// Why a [`Client`](crate::Client) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No API key: neither set on the builder nor in `TINYFISH_API_KEY`.
    #[error(
        "no TinyFish API key: set the TINYFISH_API_KEY environment variable, or call \
         `.api_key(..)` on the builder"
    )]
    MissingApiKey,
    /// The API key cannot be sent as an HTTP header value (a control character, say).
    #[error("the TinyFish API key is not a valid HTTP header value (does it hold a newline?)")]
    InvalidApiKey,
    /// The base URL is not an absolute `http` or `https` URL.
    #[error("the base URL {url:?} is not usable: {reason}")]
    InvalidBaseUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A timeout of zero.
    #[error("{name} is 0; it must be above 0")]
    ZeroTimeout {
        /// The setting's name.
        name: &'static str,
    },
    /// The HTTP client could not be created (its TLS setup failed).
    #[error("the HTTP client could not be created: {0}")]
    Http(#[source] reqwest::Error),
}

/// Why a call to the API failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status (after the retries, for a call that is retried).
    #[error(transparent)]
    Api(#[from] ApiError),
    /// No response arrived: the connection could not be made, was reset, or failed in TLS
    /// (after the retries, for a call that is retried). The kind and the message come from the
    /// classification every runhook sender uses
    /// ([`runhook_dispatch::SendError::classify`]).
    #[error("{method} {path}: no response from the TinyFish API ({}): {message}", kind.as_str())]
    Network {
        /// The method of the request.
        method: &'static str,
        /// The path of the request.
        path: String,
        /// What kind of failure it was.
        kind: NetworkErrorKind,
        /// The HTTP client's description of it.
        message: String,
    },
    /// The request (or its last attempt) did not finish within its timeout.
    #[error("{method} {path}: the TinyFish API did not answer within {timeout:?}")]
    Timeout {
        /// The method of the request.
        method: &'static str,
        /// The path of the request.
        path: String,
        /// The timeout that ran out.
        timeout: Duration,
    },
    /// A successful response whose body is not the documented JSON.
    #[error("{path}: the response is not the documented JSON: {message}")]
    Decode {
        /// The path of the request.
        path: String,
        /// What could not be read.
        message: String,
    },
    /// An argument the API would refuse, caught before anything was sent (a batch of 0 or
    /// more than 100 items, a page size outside 1–100).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The API answered 200 to a run creation but with an `error` instead of a run id.
    #[error("the run was not created: {}", .0.message)]
    NotCreated(Box<RunError>),
}

impl Error {
    /// The API's error, if the API answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(error) => Some(error),
            _ => None,
        }
    }

    /// Whether the API answered 404 `NOT_FOUND`.
    pub fn is_not_found(&self) -> bool {
        self.api()
            .is_some_and(|error| error.status == 404 || error.code == ApiErrorCode::NotFound)
    }

    /// Whether no answer came back (a network failure or a timeout), as opposed to an answer
    /// the API gave.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Network { .. } | Error::Timeout { .. })
    }
}

/// An error answer of the API: `{"error": {"code", "message", "details"}}` and its status.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{status} {code}: {message}")]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status code.
    pub status: u16,
    /// The API's error code ([`ApiErrorCode::Unspecified`] if the body carried none).
    pub code: ApiErrorCode,
    /// The API's message (or, without one, the start of the body).
    pub message: String,
    /// The API's `details`, if any (for `INVALID_INPUT`, the list of issues).
    pub details: Option<Value>,
    /// The `Retry-After` header, if the response carried one that parses.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// An error answer with a status, a code and a message (for tests of your own code).
    pub fn new(status: u16, code: ApiErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }
}

/// The longest excerpt of an undocumented error body kept as the message.
const EXCERPT: usize = 300;

impl ApiError {
    /// Reads an error answer: the documented JSON if it is that, else an excerpt of the body.
    pub(crate) fn from_response(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        match serde_json::from_slice::<ErrorEnvelope>(body) {
            Ok(ErrorEnvelope { error, .. }) => ApiError {
                status,
                code: error.code.unwrap_or(ApiErrorCode::Unspecified),
                message: error.message.unwrap_or_default(),
                details: error.details.filter(|details| !details.is_null()),
                retry_after,
            },
            Err(_) => {
                let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT)]);
                let message = if text.trim().is_empty() {
                    format!("HTTP {status} without a body")
                } else {
                    text.trim().to_owned()
                };
                ApiError {
                    status,
                    code: ApiErrorCode::Unspecified,
                    message,
                    details: None,
                    retry_after,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_undocumented_body_keeps_an_excerpt() {
        let error = ApiError::from_response(502, b"<html>bad gateway</html>", None);
        assert_eq!(error.code, ApiErrorCode::Unspecified);
        assert_eq!(error.message, "<html>bad gateway</html>");
        let error = ApiError::from_response(
            400,
            br#"{"error":{"code":"INVALID_INPUT","message":"bad","details":[{"path":"url"}]}}"#,
            None,
        );
        assert_eq!(error.code, ApiErrorCode::InvalidInput);
        assert!(error.details.is_some());
        assert_eq!(error.to_string(), "400 INVALID_INPUT: bad");
    }
}

//! The `code` of an API error.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The `code` of an API error. Codes this version does not know are kept in
/// [`ApiErrorCode::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiErrorCode {
    /// 400: the request is invalid; `details` lists the issues.
    InvalidInput,
    /// 401: no `X-API-Key` header.
    MissingApiKey,
    /// 401: the API key is not valid.
    InvalidApiKey,
    /// 404: no such run (or not yours), or no such endpoint.
    NotFound,
    /// 405: the endpoint does not accept the method (answered by the emulator; TinyFish's
    /// documentation does not list it).
    MethodNotAllowed,
    /// 413: the request body is too large (answered by the emulator; TinyFish's documentation
    /// does not list it).
    PayloadTooLarge,
    /// 429: too many requests; wait for `Retry-After`.
    RateLimitExceeded,
    /// 500: the API failed.
    InternalError,
    /// A code this version of runhook does not know, kept verbatim (403 codes among them).
    Other(String),
    /// The error body carried no code (it was not the documented JSON).
    Unspecified,
}

impl ApiErrorCode {
    /// Every code this version knows, in the order of the list above.
    pub const KNOWN: &'static [ApiErrorCode] = &[
        ApiErrorCode::InvalidInput,
        ApiErrorCode::MissingApiKey,
        ApiErrorCode::InvalidApiKey,
        ApiErrorCode::NotFound,
        ApiErrorCode::MethodNotAllowed,
        ApiErrorCode::PayloadTooLarge,
        ApiErrorCode::RateLimitExceeded,
        ApiErrorCode::InternalError,
    ];

    /// The code as the API writes it (`""` for [`ApiErrorCode::Unspecified`]).
    pub fn as_str(&self) -> &str {
        match self {
            ApiErrorCode::InvalidInput => "INVALID_INPUT",
            ApiErrorCode::MissingApiKey => "MISSING_API_KEY",
            ApiErrorCode::InvalidApiKey => "INVALID_API_KEY",
            ApiErrorCode::NotFound => "NOT_FOUND",
            ApiErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ApiErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ApiErrorCode::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            ApiErrorCode::InternalError => "INTERNAL_ERROR",
            ApiErrorCode::Other(code) => code,
            ApiErrorCode::Unspecified => "",
        }
    }

    /// The code for the API's string.
    pub fn from_wire(code: &str) -> Self {
        match code {
            "" => ApiErrorCode::Unspecified,
            other => Self::KNOWN
                .iter()
                .find(|known| known.as_str() == other)
                .cloned()
                .unwrap_or_else(|| ApiErrorCode::Other(other.to_owned())),
        }
    }

    /// The HTTP status the API answers with this code, for the codes this version knows.
    pub fn http_status(&self) -> Option<u16> {
        match self {
            ApiErrorCode::InvalidInput => Some(400),
            ApiErrorCode::MissingApiKey | ApiErrorCode::InvalidApiKey => Some(401),
            ApiErrorCode::NotFound => Some(404),
            ApiErrorCode::MethodNotAllowed => Some(405),
            ApiErrorCode::PayloadTooLarge => Some(413),
            ApiErrorCode::RateLimitExceeded => Some(429),
            ApiErrorCode::InternalError => Some(500),
            ApiErrorCode::Other(_) | ApiErrorCode::Unspecified => None,
        }
    }
}

impl fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiErrorCode::Unspecified => f.write_str("(no code)"),
            other => f.write_str(other.as_str()),
        }
    }
}

impl Serialize for ApiErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ApiErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|code| Self::from_wire(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for code in ApiErrorCode::KNOWN {
            assert_eq!(&ApiErrorCode::from_wire(code.as_str()), code);
            assert!(code.http_status().is_some(), "{code}");
        }
        assert_eq!(
            ApiErrorCode::from_wire("INSUFFICIENT_CREDITS"),
            ApiErrorCode::Other("INSUFFICIENT_CREDITS".into())
        );
        assert_eq!(ApiErrorCode::from_wire(""), ApiErrorCode::Unspecified);
        let json = serde_json::to_string(&ApiErrorCode::NotFound).unwrap();
        assert_eq!(json, "\"NOT_FOUND\"");
        let back: ApiErrorCode = serde_json::from_str(&json).unwrap();
        assert_eq!(back, ApiErrorCode::NotFound);
    }
}

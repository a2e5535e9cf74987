//! Receiving a webhook: from an HTTP request to a [`Verdict`] (PROTOCOL.md §4.3).
//!
//! [`receive`] is the one function every adapter calls. It takes the method, the headers and the
//! raw body bytes (never a re-encoded body) and decides, without IO, whether the request is an
//! acceptable webhook. The checks run in this order, so the cheapest refusal comes first and no
//! work is spent on a body that is refused anyway:
//!
//! | # | check | status | [`RejectionKind`] |
//! |---|---|---|---|
//! | 1 | the method is `POST` | 405 + `Allow: POST` | `MethodNotAllowed` |
//! | 2 | the body is at most [`Limits::max_body_bytes`] (1 MiB by default) | 413 | `PayloadTooLarge` |
//! | 3 | the [`Authenticator`] accepts the request (the default accepts all) | 401 | `Unauthenticated` |
//! | 4 | `Content-Type` is `application/json` or `application/*+json`, any case, any parameters, charset UTF-8 if given | 415 | `UnsupportedMediaType` |
//! | 5 | the body is UTF-8, well-formed JSON, nests at most 128 levels, numbers fit an `f64` | 400 | `MalformedJson` |
//! | 6 | it is an object with the envelope's fields of the right types | 400 | `InvalidEvent` |
//! | 7 | event ⇔ status and `data` agree with the envelope | 400 | `InconsistentEvent` |
//! | 8 | no key appears twice in one object (on by default) | 400 | `MalformedJson` |
//!
//! An event type runhook does not know is accepted as [`Event::Unknown`] (checks 6 and 7 do not
//! apply to it): TinyFish may add events, and a receiver must not break when it does.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Method, header::CONTENT_TYPE};
//! use runhook::receive::{receive, ReceiveConfig, Verdict};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
//! let body = br#"{"event":"run.cancelled","run_id":"run-1","status":"CANCELLED","data":{}}"#;
//!
//! match receive(&Method::POST, &headers, body, &ReceiveConfig::default()) {
//!     Verdict::Accept(event) => assert_eq!(event.run_id(), Some("run-1")),
//!     Verdict::Reject(rejection) => panic!("{}: {}", rejection.status, rejection.reason),
//! }
//!
//! let Verdict::Reject(rejection) = receive(&Method::GET, &headers, b"", &Default::default())
//! else { unreachable!() };
//! assert_eq!(rejection.status, 405);
//! ```

mod auth;
mod config;
mod content_type;
mod duplicate_keys;
mod rejection;

pub use auth::{AuthError, Authenticator, NoAuthentication};
pub use config::{Limits, ReceiveConfig};
pub use rejection::{Rejection, RejectionKind};

use http::{HeaderMap, Method};

use crate::events::Event;

/// What [`receive`] decided about a request.
#[derive(Debug, Clone, PartialEq)]
// A verdict is made once per request and moved once; boxing the event would cost an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Verdict {
    /// An acceptable webhook, typed; an unknown event type is passed on as [`Event::Unknown`].
    Accept(Event),
    /// Refused, with the status code and the reason to answer with.
    Reject(Rejection),
}

impl Verdict {
    /// The verdict as a `Result`, for `?`.
    pub fn into_result(self) -> Result<Event, Rejection> {
        match self {
            Verdict::Accept(event) => Ok(event),
            Verdict::Reject(rejection) => Err(rejection),
        }
    }

    /// The status code to answer with if nothing else intervenes: 200 for an accepted event, the
    /// rejection's otherwise.
    pub fn status(&self) -> u16 {
        match self {
            Verdict::Accept(_) => 200,
            Verdict::Reject(rejection) => rejection.status,
        }
    }
}

/// Decides whether a request is an acceptable webhook; see the [module docs](self) for the
/// checks, their order and their status codes. Never panics, whatever the bytes.
pub fn receive(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    config: &ReceiveConfig,
) -> Verdict {
    match check(method, headers, body, config) {
        Ok(event) => Verdict::Accept(event),
        Err(rejection) => Verdict::Reject(rejection),
    }
}

/// 405 unless the method is `POST`. Adapters that must answer before reading the body use it.
pub fn check_method(method: &Method) -> Result<(), Rejection> {
    if method == Method::POST {
        Ok(())
    } else {
        Err(Rejection::method_not_allowed(method))
    }
}

fn check(
    method: &Method,
    headers: &HeaderMap,
    body: &[u8],
    config: &ReceiveConfig,
) -> Result<Event, Rejection> {
    check_method(method)?;
    let limit = config.limits.max_body_bytes;
    if body.len() > limit {
        return Err(Rejection::payload_too_large(
            u64::try_from(body.len()).ok(),
            limit,
        ));
    }
    config
        .authenticator
        .verify(headers, body)
        .map_err(|error| {
            Rejection::new(
                RejectionKind::Unauthenticated,
                format!("authentication failed: {error}"),
            )
        })?;
    content_type::check(headers, config.accept_json_suffix)?;
    if let Err(error) = std::str::from_utf8(body) {
        return Err(Rejection {
            pointer: Some(String::new()),
            ..Rejection::new(
                RejectionKind::MalformedJson,
                format!(
                    "the body is not valid UTF-8 (first bad byte at offset {}); JSON must be \
                     UTF-8",
                    error.valid_up_to()
                ),
            )
        });
    }
    let event = Event::from_slice(body).map_err(|error| Rejection::invalid_event(&error))?;
    if config.reject_duplicate_keys
        && let Some(duplicate) = duplicate_keys::find(body)
    {
        let place = if duplicate.object.is_empty() {
            "the top-level object".to_owned()
        } else {
            format!("the object at {}", duplicate.object)
        };
        return Err(Rejection {
            pointer: Some(duplicate.object),
            ..Rejection::new(
                RejectionKind::MalformedJson,
                format!(
                    "the key {:?} appears twice in {place}; each key may appear once",
                    duplicate.key
                ),
            )
        });
    }
    Ok(event)
}

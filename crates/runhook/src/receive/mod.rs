//! Receiving a webhook: from an HTTP request to a [`Verdict`].
//!
//! [`receive`] is the one function every adapter calls. It takes the method, the request URI, the
//! headers and the raw body bytes (never a re-encoded body) and decides, without IO, whether the
//! request is an acceptable webhook. The checks run in this order, so the cheapest refusal comes
//! first and no work is spent on a body that is refused anyway:
//!
//! | # | check | status | [`RejectionKind`] |
//! |---|---|---|---|
//! | 1 | the method is `POST` | 405 + `Allow: POST` | `MethodNotAllowed` |
//! | 2 | the body is at most [`Limits::max_body_bytes`] (8 MiB by default) | 413 | `PayloadTooLarge` |
//! | 3 | the [`Authenticator`] accepts the request, e.g. a [`UrlToken`] in the URI (the default accepts all) | 401 | `Unauthenticated` |
//! | 4 | `Content-Type` is `application/json` or `application/*+json`, any case, any parameters, charset UTF-8 if given | 415 | `UnsupportedMediaType` |
//! | 5 | `Content-Encoding` is absent or `identity` (any case): a compressed body is not decoded | 415 | `UnsupportedContentEncoding` |
//! | 6 | the body (after one leading UTF-8 byte order mark, which is skipped) is UTF-8, well-formed JSON, nests at most 128 levels, numbers fit an `f64` | 400 | `MalformedJson` |
//! | 7 | it is an object with the envelope's fields of the right types: `event`, `run_id`, `status` strings, a valid `run_id`, `data` an object | 400 | `InvalidEvent` |
//! | 8 | event ⇔ status, and `data.run_id` / `data.status` do not contradict the envelope | 400 | `InconsistentEvent` |
//! | 9 | no key appears twice in one object outside `data` (on by default) | 400 | `MalformedJson` |
//! | 10 | *strict mode only*: every value inside `data` has its documented type, and no key appears twice inside `data` | 400 | `InvalidEvent` / `MalformedJson` |
//!
//! By default (lenient, [`RequestChecks::strict`] off) a value inside `data` that does not have
//! its documented type is *drift*, not a refusal: the event is accepted (200) with that value left
//! out of the typed run, and the problems and the raw `data` are on the event
//! ([`RunEvent::drift_problems`](crate::RunEvent::drift_problems),
//! [`RunEvent::raw_data`](crate::RunEvent::raw_data)). TinyFish never retries a 400, so
//! refusing such a body would lose the run for good. See [`Event::from_slice_lenient`].
//!
//! An event type runhook does not know is accepted as [`Event::Unknown`] (checks 7 to 10 do not
//! apply to it): TinyFish may add events, and a receiver must not break when it does.
//!
//! A refusal of a body whose envelope carries a valid `run_id` names it in
//! [`Rejection::run_id`], so a lost run can be identified.
//!
//! ```
//! use http::{HeaderMap, HeaderValue, Method, Uri, header::CONTENT_TYPE};
//! use runhook::receive::{receive, RequestChecks, Verdict};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
//! let uri = Uri::from_static("/webhooks/tinyfish");
//! let body = br#"{"event":"run.cancelled","run_id":"run-1","status":"CANCELLED","data":{}}"#;
//!
//! match receive(&Method::POST, &uri, &headers, body, &RequestChecks::default()) {
//!     Verdict::Accept(event) => assert_eq!(event.run_id(), Some("run-1")),
//!     Verdict::Reject(rejection) => panic!("{}: {}", rejection.status, rejection.reason),
//! }
//!
//! // A drifted field inside `data` is accepted, and reported.
//! let drifted = br#"{"event":"run.cancelled","run_id":"run-1","status":"CANCELLED",
//!                    "data":{"num_of_steps":"3"}}"#;
//! let Verdict::Accept(event) = receive(&Method::POST, &uri, &headers, drifted, &Default::default())
//! else { unreachable!() };
//! assert_eq!(event.drift_problems()[0].pointer, "/data/num_of_steps");
//!
//! let Verdict::Reject(rejection) = receive(&Method::GET, &uri, &headers, b"", &Default::default())
//! else { unreachable!() };
//! assert_eq!(rejection.status, 405);
//! ```

mod auth;
mod config;
mod content_type;
mod rejection;
mod url_token;

pub use auth::{AuthError, Authenticator, NoAuthentication};
pub use config::{Limits, RequestChecks};
pub use rejection::{Rejection, RejectionKind};
pub use url_token::{TokenPlace, UrlToken, UrlTokenError};

use http::{HeaderMap, Method, Uri};

use crate::events::{Event, EventError, RunId};

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
/// checks, their order and their status codes. `uri` is the request target as received (the
/// authenticator may read a token from it). Never panics, whatever the bytes.
pub fn receive(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    config: &RequestChecks,
) -> Verdict {
    match check(method, uri, headers, body, config) {
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

/// The UTF-8 byte order mark, which RFC 8259 §8.1 lets a parser ignore.
const BOM: &[u8] = b"\xEF\xBB\xBF";

fn check(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    config: &RequestChecks,
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
        .verify(uri, headers, body)
        .map_err(|error| {
            Rejection::new(
                RejectionKind::Unauthenticated,
                format!("authentication failed: {error}"),
            )
        })?;
    content_type::check(headers, config.accept_json_suffix)?;
    content_type::check_encoding(headers)?;
    let body = body.strip_prefix(BOM).unwrap_or(body);
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
    parse(body, config).map_err(|error| refusal(&error, body))
}

/// The body's event, under the configured strictness. In both modes the normal path is one pass:
/// the typed parse with (if on) the repeated-key check.
pub(crate) fn parse(body: &[u8], config: &RequestChecks) -> Result<Event, EventError> {
    if config.strict {
        Event::parse(body, config.reject_duplicate_keys)
    } else {
        // Drift, a repeated key, or a broken envelope: the lenient parse tells which.
        crate::events::parse_lenient(body, config.reject_duplicate_keys)
    }
}

/// The rejection for a body the parse refused, naming its run where the envelope has a valid one.
fn refusal(error: &EventError, body: &[u8]) -> Rejection {
    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        run_id: Option<serde_json::Value>,
    }
    let run_id = serde_json::from_slice::<Probe>(body)
        .ok()
        .and_then(|probe| match probe.run_id {
            Some(serde_json::Value::String(id)) => RunId::validate(&id).is_ok().then_some(id),
            _ => None,
        });
    Rejection {
        run_id,
        ..Rejection::invalid_event(error)
    }
}

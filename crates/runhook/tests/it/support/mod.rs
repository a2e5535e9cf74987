//! Requests for the receive tests: JSON headers, a webhook URI, a POST through `receive`.

#![allow(dead_code)] // each test file uses the part it needs

use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Uri};
use runhook::receive::{Rejection, RequestChecks, Verdict, receive};

pub(crate) fn json_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}

pub(crate) fn uri() -> Uri {
    Uri::from_static("/webhooks/tinyfish")
}

/// POSTs `body` with JSON headers through `receive` with `config`.
pub(crate) fn post_with(body: &[u8], config: &RequestChecks) -> Verdict {
    receive(&Method::POST, &uri(), &json_headers(), body, config)
}

/// POSTs `body` with JSON headers through `receive` with the default configuration.
pub(crate) fn post(body: &[u8]) -> Verdict {
    post_with(body, &RequestChecks::default())
}

/// The rejection of a refused request; panics on an accepted one.
pub(crate) fn rejection(verdict: Verdict) -> Rejection {
    match verdict {
        Verdict::Reject(rejection) => rejection,
        Verdict::Accept(event) => panic!("accepted {}", event.name()),
    }
}

//! The response a receiver hands back to the adapter.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::Report;
use runhook::receive::Rejection;

/// An HTTP response, framework-agnostic: the adapter copies status, headers and body into its
/// own response type (or calls [`WebhookResponse::into_http`]).
///
/// The body is a short JSON object: `outcome` (`accepted`, `duplicate`, `in_flight`, …),
/// `reason` in words, and where known `run_id`, `event`, `kind` (of a rejection) and `pointer`
/// (the JSON pointer of a body problem).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookResponse {
    /// The status code.
    pub status: u16,
    /// Headers: `Content-Type: application/json`, and `Allow` or `Retry-After` where they apply.
    pub headers: HeaderMap,
    /// The JSON body.
    pub body: Bytes,
}

impl WebhookResponse {
    /// Builds the response for a report (and the rejection it came from, if any).
    pub(crate) fn from_report(
        report: &Report,
        retry_after: Option<u64>,
        rejection: Option<&Rejection>,
    ) -> Self {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(seconds) = retry_after {
            headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        let mut body = Map::new();
        body.insert("outcome".into(), report.outcome.as_str().into());
        body.insert("reason".into(), report.reason.clone().into());
        if let Some(run_id) = &report.run_id {
            body.insert("run_id".into(), run_id.clone().into());
        }
        if let Some(event) = &report.event {
            body.insert("event".into(), event.clone().into());
        }
        if let Some(rejection) = rejection {
            body.insert("kind".into(), rejection.kind.as_str().into());
            if let Some(pointer) = &rejection.pointer {
                body.insert("pointer".into(), pointer.clone().into());
            }
            for (name, value) in rejection.headers() {
                headers.insert(name, value);
            }
        }
        let body = serde_json::to_vec(&Value::Object(body)).unwrap_or_default();
        WebhookResponse {
            status: report.status,
            headers,
            body: Bytes::from(body),
        }
    }

    /// The status as an [`http::StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The response as an `http::Response`, for frameworks built on the `http` crate.
    pub fn into_http(self) -> http::Response<Bytes> {
        let status = self.status_code();
        let mut response = http::Response::new(self.body);
        *response.status_mut() = status;
        *response.headers_mut() = self.headers;
        response
    }
}

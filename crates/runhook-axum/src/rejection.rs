//! The default rejection of the [`Webhook`](crate::Webhook) extractor.

use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};
use runhook::ReceiveOutcome;
use runhook::receive::Rejection;
use serde_json::{Map, Value};

/// Why [`Webhook`](crate::Webhook) refused a request: the core's [`Rejection`], answered with
/// its status code (405, 413, 401, 415 or 400), its headers (`Allow: POST` for a 405) and the
/// JSON body every runhook receiver sends, e.g.
/// `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
///
/// To answer differently, extract `Webhook<YourRejection>` with
/// `YourRejection: From<WebhookRejection> + IntoResponse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct WebhookRejection {
    rejection: Rejection,
}

impl WebhookRejection {
    /// The core's rejection: status, kind, reason and JSON pointer.
    pub fn rejection(&self) -> &Rejection {
        &self.rejection
    }

    /// The status code to answer with.
    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.rejection.status).unwrap_or(StatusCode::BAD_REQUEST)
    }

    /// The core's rejection, by value.
    pub fn into_inner(self) -> Rejection {
        self.rejection
    }
}

impl From<Rejection> for WebhookRejection {
    fn from(rejection: Rejection) -> Self {
        WebhookRejection { rejection }
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        let status = self.status();
        let rejection = self.rejection;
        let mut body = Map::new();
        body.insert("outcome".into(), ReceiveOutcome::Invalid.as_str().into());
        body.insert("kind".into(), rejection.kind.as_str().into());
        if let Some(pointer) = &rejection.pointer {
            body.insert("pointer".into(), pointer.clone().into());
        }
        let headers = rejection.headers();
        body.insert("reason".into(), rejection.reason.into());
        let mut response = (status, Value::Object(body).to_string()).into_response();
        let response_headers = response.headers_mut();
        response_headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in headers {
            response_headers.insert(name, value);
        }
        response
    }
}

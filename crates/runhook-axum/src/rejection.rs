//! The default rejection of the [`Webhook`](crate::Webhook) extractor.

use axum::body::Body;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use runhook::receive::Rejection;
use runhook_receiver::WebhookResponse;

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
        WebhookResponse::from_rejection(&self.rejection)
            .into_http()
            .map(Body::from)
            .into_response()
    }
}

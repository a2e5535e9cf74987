//! [`WebhookRejection`]: why the [`Webhook`](crate::Webhook) extractor refused a request.

use std::ops::Deref;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use runhook_receiver::Refusal;

/// Why [`Webhook`](crate::Webhook) refused a request: a [`Refusal`] (the core's rejection, 405,
/// 413, 401, 415 or 400; or a body that did not arrive in time or did not fit the body budget,
/// 503), answered with its status code, its headers (`Allow: POST` for a 405, `Retry-After`
/// where it helps) and the JSON body every runhook receiver sends, e.g.
/// `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
///
/// To answer differently, extract `Result<Webhook, WebhookRejection>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct WebhookRejection(pub Refusal);

impl Deref for WebhookRejection {
    type Target = Refusal;

    fn deref(&self) -> &Refusal {
        &self.0
    }
}

impl IntoResponse for WebhookRejection {
    fn into_response(self) -> Response {
        self.0
            .response()
            .into_http()
            .map(Body::from)
            .into_response()
    }
}

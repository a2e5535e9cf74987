//! [`WebhookRejection`]: a refused request as a poem error.

use poem::Response;
use poem::error::ResponseError;
use poem::http::StatusCode;
use runhook::receive::Rejection;
use runhook_receiver::WebhookResponse;

/// Why the [`Webhook`](crate::Webhook) extractor refused a request: the core's [`Rejection`]
/// (docs/protocol.md §4.3). As a [`ResponseError`] it answers with its status code (405, 413, 401,
/// 415 or 400), its headers (`Allow: POST` for a 405) and the JSON body every runhook receiver
/// sends, e.g. `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
///
/// To answer differently, take `poem::Result<Webhook>` in the handler and find it with
/// `error.downcast_ref::<WebhookRejection>()`, or use `EndpointExt::catch_error`.
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

impl ResponseError for WebhookRejection {
    fn status(&self) -> StatusCode {
        WebhookRejection::status(self)
    }

    fn as_response(&self) -> Response {
        crate::endpoint::to_poem(WebhookResponse::from_rejection(&self.rejection))
    }
}

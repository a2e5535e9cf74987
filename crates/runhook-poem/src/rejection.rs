//! [`WebhookRejection`]: a refused request as a poem error.

use std::ops::Deref;

use poem::Response;
use poem::error::ResponseError;
use poem::http::StatusCode;
use runhook_receiver::Refusal;

/// Why the [`Webhook`](crate::Webhook) extractor refused a request: a [`Refusal`] (the core's
/// rejection, 405, 413, 401, 415 or 400; or a body that did not arrive in time or did not fit
/// the body budget, 503). As a [`ResponseError`] it answers with its status code, its headers
/// (`Allow: POST` for a 405, `Retry-After` where it helps) and the JSON body every runhook
/// receiver sends, e.g. `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
///
/// To answer differently, take `poem::Result<Webhook>` in the handler and find it with
/// `error.downcast_ref::<WebhookRejection>()`, or use `EndpointExt::catch_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct WebhookRejection(pub Refusal);

impl Deref for WebhookRejection {
    type Target = Refusal;

    fn deref(&self) -> &Refusal {
        &self.0
    }
}

impl ResponseError for WebhookRejection {
    fn status(&self) -> StatusCode {
        self.0.status()
    }

    fn as_response(&self) -> Response {
        crate::endpoint::to_poem(self.0.response())
    }
}

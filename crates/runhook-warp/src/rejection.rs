//! [`WebhookRejection`]: a refused request as a warp rejection, and [`recover`].

use std::ops::Deref;

use bytes::Bytes;
use runhook_receiver::Refusal;
use warp::http::Response;

/// Why the [`webhook()`](crate::webhook()) filter refused a request: a [`Refusal`] (the core's
/// rejection, 405, 413, 401, 415 or 400; or a body that did not arrive in time or did not fit
/// the body budget, 503), as a custom warp rejection. [`recover`] answers it with its status
/// code, its headers (`Allow: POST` for a 405, `Retry-After` where it helps) and the JSON body
/// every runhook receiver sends, e.g.
/// `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
///
/// To answer differently, recover with a function of your own that calls
/// `rejection.find::<WebhookRejection>()`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(transparent)]
pub struct WebhookRejection(pub Refusal);

impl Deref for WebhookRejection {
    type Target = Refusal;

    fn deref(&self) -> &Refusal {
        &self.0
    }
}

impl WebhookRejection {
    /// The response: status, headers and JSON body (the same as every runhook receiver's).
    pub fn to_response(&self) -> Response<Bytes> {
        self.0.response().into_http()
    }
}

impl warp::reject::Reject for WebhookRejection {}

impl warp::Reply for WebhookRejection {
    fn into_response(self) -> warp::reply::Response {
        self.to_response().into_response()
    }
}

/// A rejection handler for `Filter::recover`: a [`WebhookRejection`] becomes its response;
/// any other rejection is passed on unchanged, so warp answers it as it would without this
/// handler (404, another route's 405, …).
///
/// It returns `Result<_, warp::Rejection>` rather than `Result<_, Infallible>` for that reason:
/// warp's default response for a rejection is not public, and only passing the rejection on
/// keeps it.
pub async fn recover(rejection: warp::Rejection) -> Result<Response<Bytes>, warp::Rejection> {
    match rejection.find::<WebhookRejection>() {
        Some(webhook) => Ok(webhook.to_response()),
        None => Err(rejection),
    }
}

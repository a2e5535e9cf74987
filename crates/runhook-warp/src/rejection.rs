//! [`WebhookRejection`]: a refused request as a warp rejection, and [`recover`].

use crate::WebhookRejection;
use bytes::Bytes;
use warp::http::Response;

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

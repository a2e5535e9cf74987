//! [`WebhookRejection`]: a refused request as a warp rejection, and [`recover`].

use bytes::Bytes;
use runhook::receive::Rejection;
use runhook_receiver::WebhookResponse;
use warp::http::{Response, StatusCode};

/// Why the [`webhook()`](crate::webhook()) filter refused a request: the core's [`Rejection`]
/// (docs/protocol.md §4.3), as a custom warp rejection. [`recover`] answers it with its status code
/// (405, 413, 401, 415 or 400), its headers (`Allow: POST` for a 405) and the JSON body every
/// runhook receiver sends, e.g.
/// `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
///
/// To answer differently, recover with a function of your own that calls
/// `rejection.find::<WebhookRejection>()`.
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

    /// The response: status, headers and JSON body (the same as every runhook receiver's).
    pub fn to_response(&self) -> Response<Bytes> {
        WebhookResponse::from_rejection(&self.rejection).into_http()
    }
}

impl From<Rejection> for WebhookRejection {
    fn from(rejection: Rejection) -> Self {
        WebhookRejection { rejection }
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

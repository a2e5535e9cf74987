//! The [`Webhook`] extractor: a validated event from the raw request.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::Method;
use axum::response::IntoResponse;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use runhook::Event;
use runhook::receive::{Rejection, RejectionKind, RequestChecks, Verdict, check_method};

use crate::WebhookRejection;

/// Extracts a validated webhook [`Event`]: the request's method, headers and raw body bytes (read
/// with the body limit, never re-encoded) go through [`runhook::receive()`]; a refused request is
/// answered with the rejection `R` (default [`WebhookRejection`]: the core's status and reason).
///
/// The checks use the [`RequestChecks`] found in the request's extensions (add one with
/// `.layer(axum::Extension(config))`), or the default one: 8 MiB body limit, no authenticator.
///
/// The extractor validates; it does not deduplicate. For deduplication by `run_id`, a deadline
/// and the handler contract, use [`webhook_route`](crate::webhook_route).
///
/// ```
/// use axum::http::StatusCode;
/// use axum::routing::post;
/// use runhook::Event;
/// use runhook_axum::Webhook;
///
/// async fn hook(Webhook { event, .. }: Webhook) -> StatusCode {
///     match event {
///         Event::Completed(run) => println!("{}: {:?}", run.run_id, run.data.result.value()),
///         other => println!("{} for {:?}", other.name(), other.run_id()),
///     }
///     StatusCode::OK
/// }
///
/// let app: axum::Router = axum::Router::new().route("/webhooks/tinyfish", post(hook));
/// # drop(app);
/// ```
///
/// With a rejection of your own:
///
/// ```
/// use axum::http::StatusCode;
/// use axum::response::{IntoResponse, Response};
/// use runhook_axum::{Webhook, WebhookRejection};
///
/// struct PlainText(WebhookRejection);
///
/// impl From<WebhookRejection> for PlainText {
///     fn from(rejection: WebhookRejection) -> Self {
///         PlainText(rejection)
///     }
/// }
///
/// impl IntoResponse for PlainText {
///     fn into_response(self) -> Response {
///         (self.0.status(), self.0.rejection().reason.clone()).into_response()
///     }
/// }
///
/// async fn hook(webhook: Webhook<PlainText>) -> StatusCode {
///     println!("{}", webhook.name());
///     StatusCode::OK
/// }
/// # let _: axum::Router = axum::Router::new().route("/", axum::routing::post(hook));
/// ```
pub struct Webhook<R = WebhookRejection> {
    /// The validated event.
    pub event: Event,
    rejection: PhantomData<fn() -> R>,
}

impl<R> Webhook<R> {
    /// The event.
    pub fn into_inner(self) -> Event {
        self.event
    }
}

impl<R> fmt::Debug for Webhook<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("event", &self.event)
            .finish_non_exhaustive()
    }
}

impl<R> Deref for Webhook<R> {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.event
    }
}

impl<S, R> FromRequest<S> for Webhook<R>
where
    S: Send + Sync,
    R: From<WebhookRejection> + IntoResponse,
{
    type Rejection = R;

    async fn from_request(request: Request, _state: &S) -> Result<Self, R> {
        let (parts, body) = request.into_parts();
        let default;
        let config = match parts.extensions.get::<RequestChecks>() {
            Some(config) => config,
            None => {
                default = RequestChecks::default();
                &default
            }
        };
        let verdict = match read(&parts.method, body, config.limits.max_body_bytes).await {
            Ok(body) => runhook::receive(&parts.method, &parts.uri, &parts.headers, &body, config),
            Err(rejection) => Verdict::Reject(rejection),
        };
        match verdict {
            Verdict::Accept(event) => Ok(Webhook {
                event,
                rejection: PhantomData,
            }),
            Verdict::Reject(rejection) => Err(WebhookRejection::from(rejection).into()),
        }
    }
}

/// The raw body, or the rejection for a body over `limit` (405 first for a wrong method, as the
/// core orders its checks) or one that could not be read.
async fn read(method: &Method, body: Body, limit: usize) -> Result<Bytes, Rejection> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<LengthLimitError>() => Err(check_method(method)
            .err()
            .unwrap_or_else(|| Rejection::payload_too_large(None, limit))),
        Err(error) => Err(Rejection::new(
            RejectionKind::MalformedJson,
            format!("the request body could not be read: {error}"),
        )),
    }
}

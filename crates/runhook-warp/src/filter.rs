//! The [`webhook()`] filter: a validated event from the raw request.

use std::sync::Arc;

use bytes::Buf;
use futures::TryStreamExt;
use http_body::{Body, Frame};
use http_body_util::StreamBody;
use runhook_receiver::WebhookChecks;
use warp::Filter;
use warp::http::{HeaderMap, Method, Uri};

runhook_receiver::webhook_types! {
    /// A webhook that passed every check, in the order every runhook adapter's `Webhook` follows:
    /// the method first (405, before any of the body is read), then the raw body, read with the
    /// body limit (413), the body timeout and the process's body budget (503), never re-encoded,
    /// then [`runhook::receive()`] (401, 415, 400). Extracted by [`webhook()`].
    ///
    /// The event is not deduplicated: a handler using it directly sees every delivery, retries
    /// included. [`webhook_route`](crate::webhook_route) deduplicates.
    Webhook;
    /// Why the [`webhook()`](crate::webhook()) filter refused a request: a [`Refusal`] (the core's
    /// rejection, 405, 413, 401, 415 or 400; or a body that did not arrive in time or did not fit
    /// the body budget, 503), as a custom warp rejection. [`recover`] answers it with its status
    /// code, its headers (`Allow: POST` for a 405, `Retry-After` where it helps) and the JSON body
    /// every runhook receiver sends, e.g.
    /// `{"outcome":"invalid","reason":"...","kind":"unsupported_media_type"}`.
    ///
    /// To answer differently, recover with a function of your own that calls
    /// `rejection.find::<WebhookRejection>()`.
    WebhookRejection;
}

/// A filter extracting a [`Webhook`] from any request, with the default [`WebhookChecks`] (8 MiB
/// body limit, no authentication, 10 s body timeout, the global body budget). A request the core refuses is rejected with a
/// [`WebhookRejection`]; add `.recover(runhook_warp::recover)` to answer it with its status and
/// reason.
///
/// ```
/// use runhook_warp::{Webhook, recover, webhook};
/// use warp::Filter;
///
/// let route = warp::path!("webhooks" / "tinyfish")
///     .and(webhook())
///     .map(|Webhook(event)| format!("got {}", event.name()))
///     .recover(recover);
/// # let _ = route;
/// ```
pub fn webhook() -> impl Filter<Extract = (Webhook,), Error = warp::Rejection> + Clone {
    webhook_with(WebhookChecks::default())
}

/// [`webhook()`] with other settings: a [`WebhookChecks`], or a [`RequestChecks`](runhook::receive::RequestChecks) (body limit,
/// authenticator, content types) with the default body timeout and budget.
pub fn webhook_with(
    checks: impl Into<WebhookChecks>,
) -> impl Filter<Extract = (Webhook,), Error = warp::Rejection> + Clone {
    let checks = Arc::new(checks.into());
    warp::method()
        .and(request_uri())
        .and(warp::header::headers_cloned())
        .and(raw_body())
        .and_then(move |method: Method, uri: Uri, headers: HeaderMap, body| {
            let checks = Arc::clone(&checks);
            async move {
                checks
                    .check(&method, &uri, &headers, body)
                    .await
                    .map(Webhook)
                    .map_err(|refusal| warp::reject::custom(WebhookRejection(refusal)))
            }
        })
}

/// The request's path and query (where a URL token lives), as the authenticator sees them.
pub(crate) fn request_uri()
-> impl Filter<Extract = (Uri,), Error = std::convert::Infallible> + Clone {
    warp::path::full()
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .map(|path: warp::path::FullPath, query: String| {
            let target = if query.is_empty() {
                path.as_str().to_owned()
            } else {
                format!("{}?{query}", path.as_str())
            };
            target
                .parse::<Uri>()
                .unwrap_or_else(|_| Uri::from_static("/"))
        })
}

/// The request body as received, as an [`http_body::Body`]: not read, not limited, not decoded.
pub(crate) fn raw_body() -> impl Filter<
    Extract = (impl Body<Data: Buf + Send, Error = warp::Error> + Send + 'static,),
    Error = warp::Rejection,
> + Clone {
    warp::body::stream().map(|stream| StreamBody::new(TryStreamExt::map_ok(stream, Frame::data)))
}

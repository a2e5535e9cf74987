//! The [`webhook()`] filter: a validated event from the raw request.

use std::ops::Deref;
use std::sync::Arc;

use bytes::Buf;
use futures::TryStreamExt;
use http_body::{Body, Frame};
use http_body_util::{BodyExt, LengthLimitError, Limited, StreamBody};
use runhook::Event;
use runhook::receive::{Rejection, RejectionKind, RequestChecks, check_method};
use warp::Filter;
use warp::http::{HeaderMap, Method, Uri};

use crate::WebhookRejection;

/// A webhook that passed every check of [`runhook::receive()`]: method, size, authenticator,
/// content type and body. Extracted by [`webhook()`].
///
/// The event is not deduplicated: a handler using it directly sees every delivery, retries
/// included. [`webhook_route`](crate::webhook_route) deduplicates.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook(pub Event);

impl Webhook {
    /// The event.
    pub fn into_inner(self) -> Event {
        self.0
    }
}

impl Deref for Webhook {
    type Target = Event;

    fn deref(&self) -> &Event {
        &self.0
    }
}

/// A filter extracting a [`Webhook`] from any request, with the default [`RequestChecks`] (8 MiB
/// body limit, no authentication). A request the core refuses is rejected with a
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
    webhook_with(RequestChecks::default())
}

/// [`webhook()`] with another configuration: body limit, authenticator, content types.
pub fn webhook_with(
    config: RequestChecks,
) -> impl Filter<Extract = (Webhook,), Error = warp::Rejection> + Clone {
    let config = Arc::new(config);
    warp::method()
        .and(request_uri())
        .and(warp::header::headers_cloned())
        .and(raw_body())
        .and_then(move |method: Method, uri: Uri, headers: HeaderMap, body| {
            let config = Arc::clone(&config);
            async move {
                accept(&method, &uri, &headers, body, &config)
                    .await
                    .map(Webhook)
                    .map_err(|rejection| warp::reject::custom(WebhookRejection::from(rejection)))
            }
        })
}

/// The method first (so nothing is read for a refused method), then the body up to the limit,
/// then [`runhook::receive()`].
async fn accept(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: impl Body<Data: Buf, Error: std::error::Error + Send + Sync + 'static>,
    config: &RequestChecks,
) -> Result<Event, Rejection> {
    check_method(method)?;
    let limit = config.limits.max_body_bytes;
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return Err(Rejection::payload_too_large(None, limit));
        }
        Err(error) => {
            return Err(Rejection::new(
                RejectionKind::MalformedJson,
                format!("the request body could not be read: {error}"),
            ));
        }
    };
    runhook::receive(method, uri, headers, &body, config).into_result()
}

/// The request body as received, as an [`http_body::Body`]: not read, not limited, not decoded.
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

pub(crate) fn raw_body() -> impl Filter<
    Extract = (impl Body<Data: Buf + Send, Error = warp::Error> + Send + 'static,),
    Error = warp::Rejection,
> + Clone {
    warp::body::stream().map(|stream| StreamBody::new(TryStreamExt::map_ok(stream, Frame::data)))
}

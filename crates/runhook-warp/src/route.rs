//! [`webhook_route`]: the whole receiving route.

use runhook_receiver::Receiver;
use warp::Filter;
use warp::http::{HeaderMap, Method, Uri};

use crate::filter::{raw_body, request_uri};

/// The webhook route: hands method, headers and the raw body of every request to
/// [`Receiver::receive_body`], which reads the body up to the receiver's limit, runs
/// [`runhook::receive()`], deduplicates and calls the handler under its deadline, and answers
/// with the status of docs/protocol.md §4.3 (200, 405, 413, 415, 400, 401, 422, 503).
///
/// It accepts every method (a `GET` gets the core's 405 with `Allow: POST`) and never rejects a
/// request, except for a body already taken by an earlier filter. Put it under a path:
///
/// ```
/// use runhook_receiver::{Receiver, Handlers};
/// use warp::Filter;
///
/// let receiver = Receiver::new(Handlers::new());
/// let routes = warp::path!("webhooks" / "tinyfish").and(runhook_warp::webhook_route(receiver));
/// # let _ = routes;
/// ```
pub fn webhook_route(
    receiver: Receiver,
) -> impl Filter<Extract = (impl warp::Reply,), Error = warp::Rejection> + Clone {
    warp::method()
        .and(request_uri())
        .and(warp::header::headers_cloned())
        .and(raw_body())
        .then(move |method: Method, uri: Uri, headers: HeaderMap, body| {
            let receiver = receiver.clone();
            async move {
                receiver
                    .receive_body(&method, &uri, &headers, body)
                    .await
                    .into_http()
            }
        })
}

//! [`webhook_route`] and its [`WebhookEndpoint`]: the whole receiving route.

use std::collections::BTreeMap;
use std::io;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use poem::{Endpoint, Request, Response};
use runhook_receiver::{PathParams, Receiver, WebhookResponse};

/// The webhook route as a poem [`Endpoint`]: hands method, headers and the raw body of every
/// request to [`Receiver::receive_body`], which reads the body up to the receiver's limit, runs
/// [`runhook::receive()`], deduplicates and calls the handler under its deadline, and answers
/// with the status of docs/protocol.md §4.3 (200, 405, 413, 415, 400, 401, 422, 503).
///
/// Made by [`webhook_route`]. It accepts every method (a `GET` gets the core's 405 with
/// `Allow: POST`) and never fails.
#[derive(Debug, Clone)]
pub struct WebhookEndpoint {
    receiver: Receiver,
}

/// The webhook route for `receiver`; mount it at a path:
///
/// ```
/// use poem::Route;
/// use runhook_receiver::{Receiver, Handlers};
///
/// let receiver = Receiver::new(Handlers::new());
/// let app = Route::new().at("/webhooks/tinyfish", runhook_poem::webhook_route(receiver));
/// # let _ = app;
/// ```
pub fn webhook_route(receiver: Receiver) -> WebhookEndpoint {
    WebhookEndpoint { receiver }
}

impl WebhookEndpoint {
    /// The receiver this endpoint hands requests to.
    pub fn receiver(&self) -> &Receiver {
        &self.receiver
    }
}

impl Endpoint for WebhookEndpoint {
    type Output = Response;

    async fn call(&self, mut request: Request) -> poem::Result<Response> {
        let body: BoxBody<Bytes, io::Error> = request.take_body().into();
        // The matched path parameters (e.g. `tenant` in `/webhooks/tinyfish/:tenant`) reach the
        // handler's context.
        let params = request
            .path_params::<BTreeMap<String, String>>()
            .map(|params| params.into_iter().collect())
            .unwrap_or_default();
        let mut forwarded = http::Request::new(body);
        *forwarded.method_mut() = request.method().clone();
        *forwarded.uri_mut() = request.uri().clone();
        *forwarded.headers_mut() = request.headers().clone();
        forwarded.extensions_mut().insert(PathParams(params));
        let answer = self.receiver.receive_request(forwarded).await;
        Ok(to_poem(answer))
    }
}

/// Copies a receiver's answer into a poem response.
pub(crate) fn to_poem(answer: WebhookResponse) -> Response {
    let (parts, body) = answer.into_http().into_parts();
    let mut response = Response::from(body);
    response.set_status(parts.status);
    *response.headers_mut() = parts.headers;
    response
}

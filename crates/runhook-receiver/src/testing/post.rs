//! Posting an event to a receiver in-process, for the tests of your own handlers.

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Request, Uri};
use http_body_util::Full;
use runhook::Event;
use serde_json::Value;

use crate::Receiver;

/// The path the helpers post to.
pub const TEST_PATH: &str = "/webhooks/tinyfish";

/// A receiver's answer to a test request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct TestResponse {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The JSON body.
    pub body: Bytes,
}

impl TestResponse {
    /// The body as JSON (`Value::Null` if it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// The body's `outcome` (`accepted`, `duplicate`, `invalid`, …), if any.
    pub fn outcome(&self) -> Option<String> {
        self.json()
            .get("outcome")
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// POSTs `event` as TinyFish would (`Content-Type: application/json`, to [`TEST_PATH`]) to
/// `receiver`, in-process, through the whole pipeline (checks, deduplication, your handler
/// under the deadline), and returns the answer.
///
/// ```
/// use runhook::{Event, HandlerOutcome, Run, RunId, RunStatus};
/// use runhook_receiver::testing::post_event;
/// use runhook_receiver::{Handlers, Receiver};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let receiver = Receiver::new(Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok }));
/// let run = Run::new(RunId::new("run-1").unwrap(), RunStatus::Completed);
/// let event = Event::from_run(run).unwrap();
/// let first = post_event(&receiver, &event).await;
/// assert_eq!((first.status, first.outcome().as_deref()), (200, Some("accepted")));
/// let again = post_event(&receiver, &event).await;
/// assert_eq!(again.outcome().as_deref(), Some("duplicate"));
/// # }
/// ```
pub async fn post_event(receiver: &Receiver, event: &Event) -> TestResponse {
    post_bytes(receiver, event.to_vec().unwrap_or_default()).await
}

/// POSTs raw `body` bytes (a drifted payload, a broken one) as JSON to `receiver`; see
/// [`post_event`].
pub async fn post_bytes(receiver: &Receiver, body: impl Into<Bytes>) -> TestResponse {
    let request = webhook_request(body);
    let (parts, body) = request.into_parts();
    let request = Request::from_parts(parts, Full::new(body));
    let response = receiver.receive_request(request).await;
    TestResponse {
        status: response.status,
        headers: response.headers,
        body: response.body,
    }
}

/// The POST request TinyFish would send with `body`, to [`TEST_PATH`], for testing a whole
/// route of your framework (e.g. axum's `Router::oneshot`, after `.map(axum::body::Body::from)`).
pub fn webhook_request(body: impl Into<Bytes>) -> Request<Bytes> {
    let mut request = Request::new(body.into());
    *request.method_mut() = Method::POST;
    *request.uri_mut() = Uri::from_static(TEST_PATH);
    request
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    request
}

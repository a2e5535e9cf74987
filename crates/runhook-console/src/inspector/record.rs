//! The layer that records deliveries: it copies the request body as the receiver reads it (up
//! to the bound), and reads the small JSON answer for its `outcome` and `reason`.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use http::{Request, Response};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Limited};
use tower::{Layer, Service};

use super::{InspectedDelivery, Inspector};

/// The longest response body read for its `outcome` and `reason` (a receiver's answer is a few
/// hundred bytes; a longer one is passed on unread).
const MAX_ANSWER: usize = 64 * 1024;

/// The longest `outcome` or `reason` kept.
const MAX_FIELD: usize = 1_024;

/// The number of the delivery a response answered, in the response's extensions (the console's
/// "send again" reads it to go to the new delivery).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordedId(pub(crate) u64);

/// A [`tower::Layer`] that records each request through the service it wraps in an
/// [`Inspector`]; made by [`Inspector::layer`].
#[derive(Debug, Clone)]
pub struct InspectLayer {
    inspector: Inspector,
}

impl InspectLayer {
    pub(super) fn new(inspector: Inspector) -> Self {
        InspectLayer { inspector }
    }
}

impl<S> Layer<S> for InspectLayer {
    type Service = InspectService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InspectService {
            inner,
            inspector: self.inspector.clone(),
        }
    }
}

/// The service of an [`InspectLayer`]: the wrapped service, recording.
#[derive(Debug, Clone)]
pub struct InspectService<S> {
    inner: S,
    inspector: Inspector,
}

/// The part of a request body the receiver read.
struct Capture {
    kept: BytesMut,
    seen: u64,
    complete: bool,
    limit: usize,
}

/// A request body that copies what is read through it into a [`Capture`].
struct TeeBody {
    inner: Body,
    capture: Arc<Mutex<Capture>>,
}

impl TeeBody {
    fn with_capture<T>(&self, f: impl FnOnce(&mut Capture) -> T) -> T {
        let mut capture = self
            .capture
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut capture)
    }
}

impl HttpBody for TeeBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.with_capture(|capture| {
                        capture.seen += data.len() as u64;
                        let room = capture.limit.saturating_sub(capture.kept.len());
                        capture
                            .kept
                            .extend_from_slice(&data[..data.len().min(room)]);
                    });
                }
            }
            Poll::Ready(None) => this.with_capture(|capture| capture.complete = true),
            Poll::Ready(Some(Err(_))) | Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let end = self.inner.is_end_stream();
        if end {
            self.with_capture(|capture| capture.complete = true);
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The `outcome` and `reason` of a receiver's JSON answer.
fn answer_fields(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) else {
        return (None, None);
    };
    let field = |name: &str| {
        map.get(name)
            .and_then(|value| value.as_str())
            .map(|text| crate::text::shorten(text, MAX_FIELD).into_owned())
    };
    (field("outcome"), field("reason"))
}

impl<S> Service<Request<Body>> for InspectService<S>
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The clone that was made ready serves this call; the fresh one waits for the next.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let inspector = self.inspector.clone();
        let id = inspector.next_id();
        let (received_at, started) = (SystemTime::now(), Instant::now());
        let (parts, body) = request.into_parts();
        let capture = Arc::new(Mutex::new(Capture {
            kept: BytesMut::new(),
            seen: 0,
            complete: false,
            limit: inspector.limits().max_body_bytes,
        }));
        let method = parts.method.clone();
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_owned(), |pq| pq.as_str().to_owned());
        let headers = parts.headers.clone();
        let tee = TeeBody {
            inner: body,
            capture: capture.clone(),
        };
        let request = Request::from_parts(parts, Body::new(tee));
        Box::pin(async move {
            let response = inner.call(request).await?;
            let latency = started.elapsed();
            let (mut parts, body) = response.into_parts();
            let small = body
                .size_hint()
                .upper()
                .is_some_and(|upper| upper <= MAX_ANSWER as u64);
            let (body, (outcome, reason)) = if small {
                match Limited::new(body, MAX_ANSWER).collect().await {
                    Ok(collected) => {
                        let bytes = collected.to_bytes();
                        let fields = answer_fields(&bytes);
                        (Body::from(bytes), fields)
                    }
                    Err(_) => (
                        Body::empty(),
                        (None, Some("the response body could not be read".to_owned())),
                    ),
                }
            } else {
                (body, (None, None))
            };
            let (kept, seen, complete) = {
                let mut capture = capture.lock().unwrap_or_else(|p| p.into_inner());
                (
                    std::mem::take(&mut capture.kept).freeze(),
                    capture.seen,
                    capture.complete,
                )
            };
            inspector.record(InspectedDelivery {
                id,
                received_at,
                method,
                path,
                headers,
                truncated: seen > kept.len() as u64,
                body: kept,
                body_len: seen,
                body_complete: complete,
                status: parts.status.as_u16(),
                outcome,
                reason,
                latency,
            });
            parts.extensions.insert(RecordedId(id));
            Ok(Response::from_parts(parts, body))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_answer_gives_its_outcome_and_reason() {
        let (outcome, reason) = answer_fields(br#"{"outcome":"accepted","reason":"processed"}"#);
        assert_eq!(outcome.as_deref(), Some("accepted"));
        assert_eq!(reason.as_deref(), Some("processed"));
        assert_eq!(answer_fields(b"not json"), (None, None));
        assert_eq!(answer_fields(br#"{"outcome":1}"#), (None, None));
    }
}

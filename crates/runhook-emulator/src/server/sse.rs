//! `POST /v1/automation/run-sse`: a `text/event-stream` of `data: {json}` frames, STARTED →
//! STREAMING_URL → PROGRESS (with HEARTBEAT frames between steps) → COMPLETE.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::watch;

use super::automation::{launch, single};
use crate::clock::until_true;
use crate::model::Origin;
use crate::model::frames::is_complete;
use crate::state::Shared;

/// Where a stream is in its run's frames.
struct Cursor {
    shared: Arc<Shared>,
    run_id: String,
    next: usize,
    changes: watch::Receiver<u64>,
    stop: watch::Receiver<bool>,
    done: bool,
}

impl Cursor {
    /// The next chunk of frames, waiting for them; `None` once COMPLETE was sent or the
    /// emulator stops.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if self.done {
            return None;
        }
        loop {
            let frames = self.shared.frames(&self.run_id, self.next);
            if !frames.is_empty() {
                let mut text = String::new();
                for frame in &frames {
                    self.next += 1;
                    text.push_str("data: ");
                    text.push_str(&frame.to_string());
                    text.push_str("\n\n");
                    if is_complete(frame) {
                        self.done = true;
                        break;
                    }
                }
                return Some(Bytes::from(text));
            }
            tokio::select! {
                changed = self.changes.changed() => changed.ok()?,
                () = until_true(&mut self.stop) => return None,
            }
        }
    }
}

/// `POST /v1/automation/run-sse`.
pub(super) async fn run_sse(State(shared): State<Arc<Shared>>, body: Body) -> Response {
    let (request, plan) = match single(&shared, body).await {
        Ok(prepared) => prepared,
        Err(error) => return error.into_response(),
    };
    let run = match launch(&shared, &request, plan, Origin::Sse) {
        Ok(run) => run,
        Err(error) => return error.into_response(),
    };
    let Some(changes) = shared.watch(run.id()) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let cursor = Cursor {
        stop: shared.stop_signal(),
        shared,
        run_id: run.id().to_owned(),
        next: 0,
        changes,
        done: false,
    };
    let stream = futures::stream::unfold(cursor, |mut cursor| async move {
        let chunk = cursor.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), cursor))
    });
    let mut response = Response::new(Body::from_stream(stream));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

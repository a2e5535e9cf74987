//! Live tables: a server-sent event stream that renders a table's rows again at each interval
//! and sends them when they changed.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

use crate::state::Shared;

/// A comment is sent after this long without a change, so that a stream whose browser went away
/// ends (and frees its place) without waiting for its lifetime.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How long the browser waits before it reconnects a stream that ended.
const RECONNECT: Duration = Duration::from_secs(2);

/// Where a stream stands between two ticks.
struct Ticks<F> {
    render: F,
    last: Option<String>,
    first: bool,
    last_sent: Instant,
    deadline: Instant,
    interval: Duration,
    _permit: OwnedSemaphorePermit,
}

/// The stream of a live table: an event `rows` holding `render`'s output (the `<tbody>`'s inner
/// HTML, rendered and escaped on the server) at once, then whenever it changes, checked every
/// interval; the stream ends after its lifetime (the browser reconnects). `render` answers
/// `None` when it cannot render now (the inbox did not answer): nothing is sent then. Beyond
/// the console's number of streams, a 503.
pub(crate) fn rows<F, Fut>(shared: &Shared, render: F) -> Response
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Option<String>> + Send + 'static,
{
    let Ok(permit) = shared.streams.permits.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [
                (CONTENT_TYPE, "text/plain; charset=utf-8"),
                (RETRY_AFTER, "30"),
            ],
            "503: too many live tables are open; the page still works, without live updates\n",
        )
            .into_response();
    };
    let now = Instant::now();
    let ticks = Ticks {
        render,
        last: None,
        first: true,
        last_sent: now,
        deadline: now + shared.streams.lifetime,
        interval: shared.streams.interval,
        _permit: permit,
    };
    let events = futures::stream::unfold(ticks, |mut ticks| async move {
        loop {
            if !ticks.first {
                tokio::time::sleep(ticks.interval).await;
            }
            if Instant::now() >= ticks.deadline {
                return None;
            }
            let first = std::mem::replace(&mut ticks.first, false);
            if let Some(rows) = (ticks.render)().await
                && ticks.last.as_deref() != Some(rows.as_str())
            {
                let mut event = Event::default().event("rows").data(&rows);
                if first {
                    event = event.retry(RECONNECT);
                }
                ticks.last = Some(rows);
                ticks.last_sent = Instant::now();
                return Some((Ok::<_, Infallible>(event), ticks));
            }
            if ticks.last_sent.elapsed() >= KEEP_ALIVE {
                ticks.last_sent = Instant::now();
                return Some((Ok(Event::default().comment("keep-alive")), ticks));
            }
        }
    });
    Sse::new(events).into_response()
}

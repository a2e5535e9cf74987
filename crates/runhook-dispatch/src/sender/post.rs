//! One POST: send, read the answer within the deadline (up to the body cap), and say what came
//! of it. A received status line decides the result; a body failure after it is only reported.
//! A panic inside the attempt is a failed attempt too.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures::FutureExt;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use runhook::delivery::{AttemptResult, NetworkErrorKind, parse_retry_after};
use tokio::time::Instant;

use super::{DEFAULT_TIMEOUT, Sender, Target};
use crate::classify::SendError;
use crate::error::AddressRefused;

/// A POST being prepared; [`send`](Self::send) it. Made by [`Sender::post`].
#[derive(Debug)]
#[must_use = "a post does nothing until `send` is awaited"]
pub struct Post<'a> {
    sender: &'a Sender,
    target: &'a Target,
    body: Bytes,
    headers: HeaderMap,
    deadline: Option<Instant>,
    timeout: Duration,
}

/// What one POST came to.
///
/// `status` is set once a response head arrived; then the status decides, and `error` (if set)
/// says how the body then failed. Without a status, `error` says why there was no answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Exchange {
    /// The response status, if a response head arrived.
    pub status: Option<u16>,
    /// The `Retry-After` header, if the response carried one that parses.
    pub retry_after: Option<Duration>,
    /// The start of the response body: at most the sender's body limit.
    pub body: Bytes,
    /// Whether the body was longer than the limit (the rest was not read).
    pub body_truncated: bool,
    /// What went wrong, if anything (see the type's documentation).
    pub error: Option<SendError>,
    /// From the start of the attempt to its end.
    pub latency: Duration,
}

impl Exchange {
    /// What the retry policy is fed, or the refusal that ends a delivery without consulting
    /// it.
    pub fn result(&self) -> Result<AttemptResult, AddressRefused> {
        match (self.status, &self.error) {
            (Some(status), _) => Ok(AttemptResult::Response {
                status,
                retry_after: self.retry_after,
            }),
            (None, Some(error)) => error.result(),
            // Not produced by `send`; kept total.
            (None, None) => Ok(AttemptResult::Network(NetworkErrorKind::Other)),
        }
    }

    /// The first `limit` bytes of the body as text (lossy UTF-8, cut at a character boundary),
    /// and whether anything was left out.
    pub fn excerpt(&self, limit: usize) -> (String, bool) {
        excerpt(&self.body, self.body_truncated, limit)
    }
}

impl<'a> Post<'a> {
    pub(super) fn new(sender: &'a Sender, target: &'a Target, body: Bytes) -> Self {
        Post {
            sender,
            target,
            body,
            headers: HeaderMap::new(),
            deadline: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Adds a request header (`Content-Type: application/json` and the `User-Agent` are always
    /// sent).
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.append(name, value);
        self
    }

    /// The attempt ends at `deadline` (tokio's clock) at the latest, wherever it is: connect,
    /// TLS, request, response head or body. Wins over [`timeout`](Self::timeout).
    pub fn deadline(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The attempt may take `timeout` from when it is sent (default
    /// [`DEFAULT_TIMEOUT`](super::DEFAULT_TIMEOUT)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sends the POST once and reads the answer (up to the body limit) within the deadline.
    /// Never fails: what went wrong is in the [`Exchange`].
    pub async fn send(self) -> Exchange {
        let started = Instant::now();
        match AssertUnwindSafe(self.exchange(started))
            .catch_unwind()
            .await
        {
            Ok(exchange) => exchange,
            Err(panic) => Exchange {
                status: None,
                retry_after: None,
                body: Bytes::new(),
                body_truncated: false,
                error: Some(SendError::Panicked {
                    message: panic_message(&*panic).to_owned(),
                }),
                latency: started.elapsed(),
            },
        }
    }

    /// Before the status line, a timeout or failure is the attempt's result. Once the status line
    /// is in, the result is the response: a body that then times out, breaks off or cannot be
    /// decoded is reported in `error` next to the status.
    async fn exchange(self, started: Instant) -> Exchange {
        let deadline = self.deadline.unwrap_or(started + self.timeout);
        let mut answer = Answer::default();
        let limit = self.sender.body_limit();
        let request = self
            .sender
            .client(self.target)
            .post(self.target.url().clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .headers(self.headers)
            .body(self.body);
        let timed = tokio::time::timeout_at(deadline, read(request, limit, &mut answer)).await;
        let error = match (answer.status, timed) {
            (_, Ok(Ok(()))) => None,
            (Some(_), Err(_elapsed)) => Some(SendError::BodyTimeout),
            (Some(_), Ok(Err(err))) => Some(SendError::Body {
                message: crate::classify::describe(&err),
            }),
            (None, Err(_elapsed)) => Some(SendError::Timeout),
            (None, Ok(Err(err))) => Some(SendError::classify(&err)),
        };
        Exchange {
            status: answer.status,
            retry_after: answer.retry_after,
            body: answer.body.freeze(),
            body_truncated: answer.truncated,
            error,
            latency: started.elapsed(),
        }
    }
}

/// The response as far as it was read.
#[derive(Default)]
struct Answer {
    status: Option<u16>,
    retry_after: Option<Duration>,
    body: BytesMut,
    truncated: bool,
}

async fn read(
    request: reqwest::RequestBuilder,
    limit: usize,
    answer: &mut Answer,
) -> Result<(), reqwest::Error> {
    let mut response = request.send().await?;
    answer.status = Some(response.status().as_u16());
    answer.retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()));
    while let Some(chunk) = response.chunk().await? {
        let room = limit.saturating_sub(answer.body.len());
        if chunk.len() > room {
            answer.body.extend_from_slice(&chunk[..room]);
            answer.truncated = true;
            break;
        }
        answer.body.extend_from_slice(&chunk);
    }
    Ok(())
}

/// The message a panic was raised with, if it is text.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    match panic.downcast_ref::<&'static str>() {
        Some(message) => message,
        None => panic
            .downcast_ref::<String>()
            .map_or("(no message)", String::as_str),
    }
}

/// The first `limit` bytes of `body` as text (cut at a character boundary), and whether
/// anything was left out.
fn excerpt(body: &[u8], already_truncated: bool, limit: usize) -> (String, bool) {
    let text = String::from_utf8_lossy(&body[..body.len().min(limit)]);
    let mut text = text.into_owned();
    let mut truncated = already_truncated || body.len() > limit;
    if body.len() > limit {
        // A cut in the middle of a UTF-8 sequence shows up as a trailing replacement character.
        while text.ends_with('\u{FFFD}') {
            text.pop();
        }
        truncated = true;
    }
    (text, truncated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_cut_at_the_limit_and_at_character_boundaries() {
        assert_eq!(excerpt(b"ok", false, 10), ("ok".to_owned(), false));
        assert_eq!(excerpt(b"abcdef", false, 3), ("abc".to_owned(), true));
        assert_eq!(excerpt(b"ok", true, 10), ("ok".to_owned(), true));
        let text = "é".repeat(4);
        let (cut, truncated) = excerpt(text.as_bytes(), false, 3);
        assert_eq!(cut, "é");
        assert!(truncated);
    }

    #[test]
    fn panic_messages_are_read_from_text_payloads() {
        let text: Box<dyn Any + Send> = Box::new("broke");
        assert_eq!(panic_message(&*text), "broke");
        let formatted: Box<dyn Any + Send> = Box::new(format!("broke at {}", 3));
        assert_eq!(panic_message(&*formatted), "broke at 3");
        let other: Box<dyn Any + Send> = Box::new(7_u8);
        assert_eq!(panic_message(&*other), "(no message)");
    }

    #[test]
    fn an_exchange_with_a_status_is_decided_by_it() {
        let exchange = Exchange {
            status: Some(400),
            retry_after: None,
            body: Bytes::new(),
            body_truncated: false,
            error: Some(SendError::BodyTimeout),
            latency: Duration::ZERO,
        };
        assert_eq!(exchange.result(), Ok(AttemptResult::status(400)));
    }
}

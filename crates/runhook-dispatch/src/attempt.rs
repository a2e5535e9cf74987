//! One HTTP attempt: POST the event, read the response within the deadline, classify the result.
//! A received status line decides the result; a body failure after it is only reported. A panic
//! inside the attempt is a failed attempt too, reported back the same way.

use std::any::Any;
use std::error::Error as StdError;
use std::panic::AssertUnwindSafe;
use std::time::SystemTime;

use bytes::Bytes;
use futures::FutureExt;
use reqwest::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use runhook::delivery::{AttemptResult, NetworkErrorKind, parse_retry_after};
use tokio::time::Instant;

use crate::error::AddressRefused;
use crate::report::DeliveryId;

/// Everything an attempt task needs; moved into the task.
pub(crate) struct AttemptSpec {
    pub(crate) id: DeliveryId,
    pub(crate) attempt: u32,
    pub(crate) client: reqwest::Client,
    pub(crate) url: reqwest::Url,
    pub(crate) body: Bytes,
    pub(crate) deadline: Instant,
    pub(crate) body_limit: usize,
    pub(crate) excerpt_limit: usize,
}

/// What an attempt task hands back to the driver.
#[derive(Debug)]
pub(crate) struct AttemptDone {
    pub(crate) id: DeliveryId,
    pub(crate) attempt: u32,
    /// The result for the retry policy, or the refusal that ends the delivery.
    pub(crate) result: Result<AttemptResult, AddressRefused>,
    pub(crate) status: Option<u16>,
    pub(crate) error: Option<String>,
    pub(crate) latency: std::time::Duration,
    pub(crate) body_excerpt: String,
    pub(crate) body_truncated: bool,
}

/// The response as far as it was read.
#[derive(Default)]
struct Exchange {
    status: Option<u16>,
    retry_after: Option<std::time::Duration>,
    body: Vec<u8>,
    truncated: bool,
}

/// Runs one attempt and always reports back. A panic anywhere inside it (the HTTP client, a
/// caller's [`HostLookup`](crate::HostLookup)) is caught here and becomes a network failure of
/// unknown kind (`NetworkErrorKind::Other`), with the panic's message in `error`; the retry
/// policy treats it like any other failure.
pub(crate) async fn perform(spec: AttemptSpec) -> AttemptDone {
    let (id, attempt) = (spec.id, spec.attempt);
    let started = Instant::now();
    match AssertUnwindSafe(post(spec)).catch_unwind().await {
        Ok(done) => done,
        Err(panic) => AttemptDone {
            id,
            attempt,
            result: Ok(AttemptResult::Network(NetworkErrorKind::Other)),
            status: None,
            error: Some(format!("the attempt panicked: {}", panic_message(&*panic))),
            latency: started.elapsed(),
            body_excerpt: String::new(),
            body_truncated: false,
        },
    }
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

/// Posts the event. The deadline covers everything: connect, TLS, request, response head and
/// the body (read up to `body_limit` bytes; the rest is not read and the connection is dropped).
///
/// Before the status line, a timeout or failure is the attempt's result (retried). Once the
/// status line is in, the result is the response: a body that then times out, breaks off or
/// cannot be decoded is reported in `error` next to the status, and the status alone decides.
async fn post(spec: AttemptSpec) -> AttemptDone {
    let started = Instant::now();
    let mut exchange = Exchange::default();
    let timed = tokio::time::timeout_at(
        spec.deadline,
        run(
            &spec.client,
            spec.url.clone(),
            spec.body.clone(),
            spec.body_limit,
            &mut exchange,
        ),
    )
    .await;
    let latency = started.elapsed();
    let (result, error) = match exchange.status {
        // Once the status line is in, the status decides (a 4xx stays final, a 2xx is
        // delivered); a body that stalls, breaks off or cannot be read only goes into the log.
        Some(status) => (
            Ok(AttemptResult::Response {
                status,
                retry_after: exchange.retry_after,
            }),
            match timed {
                Ok(Ok(())) => None,
                Err(_elapsed) => Some("timed out while reading the response body".to_owned()),
                Ok(Err(err)) => Some(format!(
                    "reading the response body failed: {}",
                    describe(&err)
                )),
            },
        ),
        None => match timed {
            Err(_elapsed) => (
                Ok(AttemptResult::Timeout),
                Some("timed out before the response head arrived".to_owned()),
            ),
            Ok(Err(err)) => match classify(&err) {
                Classified::Refused(refused) => {
                    let message = refused.to_string();
                    (Err(refused), Some(message))
                }
                Classified::Result(result) => (Ok(result), Some(describe(&err))),
            },
            // `run` records the status before it can succeed; kept total rather than panic.
            Ok(Ok(())) => (
                Ok(AttemptResult::Network(NetworkErrorKind::Other)),
                Some("the exchange ended without a response head".to_owned()),
            ),
        },
    };
    let (body_excerpt, body_truncated) =
        excerpt(&exchange.body, exchange.truncated, spec.excerpt_limit);
    AttemptDone {
        id: spec.id,
        attempt: spec.attempt,
        result,
        status: exchange.status,
        error,
        latency,
        body_excerpt,
        body_truncated,
    }
}

async fn run(
    client: &reqwest::Client,
    url: reqwest::Url,
    body: Bytes,
    body_limit: usize,
    exchange: &mut Exchange,
) -> Result<(), reqwest::Error> {
    let mut response = client
        .post(url)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body)
        .send()
        .await?;
    exchange.status = Some(response.status().as_u16());
    exchange.retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()));
    while let Some(chunk) = response.chunk().await? {
        let room = body_limit.saturating_sub(exchange.body.len());
        if chunk.len() > room {
            exchange.body.extend_from_slice(&chunk[..room]);
            exchange.truncated = true;
            break;
        }
        exchange.body.extend_from_slice(&chunk);
    }
    Ok(())
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

/// What a failed exchange means.
enum Classified {
    /// The resolver refused every address: a configuration error, not retried.
    Refused(AddressRefused),
    /// A failure for the retry policy.
    Result(AttemptResult),
}

/// Classifies a reqwest error by walking its source chain.
fn classify(err: &reqwest::Error) -> Classified {
    let mut kind = None;
    for cause in chain(err) {
        if let Some(refused) = cause.downcast_ref::<AddressRefused>() {
            return Classified::Refused(refused.clone());
        }
        if kind.is_none() {
            kind = kind_of(cause);
        }
    }
    let kind = match kind {
        Some(kind) => kind,
        None if err.is_timeout() => return Classified::Result(AttemptResult::Timeout),
        None if err.is_connect() => NetworkErrorKind::Connect,
        None if err.is_body() || err.is_decode() => NetworkErrorKind::Body,
        None => NetworkErrorKind::Other,
    };
    Classified::Result(AttemptResult::Network(kind))
}

/// The kind one link of the chain reveals, if any.
fn kind_of(cause: &(dyn StdError + 'static)) -> Option<NetworkErrorKind> {
    if cause.downcast_ref::<rustls::Error>().is_some() {
        return Some(NetworkErrorKind::Tls);
    }
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        if io
            .get_ref()
            .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some())
        {
            return Some(NetworkErrorKind::Tls);
        }
        use std::io::ErrorKind as K;
        return match io.kind() {
            K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
                Some(NetworkErrorKind::Reset)
            }
            K::ConnectionRefused
            | K::AddrNotAvailable
            | K::HostUnreachable
            | K::NetworkUnreachable => Some(NetworkErrorKind::Connect),
            _ => None,
        };
    }
    if let Some(hyper) = cause.downcast_ref::<hyper::Error>()
        && (hyper.is_incomplete_message() || hyper.is_closed() || hyper.is_canceled())
    {
        return Some(NetworkErrorKind::Reset);
    }
    None
}

/// The error and its sources, outermost first. `io::Error` hides its payload from `source()`,
/// so the payload is visited explicitly.
fn chain<'a>(err: &'a (dyn StdError + 'static)) -> Vec<&'a (dyn StdError + 'static)> {
    let mut out = Vec::new();
    let mut next = Some(err);
    while let Some(cause) = next {
        out.push(cause);
        next = match cause
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => cause.source(),
        };
        if out.len() > 32 {
            break;
        }
    }
    out
}

/// A one-line description: the kind, then the error's sources without repeats. reqwest's own
/// "error sending request for url (...)" and hyper-util's "client error (...)" wrappers add
/// nothing the report does not already say, so they are left out.
fn describe(err: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for (depth, cause) in chain(err).into_iter().enumerate() {
        let text = cause.to_string();
        let wrapper =
            (depth == 0 && cause.source().is_some()) || text.starts_with("client error (");
        if !wrapper && !parts.iter().any(|seen| seen.contains(&text)) {
            parts.push(text);
        }
    }
    if parts.is_empty() {
        parts.push(err.to_string());
    }
    parts.join(": ")
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
    fn io_payloads_are_visited() {
        let io = std::io::Error::other(AddressRefused::new(None, vec![]));
        let found = chain(&io)
            .into_iter()
            .any(|cause| cause.downcast_ref::<AddressRefused>().is_some());
        assert!(found);
        assert_eq!(
            kind_of(&std::io::Error::from(std::io::ErrorKind::ConnectionReset)),
            Some(NetworkErrorKind::Reset)
        );
    }
}

//! [`read_body`](crate::read_body): a request body read within the size limit, the body
//! timeout and the body budget. The receiver reads every body with it, and so do the adapters'
//! `Webhook` extractors.

use std::pin::pin;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::Body;
use http_body_util::BodyExt;
use tokio::time::{Instant, timeout_at};

use crate::{BodyBudget, BodyCharge};

/// How much of an oversized body is read and thrown away before the 413 is sent: up to this many
/// bytes past the limit...
pub(crate) const DRAIN_BYTES: u64 = 16 * 1024 * 1024;
/// ...and for at most this long. Reading the rest lets a client that writes its whole body
/// before reading the answer (Python's `http.client`, curl without `Expect`) see the 413 instead
/// of a connection reset, which it would retry; the bounds keep a hostile client from holding
/// the connection (nginx's lingering close does the same).
pub(crate) const DRAIN_TIME: Duration = Duration::from_secs(5);

/// A body read as far as the limits allow: what [`read_body`](crate::read_body) gives.
#[derive(Debug)]
#[non_exhaustive]
pub enum Collected {
    /// The whole body, within the limit, with its charge to the budget: keep the charge while
    /// the bytes are held (dropping it gives them back to the budget).
    Complete(Bytes, BodyCharge),
    /// Over the limit: its length if known (declared, or read to the end).
    TooLarge(Option<u64>),
    /// The body could not be read (the client went away, a framing error).
    Failed(String),
    /// The body did not arrive within the body timeout.
    TimedOut,
    /// Buffering the next chunk would exceed the process's body budget.
    OverBudget,
}

/// The limits a body is read within.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct BodyLimits<'a> {
    /// The largest body accepted, in bytes.
    pub max_bytes: usize,
    /// How long the whole body may take, from the call.
    pub timeout: Duration,
    /// The budget its bytes are charged to.
    pub budget: &'a BodyBudget,
}

impl<'a> BodyLimits<'a> {
    /// Limits of `max_bytes` bytes and `timeout`, charged to `budget`.
    pub fn new(max_bytes: usize, timeout: Duration, budget: &'a BodyBudget) -> Self {
        BodyLimits {
            max_bytes,
            timeout,
            budget,
        }
    }
}

/// Reads `body` within `limits` (exported as [`read_body`](crate::read_body)). A body over the
/// size limit is read on and thrown away, for up to 16 MiB past the limit and 5 s, so that a
/// client that writes its whole body before reading the answer sees the 413 rather than a
/// reset; one declared (by `Content-Length`) larger than that is not read at all. Each chunk is
/// charged to the budget as it is buffered; a chunk that does not fit stops the read
/// ([`Collected::OverBudget`]) and gives back what was charged.
pub async fn collect<B>(headers: &HeaderMap, body: B, limits: BodyLimits<'_>) -> Collected
where
    B: Body,
    B::Error: std::fmt::Display,
{
    let started = Instant::now();
    let limit = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX);
    let drain_limit = limit.saturating_add(DRAIN_BYTES);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if let Some(declared) = declared
        && declared > drain_limit
    {
        return Collected::TooLarge(Some(declared));
    }
    let body = pin!(body);
    let mut reading = Reading {
        buffer: BytesMut::new(),
        charge: limits.budget.empty_charge(),
        total: 0,
        limit,
        declared,
    };
    let deadline = started + limits.timeout;
    match timeout_at(deadline, reading.read(body, started, drain_limit)).await {
        Ok(Some(refused)) => refused,
        Ok(None) if reading.total > limit => Collected::TooLarge(Some(reading.total)),
        Ok(None) => Collected::Complete(reading.buffer.freeze(), reading.charge),
        Err(_elapsed) if reading.total > limit => Collected::TooLarge(None),
        Err(_elapsed) => Collected::TimedOut,
    }
}

/// A body being read.
struct Reading {
    buffer: BytesMut,
    charge: BodyCharge,
    total: u64,
    limit: u64,
    declared: Option<u64>,
}

impl Reading {
    /// Reads to the end; `Some` when reading stops early with that answer.
    async fn read<B>(
        &mut self,
        mut body: std::pin::Pin<&mut B>,
        started: Instant,
        drain_limit: u64,
    ) -> Option<Collected>
    where
        B: Body,
        B::Error: std::fmt::Display,
    {
        while let Some(frame) = body.frame().await {
            let frame = match frame {
                Ok(frame) => frame,
                Err(error) => return Some(Collected::Failed(error.to_string())),
            };
            let Ok(mut data) = frame.into_data() else {
                continue; // trailers
            };
            let len = data.remaining();
            self.total = self
                .total
                .saturating_add(u64::try_from(len).unwrap_or(u64::MAX));
            if self.total > self.limit {
                // Over the limit: throw the bytes away, within the drain bounds.
                data.advance(len);
                if self.total > drain_limit || started.elapsed() > DRAIN_TIME {
                    return Some(Collected::TooLarge(None));
                }
                continue;
            }
            let completes = body.is_end_stream() || self.declared == Some(self.total);
            if !self.make_room(len, completes) {
                return Some(Collected::OverBudget);
            }
            self.buffer.put(&mut data);
        }
        None
    }

    /// Grows the buffer to take `len` more bytes, charging the budget for the memory it
    /// allocates (its capacity, not only the bytes in it): to the declared length at once when
    /// there is one, by doubling otherwise; `false` if the budget cannot take it.
    fn make_room(&mut self, len: usize, completes: bool) -> bool {
        let needed = self.buffer.len().saturating_add(len);
        let capacity = self.buffer.capacity();
        if needed <= capacity {
            return true;
        }
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let declared = self
            .declared
            .and_then(|declared| usize::try_from(declared).ok());
        let target = declared
            .unwrap_or_else(|| capacity.saturating_mul(2))
            .min(limit)
            .max(needed);
        if !self.charge.add(target - capacity, completes) {
            return false;
        }
        // A new buffer of exactly `target` bytes (`reserve` could round up past the charge).
        let mut grown = BytesMut::with_capacity(target);
        grown.extend_from_slice(&self.buffer);
        self.buffer = grown;
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::convert::Infallible;

    use futures::{StreamExt, stream};
    use http_body::Frame;
    use http_body_util::StreamBody;

    use super::*;

    fn limits(budget: &BodyBudget, max_bytes: usize) -> BodyLimits<'_> {
        BodyLimits {
            max_bytes,
            timeout: Duration::from_secs(10),
            budget,
        }
    }

    fn chunks(parts: &[&'static [u8]]) -> impl Body<Data = Bytes, Error = Infallible> + use<> {
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = parts
            .iter()
            .map(|part| Ok(Frame::data(Bytes::from_static(part))))
            .collect();
        StreamBody::new(stream::iter(frames))
    }

    #[tokio::test]
    async fn a_body_is_charged_until_its_charge_is_dropped() {
        let budget = BodyBudget::new(100);
        let collected = collect(
            &HeaderMap::new(),
            chunks(&[b"ab", b"cd"]),
            limits(&budget, 10),
        )
        .await;
        let Collected::Complete(bytes, charge) = collected else {
            panic!("expected a complete body");
        };
        assert_eq!(&bytes[..], b"abcd");
        assert_eq!(budget.used(), 4);
        drop(charge);
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn a_body_over_the_budget_is_refused_and_gives_its_bytes_back() {
        let budget = BodyBudget::new(5);
        let collected = collect(
            &HeaderMap::new(),
            chunks(&[b"abc", b"def", b"g"]),
            limits(&budget, 100),
        )
        .await;
        assert!(matches!(collected, Collected::OverBudget));
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn an_oversized_body_is_drained_not_buffered() {
        let budget = BodyBudget::new(100);
        let collected = collect(
            &HeaderMap::new(),
            chunks(&[b"abcd", b"efgh", b"ijkl"]),
            limits(&budget, 6),
        )
        .await;
        assert!(matches!(collected, Collected::TooLarge(Some(12))));
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_stalled_body_times_out() {
        let budget = BodyBudget::new(100);
        let stalled = StreamBody::new(
            stream::iter([Ok::<_, Infallible>(Frame::data(Bytes::from_static(b"{")))])
                .chain(stream::pending()),
        );
        let started = Instant::now();
        let collected = collect(
            &HeaderMap::new(),
            stalled,
            BodyLimits {
                max_bytes: 10,
                timeout: Duration::from_secs(10),
                budget: &budget,
            },
        )
        .await;
        assert!(matches!(collected, Collected::TimedOut));
        assert_eq!(started.elapsed(), Duration::from_secs(10));
        assert_eq!(budget.used(), 0);
    }
}

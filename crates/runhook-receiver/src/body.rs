//! Reading a request body with a size limit.

use std::pin::pin;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http::header::CONTENT_LENGTH;
use http_body::Body;
use http_body_util::BodyExt;

/// A body read as far as the limit allows.
pub(crate) enum Collected {
    /// The whole body, within the limit.
    Complete(Bytes),
    /// Over the limit: its length if it was read to the end, `None` if reading stopped.
    TooLarge(Option<u64>),
    /// The body could not be read (the client went away, a framing error).
    Failed(String),
}

/// Reads `body` up to `limit` bytes. A larger body is read on, up to twice the limit, and
/// discarded: answering before the request is read makes the server reset the connection, and
/// the sender may never see the 413. A body declared (by `Content-Length`) or found larger than
/// that is not read further.
pub(crate) async fn collect<B>(headers: &HeaderMap, body: B, limit: usize) -> Collected
where
    B: Body,
    B::Error: std::fmt::Display,
{
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let drain_limit = limit.saturating_mul(2);
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if let Some(declared) = declared
        && declared > drain_limit
    {
        return Collected::TooLarge(Some(declared));
    }
    let mut body = pin!(body);
    let mut buffer = BytesMut::new();
    let mut total: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(error) => return Collected::Failed(error.to_string()),
        };
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers
        };
        total = total.saturating_add(u64::try_from(data.remaining()).unwrap_or(u64::MAX));
        if total > drain_limit {
            return Collected::TooLarge(None);
        }
        if total <= limit {
            buffer.put(&mut data);
        } else {
            data.advance(data.remaining());
        }
    }
    if total > limit {
        Collected::TooLarge(Some(total))
    } else {
        Collected::Complete(buffer.freeze())
    }
}

//! `sse`: the runs client's `/run-sse` stream, from bytes to typed frames.

use std::convert::Infallible;

use futures::executor::block_on;
use futures::stream::{self, StreamExt};
use runhook_tinyfish::{Error, RunEventStream, StreamEvent};

/// The byte that splits the input into chunks (it is not valid in UTF-8, so never part of a
/// frame a server sends): `data: {"type"` `0xFF` `:"STARTED"}` arrives as two chunks.
const CHUNK_BREAK: u8 = 0xFF;

/// The most chunks an input is split into (the SSE parser reads its buffer again for each
/// chunk, so many small chunks of a large frame cost quadratic time).
const MAX_CHUNKS: usize = 64;

/// The longest input also read one byte at a time.
const MAX_BYTEWISE: usize = 1024;

/// Reads `data` as an SSE body through [`RunEventStream`]: in the chunks `0xFF` separates (at
/// most 64), in one chunk, and (up to 1 KiB) one byte at a time.
/// Checks: the frames (and errors) are the same whatever the chunks, and nothing follows a
/// network error.
pub fn sse(data: &[u8]) {
    let chunks: Vec<Vec<u8>> = data
        .splitn(MAX_CHUNKS, |&b| b == CHUNK_BREAK)
        .map(<[u8]>::to_vec)
        .collect();
    let whole = chunks.concat();
    let as_chunked = frames(chunks);
    if whole.len() <= MAX_BYTEWISE {
        let bytes: Vec<Vec<u8>> = whole.iter().map(|&b| vec![b]).collect();
        assert_eq!(
            as_chunked,
            frames(bytes),
            "one byte at a time changed the frames"
        );
    }
    assert_eq!(as_chunked, frames(vec![whole]), "chunks changed the frames");
}

/// The frames of a body arriving in `chunks`, an error as its message.
fn frames(chunks: Vec<Vec<u8>>) -> Vec<Result<StreamEvent, String>> {
    let body = stream::iter(chunks.into_iter().map(Ok::<_, Infallible>));
    let stream = RunEventStream::from_chunks(body, "/v1/automation/run-sse".to_owned());
    let items: Vec<Result<StreamEvent, Error>> = block_on(stream.collect());
    if let Some(at) = items
        .iter()
        .position(|item| matches!(item, Err(Error::Network { .. })))
    {
        assert_eq!(at + 1, items.len(), "a frame after a network error");
    }
    items
        .into_iter()
        .map(|item| item.map_err(|error| error.to_string()))
        .collect()
}

//! The frames of `POST /v1/automation/run-sse`, typed, and the stream that yields them.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use eventsource_stream::Eventsource;
use futures::stream::{BoxStream, Stream, StreamExt};
use runhook::api::FrameType;
use runhook::{Nullable, Run, RunError, RunId, RunStatus, Timestamp};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::Error;

/// One frame of a run's event stream: `STARTED`, `STREAMING_URL`, `PROGRESS`* (with
/// `HEARTBEAT`s between), then `COMPLETE`. A frame type this version does not know is kept as
/// [`StreamEvent::Unknown`], never an error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StreamEvent {
    /// `STARTED`: the run has begun.
    Started(Started),
    /// `STREAMING_URL`: where to watch the browser live.
    StreamingUrl(StreamingUrl),
    /// `PROGRESS`: one step of the agent.
    Progress(Progress),
    /// `HEARTBEAT`: the connection is alive.
    Heartbeat(Heartbeat),
    /// `COMPLETE`: the run has reached a terminal state; the last frame.
    Complete(Complete),
    /// A frame type this version does not know, kept verbatim.
    Unknown(UnknownFrame),
}

impl StreamEvent {
    /// The frame's `type`, e.g. `PROGRESS`.
    pub fn kind(&self) -> &str {
        match self {
            StreamEvent::Started(_) => FrameType::Started.as_str(),
            StreamEvent::StreamingUrl(_) => FrameType::StreamingUrl.as_str(),
            StreamEvent::Progress(_) => FrameType::Progress.as_str(),
            StreamEvent::Heartbeat(_) => FrameType::Heartbeat.as_str(),
            StreamEvent::Complete(_) => FrameType::Complete.as_str(),
            StreamEvent::Unknown(frame) => &frame.kind,
        }
    }

    /// Reads the JSON of one `data:` frame.
    pub fn from_json(data: &str) -> Result<Self, serde_json::Error> {
        let value: Value = serde_json::from_str(data)?;
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("");
        Ok(match FrameType::from_wire(kind) {
            FrameType::Started => StreamEvent::Started(Started::deserialize(&value)?),
            FrameType::StreamingUrl => {
                StreamEvent::StreamingUrl(StreamingUrl::deserialize(&value)?)
            }
            FrameType::Progress => StreamEvent::Progress(Progress::deserialize(&value)?),
            FrameType::Heartbeat => StreamEvent::Heartbeat(Heartbeat::deserialize(&value)?),
            FrameType::Complete => StreamEvent::Complete(Complete::deserialize(&value)?),
            _ => StreamEvent::Unknown(UnknownFrame {
                kind: kind.to_owned(),
                raw: value,
            }),
        })
    }
}

/// `STARTED {run_id, timestamp}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Started {
    /// The run.
    pub run_id: RunId,
    /// When it started.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Fields this version does not know (and `type`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `STREAMING_URL {run_id, streaming_url, timestamp}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct StreamingUrl {
    /// The run.
    pub run_id: RunId,
    /// The live view of the browser.
    #[serde(alias = "streamingUrl")]
    pub streaming_url: String,
    /// When it was sent.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Fields this version does not know (and `type`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `PROGRESS {run_id, purpose, timestamp}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Progress {
    /// The run.
    pub run_id: RunId,
    /// What the agent is doing, for people (e.g. "Clicking submit button").
    pub purpose: String,
    /// When it was sent.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Fields this version does not know (and `type`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `HEARTBEAT {timestamp}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Heartbeat {
    /// When it was sent.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Fields this version does not know (and `type`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `COMPLETE {run_id, status, result, error, timestamp}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Complete {
    /// The run.
    pub run_id: RunId,
    /// Its terminal status.
    pub status: RunStatus,
    /// The extracted data, or `null`.
    #[serde(default)]
    pub result: Nullable<Map<String, Value>>,
    /// Why it failed, or `null`.
    #[serde(default)]
    pub error: Nullable<RunError>,
    /// When it finished.
    #[serde(default)]
    pub timestamp: Option<Timestamp>,
    /// Fields this version does not know (and `type`), kept verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Complete {
    /// The run as this frame describes it: id, status, result and error (fetch it with
    /// [`Client::get_run`](crate::Client::get_run) for the rest).
    pub fn to_run(&self) -> Run {
        let mut run = Run::new(self.run_id.clone(), self.status.clone());
        run.result = self.result.clone();
        run.error = self.error.clone();
        run
    }
}

/// A frame whose `type` this version does not know.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct UnknownFrame {
    /// Its `type` (empty if it had none).
    pub kind: String,
    /// The whole frame.
    pub raw: Value,
}

/// The frames of one run, as they arrive; see [`Client::stream_run`](crate::Client::stream_run).
///
/// A frame that is not JSON, or a known frame with a field of the wrong type, is yielded as an
/// [`Error::Decode`] and the stream goes on; a broken connection is yielded as an
/// [`Error::Network`] and ends it. The stream ends when the API closes it (after `COMPLETE`).
pub struct RunEventStream {
    inner: BoxStream<'static, Result<StreamEvent, Error>>,
}

impl RunEventStream {
    pub(crate) fn new(response: reqwest::Response, path: String) -> Self {
        Self::from_chunks(response.bytes_stream(), path)
    }

    /// The frames of an SSE body that arrives in `chunks` (a chunk may end anywhere, even inside
    /// a UTF-8 character); `path` names the request in errors. Not part of the API
    /// ([`Client::stream_run`](crate::Client::stream_run) builds the stream): the entry of the
    /// fuzz target `sse` (docs/fuzzing.md).
    #[doc(hidden)]
    pub fn from_chunks<S, B, E>(chunks: S, path: String) -> Self
    where
        S: Stream<Item = Result<B, E>> + Send + 'static,
        B: AsRef<[u8]>,
        E: fmt::Display,
    {
        let mut failed = false;
        let inner = chunks
            .eventsource()
            .filter_map(move |frame| {
                let item = match frame {
                    _ if failed => None,
                    Ok(frame) if frame.data.trim().is_empty() => None,
                    Ok(frame) => {
                        Some(
                            StreamEvent::from_json(&frame.data).map_err(|err| Error::Decode {
                                path: path.clone(),
                                message: format!("a frame ({}): {err}", excerpt(&frame.data)),
                            }),
                        )
                    }
                    Err(err) => {
                        failed = true;
                        Some(Err(Error::Network {
                            method: "POST",
                            path: path.clone(),
                            kind: runhook::delivery::NetworkErrorKind::Body,
                            message: err.to_string(),
                        }))
                    }
                };
                std::future::ready(item)
            })
            .boxed();
        RunEventStream { inner }
    }
}

impl Stream for RunEventStream {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for RunEventStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunEventStream").finish_non_exhaustive()
    }
}

fn excerpt(data: &str) -> String {
    data.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_documented_frame_is_typed_and_an_unknown_one_is_kept() {
        let frames = [
            r#"{"type":"STARTED","run_id":"r1","timestamp":"2025-01-01T00:00:00Z"}"#,
            r#"{"type":"STREAMING_URL","run_id":"r1","streaming_url":"https://s/x"}"#,
            r#"{"type":"PROGRESS","run_id":"r1","purpose":"Clicking submit button"}"#,
            r#"{"type":"HEARTBEAT","timestamp":"2025-01-01T00:00:01Z"}"#,
            r#"{"type":"COMPLETE","run_id":"r1","status":"COMPLETED","result":{"a":1},"error":null}"#,
            r#"{"type":"PAUSED","run_id":"r1"}"#,
        ];
        let kinds: Vec<String> = frames
            .iter()
            .map(|frame| StreamEvent::from_json(frame).unwrap().kind().to_owned())
            .collect();
        assert_eq!(
            kinds,
            [
                "STARTED",
                "STREAMING_URL",
                "PROGRESS",
                "HEARTBEAT",
                "COMPLETE",
                "PAUSED"
            ]
        );
        let StreamEvent::Complete(complete) = StreamEvent::from_json(frames[4]).unwrap() else {
            panic!("not COMPLETE");
        };
        let run = complete.to_run();
        assert_eq!(run.status, Some(RunStatus::Completed));
        assert!(run.error.is_null());
        assert!(StreamEvent::from_json(r#"{"type":"PROGRESS"}"#).is_err());
        assert!(StreamEvent::from_json("not json").is_err());
    }
}

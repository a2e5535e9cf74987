//! The `type` of a `/run-sse` frame.

use crate::events::string_enum::string_enum;

string_enum! {
    /// The `type` of a frame of `POST /v1/automation/run-sse`: `STARTED`, `STREAMING_URL`,
    /// `PROGRESS`* (with `HEARTBEAT`s between), then `COMPLETE`.
    pub enum FrameType {
        /// The run has begun.
        Started => "STARTED",
        /// Where to watch the browser live.
        StreamingUrl => "STREAMING_URL",
        /// One step of the agent.
        Progress => "PROGRESS",
        /// The connection is alive.
        Heartbeat => "HEARTBEAT",
        /// The run has reached a terminal state; the last frame.
        Complete => "COMPLETE",
    }
    expecting = "a frame type string such as \"PROGRESS\"";
}

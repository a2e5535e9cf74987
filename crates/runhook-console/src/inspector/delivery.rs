//! One delivery the inspector recorded.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, Method};

/// A request the inspected route got, and its answer.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InspectedDelivery {
    /// Its number, from 1, in the order the requests came.
    pub id: u64,
    /// When the request came.
    pub received_at: SystemTime,
    /// The request's method.
    pub method: Method,
    /// The request's path and query, as the route saw them (secrets included: the console
    /// redacts them when it shows them).
    pub path: String,
    /// The request's headers (secrets included: the console redacts them when it shows them).
    pub headers: HeaderMap,
    /// The body as the receiver read it, cut to the inspector's byte bound.
    pub body: Bytes,
    /// How many body bytes the receiver read (more than `body` holds when truncated).
    pub body_len: u64,
    /// Whether the body was cut to the bound.
    pub truncated: bool,
    /// Whether the receiver read the body to its end (a request refused early may be unread).
    pub body_complete: bool,
    /// The response's status code.
    pub status: u16,
    /// The response body's `outcome` (`accepted`, `duplicate`, `invalid`…), if it had one.
    pub outcome: Option<String>,
    /// The response body's `reason`, if it had one.
    pub reason: Option<String>,
    /// From the request to the response.
    pub latency: Duration,
}

impl InspectedDelivery {
    /// Why it cannot be sent again, if it cannot: its body was cut, or not read whole.
    pub fn resend_refusal(&self) -> Option<&'static str> {
        if self.truncated {
            Some("its body was truncated: only part of it was kept")
        } else if !self.body_complete {
            Some("the receiver did not read its whole body, so it was not all recorded")
        } else {
            None
        }
    }
}

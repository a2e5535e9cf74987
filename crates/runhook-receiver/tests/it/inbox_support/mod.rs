//! What the inbox tests share: a wall clock that follows tokio's, bodies, an inbox with faults,
//! a real HTTP server and client.

#![allow(dead_code)] // each test file uses what it needs

pub(crate) mod faulty;
pub(crate) mod server;

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, Uri};
use runhook::inbox::{Inbox, NewInboxEntry};
use runhook::store::IdempotencyKey;
use runhook_receiver::inbox::InboxReport;
use runhook_receiver::{Clock, Receiver, WebhookResponse};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::Instant;

/// A wall clock that follows tokio's (paused) clock from the test's start.
#[derive(Debug, Clone)]
pub(crate) struct FollowsTokio(pub(crate) Instant);

impl FollowsTokio {
    /// A clock at the Unix epoch now.
    pub(crate) fn start() -> Self {
        FollowsTokio(Instant::now())
    }
}

impl Clock for FollowsTokio {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + self.0.elapsed()
    }
}

/// The time `secs` seconds after the epoch (a [`FollowsTokio`] clock's start).
pub(crate) fn at(millis: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(millis)
}

/// A `run.completed` body of `run_id`.
pub(crate) fn completed(run_id: &str) -> Bytes {
    event(run_id, "run.completed", "COMPLETED")
}

/// A body of event `name` with `status` for `run_id`.
pub(crate) fn event(run_id: &str, name: &str, status: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"event":"{name}","run_id":"{run_id}","status":"{status}","data":{{}}}}"#
    ))
}

/// Inserts the `run.completed` of `run_id` into `inbox` now.
pub(crate) async fn insert(inbox: &dyn Inbox, clock: &FollowsTokio, run_id: &str) {
    let now = clock.now();
    let record = NewInboxEntry::new(
        IdempotencyKey::new(run_id),
        "run.completed",
        now,
        completed(run_id),
    )
    .with_run_id(run_id);
    inbox.insert(record, now).await.expect("the insert");
}

/// Posts `body` to the receiver in-process.
pub(crate) async fn post(receiver: &Receiver, body: Bytes) -> WebhookResponse {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let uri = Uri::from_static("/webhooks/tinyfish");
    receiver.receive(&Method::POST, &uri, &headers, body).await
}

/// The next inbox report; fails the test if none comes within an hour of tokio's time (at once on
/// a paused clock).
pub(crate) async fn next(reports: &mut UnboundedReceiver<InboxReport>) -> InboxReport {
    tokio::time::timeout(Duration::from_secs(3600), reports.recv())
        .await
        .expect("no inbox report within an hour")
        .expect("the report channel closed")
}

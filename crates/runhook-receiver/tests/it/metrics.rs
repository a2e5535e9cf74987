//! The metrics a receiver records, in both modes, read from `metrics-util`'s debugging recorder
//! (installed for this thread only, around a current-thread runtime on tokio's paused clock).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use crate::inbox_support;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use inbox_support::{FollowsTokio, completed, next, post};
use metrics_util::CompositeKey;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use runhook::HandlerOutcome;
use runhook::inbox::MemoryInbox;
use runhook_receiver::metrics::{
    DEAD_LETTERED, EVENTS_ACCEPTED, EVENTS_DUPLICATE, EVENTS_REJECTED, HANDLER_OUTCOMES,
    INBOX_DEPTH, TIME_TO_ACK, TIME_TO_DONE,
};
use runhook_receiver::{Receiver, handler_fn};
use tokio::sync::mpsc;

/// A snapshot's metrics (taking a snapshot resets the recorder's values).
type Metrics = Vec<(CompositeKey, DebugValue)>;

/// The value of the metric `name` with exactly `labels`.
fn value<'m>(metrics: &'m Metrics, name: &str, labels: &[(&str, &str)]) -> Option<&'m DebugValue> {
    metrics
        .iter()
        .find(|(key, _)| {
            let key = key.key();
            let mut found: Vec<_> = key.labels().map(|l| (l.key(), l.value())).collect();
            found.sort_unstable();
            let mut wanted = labels.to_vec();
            wanted.sort_unstable();
            key.name() == name && found == wanted
        })
        .map(|(_, value)| value)
}

fn counter(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> u64 {
    match value(metrics, name, labels) {
        Some(DebugValue::Counter(count)) => *count,
        None => 0,
        other => panic!("{name} is not a counter: {other:?}"),
    }
}

fn gauge(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> f64 {
    match value(metrics, name, labels) {
        Some(DebugValue::Gauge(value)) => value.into_inner(),
        other => panic!("{name} is not a gauge: {other:?}"),
    }
}

fn samples(metrics: &Metrics, name: &str) -> Vec<f64> {
    match value(metrics, name, &[]) {
        Some(DebugValue::Histogram(values)) => values.iter().map(|v| v.into_inner()).collect(),
        other => panic!("{name} is not a histogram: {other:?}"),
    }
}

#[test]
fn every_metric_is_recorded_in_both_modes() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || runtime.block_on(scenario()));

    let metrics: Metrics = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| (key, value))
        .collect();
    let s = &metrics;
    // Inline: r1 processed, r1 again, a GET, no content type, r2 retried by the handler.
    // Inbox: r3 processed, r4 rejected by the handler (dead).
    assert_eq!(counter(s, EVENTS_ACCEPTED, &[]), 3);
    assert_eq!(counter(s, EVENTS_DUPLICATE, &[]), 1);
    for kind in ["method", "unsupported_media_type", "retry"] {
        assert_eq!(counter(s, EVENTS_REJECTED, &[("kind", kind)]), 1, "{kind}");
    }
    assert_eq!(counter(s, HANDLER_OUTCOMES, &[("outcome", "ok")]), 2);
    assert_eq!(counter(s, HANDLER_OUTCOMES, &[("outcome", "retry")]), 1);
    assert_eq!(counter(s, HANDLER_OUTCOMES, &[("outcome", "reject")]), 1);
    assert_eq!(counter(s, DEAD_LETTERED, &[]), 1);
    for (state, rows) in [
        ("pending", 0.0),
        ("in_flight", 0.0),
        ("done", 1.0),
        ("dead", 1.0),
    ] {
        assert_eq!(gauge(s, INBOX_DEPTH, &[("state", state)]), rows, "{state}");
    }
    let acks = samples(s, TIME_TO_ACK);
    assert_eq!(acks.len(), 4, "3 accepted and 1 duplicate: {acks:?}");
    let done = samples(s, TIME_TO_DONE);
    assert_eq!(done.len(), 2, "inline r1 and inbox r3: {done:?}");
    assert!(
        done.iter().all(|seconds| (0.0..1.0).contains(seconds)),
        "{done:?}"
    );
}

async fn scenario() {
    let inline = Receiver::new(handler_fn(|event| async move {
        match event.run_id() {
            Some("r2") => HandlerOutcome::retry("database down"),
            _ => HandlerOutcome::Ok,
        }
    }));
    assert_eq!(post(&inline, completed("r1")).await.status, 200);
    assert_eq!(post(&inline, completed("r1")).await.status, 200);
    let uri = Uri::from_static("/webhooks/tinyfish");
    let get = inline
        .receive(&Method::GET, &uri, &HeaderMap::new(), Bytes::new())
        .await;
    assert_eq!(get.status, 405);
    let untyped = inline
        .receive(&Method::POST, &uri, &HeaderMap::new(), completed("r1"))
        .await;
    assert_eq!(untyped.status, 415);
    assert_eq!(post(&inline, completed("r2")).await.status, 503);

    let (reports, mut reported) = mpsc::unbounded_channel();
    let inbox = Receiver::with_inbox(
        Arc::new(MemoryInbox::new()),
        Arc::new(handler_fn(|event| async move {
            match event.run_id() {
                Some("r4") => HandlerOutcome::reject("unknown account"),
                _ => HandlerOutcome::Ok,
            }
        })),
    )
    .clock(FollowsTokio::start())
    .inbox_report_to(reports)
    .build()
    .unwrap();
    assert_eq!(post(&inbox, completed("r3")).await.status, 200);
    assert_eq!(post(&inbox, completed("r4")).await.status, 200);
    next(&mut reported).await;
    next(&mut reported).await;
    // The depth is published every 5 s.
    tokio::time::sleep(Duration::from_secs(6)).await;
    inbox.shutdown(Duration::from_secs(1)).await;
}

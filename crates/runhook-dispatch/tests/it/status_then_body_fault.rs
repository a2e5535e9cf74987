//! A status line received, then the body fails (stalls past the deadline, is reset): the status
//! decides the attempt, and the body failure only goes into the report.

// Test helpers: a failed setup should panic loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::time::Duration;

use runhook::RetryPolicy;
use runhook::delivery::AttemptResult;
use runhook_dispatch::{AttemptReport, DispatchOutcome};
use support::{AfterHead, assert_about, event, head_then, local, reports_of};

const SECOND: Duration = Duration::from_secs(1);

/// Delivers one event to a `head_then(head, after)` server under `policy`: the outcome, every
/// report of the delivery, and how many connections the server saw.
async fn deliver(
    head: &'static [u8],
    after: AfterHead,
    policy: RetryPolicy,
) -> (DispatchOutcome, Vec<AttemptReport>, usize) {
    let (addr, count) = head_then(head, after).await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&format!("http://{addr}/hook"), event(), policy)
        .unwrap();
    let id = handle.id();
    let outcome = handle.outcome().await;
    let reports = reports_of(&mut reports, id).await;
    let connections = *count.lock().unwrap();
    (outcome, reports, connections)
}

#[track_caller]
fn assert_body_error(report: &AttemptReport, status: u16, what: &str) {
    assert_eq!(report.status, Some(status));
    assert_eq!(report.result, Some(AttemptResult::status(status)));
    let error = report
        .error
        .as_deref()
        .expect("the body failure is reported");
    assert!(error.contains("body"), "{error}");
    assert!(error.contains(what), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_400_head_then_a_stalled_body_is_final_after_one_attempt() {
    let (outcome, reports, connections) = deliver(
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 100\r\n\r\n{\"error\":",
        AfterHead::Stall,
        RetryPolicy::tinyfish(),
    )
    .await;
    assert_eq!(
        outcome,
        DispatchOutcome::Failed {
            attempts: 1,
            last: AttemptResult::status(400)
        }
    );
    assert_eq!(connections, 1);
    assert_eq!(reports.len(), 1);
    assert_body_error(&reports[0], 400, "timed out");
    assert_eq!(reports[0].retry_in, None);
    assert_eq!(
        reports[0].body_excerpt, "{\"error\":",
        "what arrived is kept"
    );
    assert_about(reports[0].latency, 10 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_400_head_then_a_reset_is_final_after_one_attempt() {
    let (outcome, reports, connections) = deliver(
        b"HTTP/1.1 400 Bad Request\r\ncontent-length: 100\r\n\r\n{\"error\":",
        AfterHead::Reset,
        RetryPolicy::tinyfish(),
    )
    .await;
    assert_eq!(
        outcome,
        DispatchOutcome::Failed {
            attempts: 1,
            last: AttemptResult::status(400)
        }
    );
    assert_eq!(connections, 1);
    assert_eq!(reports.len(), 1);
    assert_body_error(&reports[0], 400, "reading the response body failed");
    assert_about(reports[0].latency, SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_200_head_then_a_stalled_body_is_delivered_after_one_attempt() {
    // A short attempt timeout: the stall ends the attempt after 2 s.
    let policy = RetryPolicy::builder()
        .attempt_timeout(2 * SECOND)
        .build()
        .unwrap();
    let (outcome, reports, connections) = deliver(
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{}",
        AfterHead::Stall,
        policy,
    )
    .await;
    assert_eq!(
        outcome,
        DispatchOutcome::Delivered {
            attempts: 1,
            status: 200
        }
    );
    assert_eq!(connections, 1);
    assert_eq!(reports.len(), 1);
    assert_body_error(&reports[0], 200, "timed out");
    assert_about(reports[0].latency, 2 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_503_head_then_a_stalled_body_is_retried_per_policy() {
    let policy = RetryPolicy::builder()
        .attempt_timeout(2 * SECOND)
        .build()
        .unwrap();
    let (outcome, reports, connections) = deliver(
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 100\r\n\r\n",
        AfterHead::Stall,
        policy,
    )
    .await;
    assert_eq!(
        outcome,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::status(503)
        }
    );
    assert_eq!(connections, 4);
    assert_eq!(reports.len(), 4);
    for report in &reports {
        assert_body_error(report, 503, "timed out");
    }
    let waits: Vec<_> = reports.iter().map(|r| r.retry_in).collect();
    assert_eq!(
        waits,
        [Some(SECOND), Some(2 * SECOND), Some(4 * SECOND), None]
    );
}

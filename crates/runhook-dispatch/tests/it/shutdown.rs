//! Graceful shutdown: no new work, in-flight attempts finish within the grace period, and what
//! cannot finish is abandoned and reported.

use crate::support;

use std::time::Duration;

use runhook::RetryPolicy;
use runhook_dispatch::{DispatchOutcome, SubmitError};
use support::{Receiver, Reply, event, local};

#[tokio::test(start_paused = true)]
async fn a_pending_retry_beyond_the_grace_period_is_abandoned_at_once() {
    let receiver = Receiver::start(vec![Reply::status(503)]).await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    let first = reports.recv().await.unwrap();
    assert_eq!(first.retry_in, Some(Duration::from_secs(1)));

    let started = tokio::time::Instant::now();
    let report = dispatcher.shutdown(Duration::from_millis(500)).await;
    assert_eq!(
        started.elapsed(),
        Duration::ZERO,
        "nothing could finish, so nothing waited"
    );
    assert_eq!(report.abandoned, vec![id]);
    assert_eq!(report.finished, 0);
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Abandoned { attempts: 1 }
    );
    assert_eq!(receiver.count(), 1);

    let late = dispatcher.submit(&receiver.url(), event(), RetryPolicy::tinyfish());
    assert!(matches!(late, Err(SubmitError::ShuttingDown)), "{late:?}");
}

#[tokio::test(start_paused = true)]
async fn work_that_fits_in_the_grace_period_finishes() {
    // Attempt 1 is in flight (2 s), attempt 2 follows 1 s later: both fit in 5 s.
    let receiver = Receiver::start(vec![
        Reply::status(503).delay(Duration::from_secs(2)),
        Reply::status(200),
    ])
    .await;
    let dispatcher = local().build().unwrap();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    support::yield_until("the first request arrives", || receiver.count() > 0).await;
    let report = dispatcher.shutdown(Duration::from_secs(5)).await;
    assert_eq!(report.finished, 1);
    assert!(report.abandoned.is_empty());
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 2,
            status: 200
        }
    );
}

#[tokio::test(start_paused = true)]
async fn an_attempt_still_in_flight_when_the_grace_period_ends_is_aborted() {
    let receiver = Receiver::start(vec![Reply::status(200).delay(Duration::from_secs(8))]).await;
    let dispatcher = local().build().unwrap();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    support::yield_until("the first request arrives", || receiver.count() > 0).await;
    let started = tokio::time::Instant::now();
    let report = dispatcher.shutdown(Duration::from_secs(1)).await;
    support::assert_about(started.elapsed(), Duration::from_secs(1));
    assert_eq!(report.abandoned, vec![id]);
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Abandoned { attempts: 1 }
    );
}

#[tokio::test(start_paused = true)]
async fn deliveries_waiting_for_a_slot_are_abandoned_when_time_runs_out() {
    let receiver = Receiver::start(vec![Reply::status(200).delay(Duration::from_secs(3))]).await;
    let dispatcher = local().max_per_host(1).build().unwrap();
    let handles: Vec<_> = (0..3)
        .map(|_| {
            dispatcher
                .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
                .unwrap()
        })
        .collect();
    support::yield_until("the first request arrives", || receiver.count() > 0).await;
    // 4 s: the first finishes at 3 s, the second starts and is aborted at 4 s, the third never
    // gets a slot.
    let report = dispatcher.shutdown(Duration::from_secs(4)).await;
    assert_eq!(report.finished, 1);
    assert_eq!(report.abandoned.len(), 2);
    let outcomes: Vec<_> =
        futures::future::join_all(handles.into_iter().map(|h| h.outcome())).await;
    assert_eq!(
        outcomes,
        vec![
            DispatchOutcome::Delivered {
                attempts: 1,
                status: 200
            },
            DispatchOutcome::Abandoned { attempts: 1 },
            DispatchOutcome::Abandoned { attempts: 0 },
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_of_an_idle_dispatcher_returns_at_once_and_twice() {
    let dispatcher = local().build().unwrap();
    let report = dispatcher.shutdown(Duration::from_secs(30)).await;
    assert_eq!(report, Default::default());
    assert_eq!(
        dispatcher.shutdown(Duration::from_secs(30)).await,
        Default::default()
    );
}

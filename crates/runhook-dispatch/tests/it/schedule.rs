//! The retry schedule against real local receivers, on tokio's paused clock: a 1 s/2 s/4 s
//! schedule and 10 s timeouts run in milliseconds. The receivers answer on the same runtime, so
//! the runtime is idle (and the clock jumps) only while every task waits for a timer.

use crate::support;

use std::time::Duration;

use runhook::RetryPolicy;
use runhook::delivery::AttemptResult;
use runhook_dispatch::{DispatchOutcome, USER_AGENT};
use support::{Receiver, Reply, assert_about, event, gaps, local, reports_of};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test(start_paused = true)]
async fn scripted_503_503_200_is_delivered_on_the_third_attempt() {
    let receiver = Receiver::start(vec![
        Reply::status(503),
        Reply::status(503),
        Reply::status(200),
    ])
    .await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    let outcome = handle.outcome().await;
    assert_eq!(
        outcome,
        DispatchOutcome::Delivered {
            attempts: 3,
            status: 200
        }
    );

    let reports = reports_of(&mut reports, id).await;
    let summary: Vec<_> = reports
        .iter()
        .map(|r| {
            (
                r.attempt,
                r.max_attempts,
                r.status,
                r.retry_in,
                r.outcome.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, 4, Some(503), Some(SECOND), false),
            (2, 4, Some(503), Some(2 * SECOND), false),
            (3, 4, Some(200), None, true),
        ]
    );
    assert!(
        reports
            .iter()
            .all(|r| r.error.is_none() && r.url.as_ref() == receiver.url())
    );
    let arrivals = receiver.received();
    let gaps = gaps(&arrivals);
    assert_eq!(gaps.len(), 2);
    assert_about(gaps[0], SECOND);
    assert_about(gaps[1], 2 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn the_request_is_a_json_post_with_the_runhook_user_agent_and_the_exact_bytes() {
    let receiver = Receiver::start(vec![Reply::status(204)]).await;
    let dispatcher = local().build().unwrap();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    assert!(handle.outcome().await.is_delivered());
    let request = receiver.received().remove(0);
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/hook");
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.headers["user-agent"], USER_AGENT);
    assert_eq!(USER_AGENT, concat!("runhook/", env!("CARGO_PKG_VERSION")));
    assert_eq!(request.body, event());
}

#[tokio::test(start_paused = true)]
async fn five_hundreds_give_up_after_four_attempts_and_seven_seconds() {
    let receiver = Receiver::start(vec![Reply::status(500)]).await;
    let dispatcher = local().build().unwrap();
    let started = tokio::time::Instant::now();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let outcome = handle.outcome().await;
    assert_eq!(
        outcome,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::status(500)
        }
    );
    assert_eq!(receiver.count(), 4);
    let gaps = gaps(&receiver.received());
    for (gap, expected) in gaps.iter().zip([1, 2, 4]) {
        assert_about(*gap, Duration::from_secs(expected));
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= 7 * SECOND && elapsed < 7 * SECOND + Duration::from_millis(50),
        "{elapsed:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_4xx_is_final_under_the_tinyfish_policy() {
    for status in [400, 404, 408, 410, 422, 429] {
        let receiver = Receiver::start(vec![Reply::status(status), Reply::status(200)]).await;
        let dispatcher = local().build().unwrap();
        let handle = dispatcher
            .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
            .unwrap();
        assert_eq!(
            handle.outcome().await,
            DispatchOutcome::Failed {
                attempts: 1,
                last: AttemptResult::status(status)
            },
            "status {status}"
        );
        assert_eq!(receiver.count(), 1, "status {status}");
    }
}

#[tokio::test(start_paused = true)]
async fn the_standard_policy_retries_429_and_honours_retry_after() {
    let receiver = Receiver::start(vec![
        Reply::status(429).header("retry-after", "3"),
        Reply::status(200),
    ])
    .await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::standard())
        .unwrap();
    let id = handle.id();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 2,
            status: 200
        }
    );
    let reports = reports_of(&mut reports, id).await;
    assert_eq!(
        reports[0].result,
        Some(AttemptResult::Response {
            status: 429,
            retry_after: Some(3 * SECOND)
        })
    );
    assert_eq!(reports[0].retry_in, Some(3 * SECOND));
    assert_about(gaps(&receiver.received())[0], 3 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_response_slower_than_the_timeout_is_a_timeout_and_retried() {
    let receiver = Receiver::start(vec![
        Reply::status(200).delay(Duration::from_secs(15)),
        Reply::status(200),
    ])
    .await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 2,
            status: 200
        }
    );
    let reports = reports_of(&mut reports, id).await;
    assert_eq!(reports[0].result, Some(AttemptResult::Timeout));
    assert_eq!(reports[0].status, None);
    assert!(
        reports[0]
            .error
            .as_deref()
            .unwrap()
            .contains("timed out before the response head")
    );
    assert_about(reports[0].latency, 10 * SECOND);
    // The wait runs from the end of the timed-out attempt.
    assert_about(gaps(&receiver.received())[0], 11 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_body_slower_than_the_timeout_after_a_200_is_delivered() {
    // The head arrived in time: its status decides, and the late body is only reported.
    let receiver = Receiver::start(vec![
        Reply::status(200)
            .body(vec![b'x'; 64])
            .slow_body(Duration::from_secs(30)),
        Reply::status(200),
    ])
    .await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 1,
            status: 200
        }
    );
    assert_eq!(receiver.count(), 1);
    let reports = reports_of(&mut reports, id).await;
    assert_eq!(reports[0].result, Some(AttemptResult::status(200)));
    assert_eq!(reports[0].status, Some(200), "the head arrived in time");
    assert!(
        reports[0]
            .error
            .as_deref()
            .unwrap()
            .contains("timed out while reading the response body")
    );
    assert_eq!(
        reports[0].body_excerpt,
        "x".repeat(32),
        "the first half arrived"
    );
    assert_about(reports[0].latency, 10 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_custom_attempt_timeout_applies() {
    let receiver = Receiver::start(vec![Reply::status(200).delay(Duration::from_secs(3))]).await;
    let dispatcher = local().build().unwrap();
    let policy = RetryPolicy::builder()
        .attempts(1)
        .schedule([])
        .attempt_timeout(Duration::from_secs(2))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let handle = dispatcher.submit(&receiver.url(), event(), policy).unwrap();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Failed {
            attempts: 1,
            last: AttemptResult::Timeout
        }
    );
    assert_about(started.elapsed(), 2 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn a_large_body_is_read_up_to_the_limit_and_excerpted() {
    let big = vec![b'a'; 100 * 1024];
    let receiver = Receiver::start(vec![Reply::status(200).body(big)]).await;
    let dispatcher = local().excerpt_limit(100).build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    assert!(handle.outcome().await.is_delivered());
    let report = reports_of(&mut reports, id).await.remove(0);
    assert_eq!(report.body_excerpt, "a".repeat(100));
    assert!(report.body_truncated);
}

#[tokio::test(start_paused = true)]
async fn concurrency_is_bounded_per_host_and_one_timer_serves_every_retry() {
    // Each answer takes 1 s; 30 deliveries, 3 at a time to this host.
    let receiver = Receiver::start(vec![Reply::status(200).delay(SECOND)]).await;
    let dispatcher = local().max_per_host(3).build().unwrap();
    let handles: Vec<_> = (0..30)
        .map(|_| {
            dispatcher
                .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
                .unwrap()
        })
        .collect();
    let started = tokio::time::Instant::now();
    for handle in handles {
        assert!(handle.outcome().await.is_delivered());
    }
    assert_eq!(receiver.max_concurrent(), 3);
    // 30 / 3 = 10 rounds of 1 s; a slot wait never eats into an attempt's deadline.
    assert_about(started.elapsed(), 10 * SECOND);
}

#[tokio::test(start_paused = true)]
async fn the_overall_limit_spans_hosts() {
    let a = Receiver::start(vec![Reply::status(200).delay(SECOND)]).await;
    let b = Receiver::start(vec![Reply::status(200).delay(SECOND)]).await;
    let dispatcher = local().max_in_flight(2).max_per_host(10).build().unwrap();
    let handles: Vec<_> = (0..10)
        .flat_map(|_| [a.url(), b.url()])
        .map(|url| {
            dispatcher
                .submit(&url, event(), RetryPolicy::tinyfish())
                .unwrap()
        })
        .collect();
    for handle in handles {
        assert!(handle.outcome().await.is_delivered());
    }
    assert!(
        a.max_concurrent() + b.max_concurrent() <= 3,
        "{} + {}",
        a.max_concurrent(),
        b.max_concurrent()
    );
    assert_eq!(a.count() + b.count(), 20);
}

#[tokio::test(start_paused = true)]
async fn many_pending_retries_all_complete() {
    let receiver = Receiver::start(vec![Reply::status(503).close()]).await;
    let dispatcher = local().max_per_host(64).build().unwrap();
    let handles: Vec<_> = (0..200)
        .map(|_| {
            dispatcher
                .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
                .unwrap()
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.outcome().await.attempts(), 4);
    }
    assert_eq!(receiver.count(), 800);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_dispatcher_finishes_the_work_it_holds() {
    let receiver = Receiver::start(vec![Reply::status(503), Reply::status(200)]).await;
    let dispatcher = local().build().unwrap();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    drop(dispatcher);
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 2,
            status: 200
        }
    );
}

//! On the wall clock: the one test that waits for real (about 7 s) to confirm the 1 s / 2 s / 4 s
//! spacing, and the system resolver on `localhost` (answered from /etc/hosts, no DNS server).

use crate::support;

use std::time::Duration;

use runhook::RetryPolicy;
use runhook::delivery::AttemptResult;
use runhook_dispatch::DispatchOutcome;
use support::{Receiver, Reply, event, gaps, local};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tinyfish_schedule_waits_1s_2s_4s_on_the_wall_clock() {
    let receiver = Receiver::start(vec![Reply::status(503)]).await;
    let dispatcher = local().build().unwrap();
    let started = std::time::Instant::now();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::status(503)
        }
    );
    let elapsed = started.elapsed();
    let gaps = gaps(&receiver.received());
    assert_eq!(gaps.len(), 3);
    // Never sooner than the schedule; and late by less than 1 s, the smallest difference between
    // two of its steps, so each gap is its own step's wait and not the next one's, however loaded
    // the machine (a tighter bound would measure the machine, not the schedule).
    let slack = Duration::from_secs(1);
    for (gap, seconds) in gaps.iter().zip([1u64, 2, 4]) {
        let expected = Duration::from_secs(seconds);
        assert!(
            *gap >= expected && *gap < expected + slack,
            "wait before retry: expected {expected:?}, got {gap:?} (all gaps {gaps:?})"
        );
    }
    assert!(
        elapsed >= Duration::from_secs(7) && elapsed < Duration::from_secs(7) + 3 * slack,
        "{elapsed:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_system_resolver_finds_localhost() {
    let receiver = Receiver::start(vec![Reply::status(200)]).await;
    let dispatcher = local().build().unwrap();
    let url = receiver.url_with_host("localhost");
    let handle = dispatcher
        .submit(&url, event(), RetryPolicy::tinyfish())
        .unwrap();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 1,
            status: 200
        }
    );
}

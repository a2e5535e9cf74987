//! A panic inside an attempt is a failed attempt like any other: it is reported, the retry
//! policy decides what follows, and the dispatcher keeps working.
//!
//! The panic comes from a real path: a [`HostLookup`] supplied by the caller, which the HTTP
//! client calls from inside the attempt.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use runhook::RetryPolicy;
use runhook::delivery::{AttemptResult, NetworkErrorKind};
use runhook_dispatch::{DispatchOutcome, HostLookup, LookupFuture};
use support::{Receiver, Reply, event, ip, local, reports_of};

/// Panics on its first `panics` lookups, then answers 127.0.0.1.
struct PanickingLookup {
    panics: usize,
    calls: Arc<AtomicUsize>,
}

impl HostLookup for PanickingLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let panics = call < self.panics;
        let host = host.to_owned();
        Box::pin(async move {
            assert!(!panics, "the lookup of {host} broke (call {call})");
            Ok(vec![ip("127.0.0.1")])
        })
    }
}

fn lookup(panics: usize) -> (PanickingLookup, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let lookup = PanickingLookup {
        panics,
        calls: Arc::clone(&calls),
    };
    (lookup, calls)
}

#[tokio::test(start_paused = true)]
async fn a_panicking_attempt_is_a_failed_attempt_and_the_delivery_retries() {
    let receiver = Receiver::start(vec![Reply::status(200)]).await;
    let (lookup, calls) = lookup(1);
    let dispatcher = local().lookup(lookup).build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(
            &receiver.url_with_host("hook.localhost"),
            event(),
            RetryPolicy::tinyfish(),
        )
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
    assert_eq!(reports.len(), 2);
    let panicked = &reports[0];
    assert_eq!(panicked.attempt, 1);
    assert_eq!(panicked.status, None);
    assert_eq!(
        panicked.result,
        Some(AttemptResult::Network(NetworkErrorKind::Other))
    );
    let error = panicked.error.as_deref().unwrap_or_default();
    assert!(error.contains("panicked"), "{error}");
    assert!(
        error.contains("the lookup of hook.localhost broke"),
        "{error}"
    );
    assert_eq!(panicked.retry_in, Some(Duration::from_secs(1)));
    assert_eq!(panicked.outcome, None);
    assert_eq!(reports[1].status, Some(200));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(receiver.count(), 1);

    // The dispatcher keeps working: the next delivery goes through at once.
    let next = dispatcher
        .submit(
            &receiver.url_with_host("hook.localhost"),
            event(),
            RetryPolicy::tinyfish(),
        )
        .unwrap();
    assert_eq!(
        next.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 1,
            status: 200
        }
    );
    let report = dispatcher.shutdown(Duration::from_secs(1)).await;
    assert!(report.abandoned.is_empty(), "{report:?}");
}

#[tokio::test(start_paused = true)]
async fn attempts_that_always_panic_use_up_the_policy_and_free_their_slots() {
    let receiver = Receiver::start(vec![Reply::status(200)]).await;
    let (lookup, calls) = lookup(usize::MAX);
    // One slot: if a panicked attempt kept its slot, nothing after it would ever start.
    let dispatcher = local()
        .lookup(lookup)
        .max_in_flight(1)
        .max_per_host(1)
        .build()
        .unwrap();
    let broken = dispatcher
        .submit(
            &receiver.url_with_host("hook.localhost"),
            event(),
            RetryPolicy::tinyfish(),
        )
        .unwrap();
    let fine = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    assert_eq!(
        broken.outcome().await,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::Network(NetworkErrorKind::Other)
        }
    );
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(
        fine.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 1,
            status: 200
        }
    );
    let report = dispatcher.shutdown(Duration::ZERO).await;
    assert_eq!(report.finished, 0);
    assert!(report.abandoned.is_empty(), "{report:?}");
}

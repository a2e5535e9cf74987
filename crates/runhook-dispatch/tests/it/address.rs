//! The address rules (docs/protocol.md §4.2): IP literals checked at submit, host names checked on the
//! addresses DNS returns, on every connection. Names resolve through injected lookups only: no
//! test here asks a real DNS server anything.
//!
//! A test whose lookup hands out a forbidden non-loopback address first checks that the rules
//! refuse it, so a broken filter fails the test instead of sending traffic off this machine.

use crate::support;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use runhook::endpoint::UrlError;
use runhook::{AddressPolicy, RetryPolicy};
use runhook_dispatch::{
    DispatchOutcome, DispatcherBuilder, HostLookup, LookupFuture, StaticLookup, SubmitError,
    TargetError,
};
use support::{Receiver, Reply, TestCa, event, ip, local, local_tls, reports_of};

/// Panics unless `policy` forbids `address`: the guard before a lookup may hand it out.
#[track_caller]
fn guard(policy: AddressPolicy, address: &str) {
    assert!(
        policy.check(ip(address)).is_err(),
        "the test relies on {address} being forbidden"
    );
}

const LOOPBACK_ONLY: AddressPolicy = AddressPolicy {
    allow_loopback: true,
    allow_private: false,
};

#[tokio::test]
async fn the_default_policy_refuses_loopback_and_plain_http_at_submit() {
    let dispatcher = DispatcherBuilder::new().build().unwrap();
    let refused = dispatcher
        .submit("https://127.0.0.1:9/hook", event(), RetryPolicy::tinyfish())
        .unwrap_err();
    assert!(
        matches!(
            refused,
            SubmitError::Target(TargetError::Url(UrlError::Forbidden(_)))
        ),
        "{refused:?}"
    );
    let text = refused.to_string();
    assert!(
        text.contains("127.0.0.1") && text.contains("--insecure-localhost"),
        "{text}"
    );

    for (url, expected) in [
        ("http://127.0.0.1:9/hook", "https only"),
        ("https://localhost:9/hook", "loopback"),
        ("https://[::1]:9/hook", "::1"),
        ("https://10.1.2.3/hook", "--allow-private-networks"),
        ("https://169.254.169.254/latest/meta-data", "metadata"),
        ("https://user:pw@hooks.example.com/", "user-info"),
        ("ftp://hooks.example.com/", "https only"),
    ] {
        let err = dispatcher
            .submit(url, event(), RetryPolicy::tinyfish())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{url}: {err}");
    }
}

#[tokio::test]
async fn plain_http_is_for_loopback_hosts_only_even_with_the_opt_in() {
    let dispatcher = DispatcherBuilder::new()
        .address_policy(AddressPolicy::local_development())
        .build()
        .unwrap();
    let err = dispatcher
        .submit("http://10.0.0.1/hook", event(), RetryPolicy::tinyfish())
        .unwrap_err();
    assert!(
        matches!(
            err,
            SubmitError::Target(TargetError::Url(UrlError::InsecureRemoteHost { .. }))
        ),
        "{err:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_name_resolving_to_loopback_is_refused_by_default_and_not_retried() {
    let receiver = Receiver::start(vec![Reply::status(200)]).await;
    let dispatcher = DispatcherBuilder::new()
        .lookup(StaticLookup::new().with("rebind.test", [ip("127.0.0.1")]))
        .build()
        .unwrap();
    let mut reports = dispatcher.subscribe();
    let url = format!("https://rebind.test:{}/hook", receiver.addr.port());
    let handle = dispatcher
        .submit(&url, event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    let outcome = handle.outcome().await;
    let DispatchOutcome::Refused { attempts, reason } = &outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert_eq!(*attempts, 1, "a refusal is not retried");
    assert_eq!(reason.host(), Some("rebind.test"));
    assert_eq!(reason.addresses()[0].0, ip("127.0.0.1"));
    let reports = reports_of(&mut reports, id).await;
    assert_eq!(reports.len(), 1);
    let error = reports[0].error.as_deref().unwrap();
    assert!(
        error.contains("rebind.test") && error.contains("127.0.0.1"),
        "{error}"
    );
    assert!(error.contains("--insecure-localhost"), "{error}");
    assert_eq!(reports[0].retry_in, None);
    assert_eq!(receiver.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_name_resolving_to_a_private_address_is_refused_with_loopback_allowed() {
    guard(LOOPBACK_ONLY, "10.0.0.1");
    let dispatcher = local()
        .lookup(StaticLookup::new().with("private.test", [ip("10.0.0.1")]))
        .build()
        .unwrap();
    let handle = dispatcher
        .submit(
            "https://private.test/hook",
            event(),
            RetryPolicy::tinyfish(),
        )
        .unwrap();
    let outcome = handle.outcome().await;
    let DispatchOutcome::Refused {
        attempts: 1,
        reason,
    } = &outcome
    else {
        panic!("expected a refusal on the first attempt, got {outcome:?}");
    };
    let text = reason.to_string();
    assert!(
        text.contains("10.0.0.1") && text.contains("--allow-private-networks"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_metadata_address_is_refused_even_for_local_development() {
    guard(AddressPolicy::local_development(), "169.254.169.254");
    let dispatcher = DispatcherBuilder::new()
        .address_policy(AddressPolicy::local_development())
        .lookup(StaticLookup::new().with("metadata.test", [ip("169.254.169.254")]))
        .build()
        .unwrap();
    let handle = dispatcher
        .submit(
            "https://metadata.test/hook",
            event(),
            RetryPolicy::tinyfish(),
        )
        .unwrap();
    assert!(matches!(
        handle.outcome().await,
        DispatchOutcome::Refused { attempts: 1, .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn forbidden_addresses_are_dropped_and_allowed_ones_used() {
    guard(LOOPBACK_ONLY, "10.0.0.1");
    let ca = TestCa::new();
    let receiver = Receiver::start_tls(vec![Reply::status(200)], &ca).await;
    let dispatcher = local_tls(&ca)
        .lookup(StaticLookup::new().with("mixed.test", [ip("10.0.0.1"), ip("127.0.0.1")]))
        .build()
        .unwrap();
    let url = receiver.url_with_host("mixed.test");
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

#[tokio::test(start_paused = true)]
async fn plain_http_to_a_name_needs_every_used_address_to_be_loopback() {
    let policy = AddressPolicy::local_development();
    guard(AddressPolicy::default(), "192.168.1.20");
    let dispatcher = DispatcherBuilder::new()
        .address_policy(policy)
        .lookup(StaticLookup::new().with("app.localhost", [ip("192.168.1.20")]))
        .build()
        .unwrap();
    // `.localhost` names pass the URL rules for plain http; the resolver still insists.
    let handle = dispatcher
        .submit(
            "http://app.localhost:8080/hook",
            event(),
            RetryPolicy::tinyfish(),
        )
        .unwrap();
    let outcome = handle.outcome().await;
    let DispatchOutcome::Refused { reason, .. } = &outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert!(reason.to_string().contains("plain http"), "{reason}");
}

/// Answers 127.0.0.1 the first time and 10.0.0.1 afterwards: a rebinding attack.
struct Rebinding {
    calls: Arc<AtomicUsize>,
}

impl HostLookup for Rebinding {
    fn lookup(&self, _host: &str) -> LookupFuture {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let answer = if call == 0 {
            Ipv4Addr::LOCALHOST
        } else {
            Ipv4Addr::new(10, 0, 0, 1)
        };
        Box::pin(async move { Ok(vec![IpAddr::V4(answer)]) })
    }
}

#[tokio::test(start_paused = true)]
async fn dns_rebinding_between_attempts_is_refused_on_the_new_connection() {
    guard(LOOPBACK_ONLY, "10.0.0.1");
    // The receiver (HTTP/1.1) closes the connection after its 503, so the retry must resolve
    // again. (A kept-alive connection is not resolved again: its address was checked when it
    // was opened.)
    let ca = TestCa::new();
    let receiver = Receiver::start_tls_h1(vec![Reply::status(503).close()], &ca).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let dispatcher = local_tls(&ca)
        .lookup(Rebinding {
            calls: Arc::clone(&calls),
        })
        .build()
        .unwrap();
    let url = receiver.url_with_host("rebind.test");
    let handle = dispatcher
        .submit(&url, event(), RetryPolicy::tinyfish())
        .unwrap();
    let outcome = handle.outcome().await;
    let DispatchOutcome::Refused { attempts, reason } = &outcome else {
        panic!("expected a refusal, got {outcome:?}");
    };
    assert_eq!(*attempts, 2);
    assert_eq!(reason.addresses()[0].0, ip("10.0.0.1"));
    assert_eq!(
        receiver.count(),
        1,
        "only the first attempt reached the receiver"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

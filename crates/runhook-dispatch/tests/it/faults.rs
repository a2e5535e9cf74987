//! Faults below HTTP and around it: resets, refused connections, redirects, TLS.

use crate::support;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use runhook::RetryPolicy;
use runhook::delivery::{AttemptResult, NetworkErrorKind};
use runhook_dispatch::{DispatchOutcome, StaticLookup};
use support::{
    Receiver, Reply, TestCa, closed_port, event, local, raw_server, reports_of, resetting_server,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

#[tokio::test(start_paused = true)]
async fn a_connection_reset_is_retried_as_a_reset() {
    let (addr, count) = resetting_server().await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let url = format!("http://{addr}/hook");
    let handle = dispatcher
        .submit(&url, event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    let outcome = handle.outcome().await;
    assert_eq!(
        outcome,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::Network(NetworkErrorKind::Reset)
        }
    );
    assert_eq!(*count.lock().unwrap(), 4);
    let reports = reports_of(&mut reports, id).await;
    assert_eq!(reports.len(), 4);
    assert!(
        reports
            .iter()
            .all(|r| r.status.is_none() && r.error.is_some())
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_connection_is_a_connect_error_and_retried() {
    let addr = closed_port().await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let url = format!("http://{addr}/hook");
    let handle = dispatcher
        .submit(&url, event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::Network(NetworkErrorKind::Connect)
        }
    );
    let first = reports_of(&mut reports, id).await.remove(0);
    let error = first.error.unwrap();
    assert!(error.to_lowercase().contains("connect"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_redirect_is_never_followed_and_is_retried() {
    let target = Receiver::start(vec![Reply::status(200)]).await;
    let redirecting =
        Receiver::start(vec![Reply::status(301).header("location", target.url())]).await;
    let dispatcher = local().build().unwrap();
    let handle = dispatcher
        .submit(&redirecting.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::status(301)
        }
    );
    assert_eq!(redirecting.count(), 4);
    assert_eq!(target.count(), 0, "the redirect must not be followed");
}

#[tokio::test(start_paused = true)]
async fn an_unparsable_response_is_a_network_error_and_retried() {
    // A response hyper cannot parse is a failure below HTTP, retried like a reset.
    let addr = raw_server(b"this is not http\r\n\r\n").await;
    let dispatcher = local().build().unwrap();
    let url = format!("http://{addr}/hook");
    let handle = dispatcher
        .submit(&url, event(), RetryPolicy::tinyfish())
        .unwrap();
    let outcome = handle.outcome().await;
    assert_eq!(outcome.attempts(), 4, "{outcome:?}");
    assert!(matches!(
        outcome,
        DispatchOutcome::Failed {
            last: AttemptResult::Network(_),
            ..
        }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_body_cut_short_after_a_200_is_delivered_and_reported() {
    // The status line decides; the body that broke off only goes into the report.
    let addr = raw_server(
        b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\nonly a little",
    )
    .await;
    let dispatcher = local().build().unwrap();
    let mut reports = dispatcher.subscribe();
    let url = format!("http://{addr}/hook");
    let handle = dispatcher
        .submit(&url, event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    let outcome = handle.outcome().await;
    assert_eq!(
        outcome,
        DispatchOutcome::Delivered {
            attempts: 1,
            status: 200
        }
    );
    let first = reports_of(&mut reports, id).await.remove(0);
    assert_eq!(first.status, Some(200));
    assert_eq!(first.result, Some(AttemptResult::status(200)));
    let error = first.error.unwrap();
    assert!(
        error.contains("reading the response body failed"),
        "{error}"
    );
    assert_eq!(first.body_excerpt, "only a little");
}

#[tokio::test(start_paused = true)]
async fn https_with_a_test_ca_trusted_as_a_custom_root() {
    let ca = TestCa::new();
    let receiver = Receiver::start_tls(vec![Reply::status(503), Reply::status(200)], &ca).await;
    let dispatcher = support::local_tls(&ca)
        .lookup(StaticLookup::new().with("localhost", [LOCALHOST]))
        .build()
        .unwrap();
    // By IP literal (the certificate carries 127.0.0.1) and by name.
    for url in [receiver.url(), receiver.url_with_host("localhost")] {
        assert!(url.starts_with("https://"));
        let handle = dispatcher
            .submit(&url, event(), RetryPolicy::tinyfish())
            .unwrap();
        assert!(handle.outcome().await.is_delivered(), "{url}");
    }
    assert_eq!(receiver.count(), 3);
}

#[tokio::test(start_paused = true)]
async fn https_to_an_untrusted_certificate_is_a_tls_error() {
    let ca = TestCa::new();
    let receiver = Receiver::start_tls(vec![Reply::status(200)], &ca).await;
    let other_ca = TestCa::new();
    let dispatcher = support::local_tls(&other_ca).build().unwrap();
    let mut reports = dispatcher.subscribe();
    let handle = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let id = handle.id();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Failed {
            attempts: 4,
            last: AttemptResult::Network(NetworkErrorKind::Tls)
        }
    );
    let error = reports_of(&mut reports, id).await.remove(0).error.unwrap();
    assert!(error.contains("certificate"), "{error}");
    assert_eq!(receiver.count(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_slow_tls_handshake_counts_against_the_deadline() {
    // A server that accepts TCP and never speaks: the handshake never completes.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let dispatcher = local().build().unwrap();
    let policy = RetryPolicy::builder()
        .attempts(1)
        .schedule([])
        .attempt_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let started = tokio::time::Instant::now();
    let handle = dispatcher
        .submit(&format!("https://{addr}/hook"), event(), policy)
        .unwrap();
    assert_eq!(
        handle.outcome().await,
        DispatchOutcome::Failed {
            attempts: 1,
            last: AttemptResult::Timeout
        }
    );
    support::assert_about(started.elapsed(), Duration::from_secs(3));
}

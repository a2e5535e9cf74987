//! The one-attempt `Sender` on its own (headers, body cap, one deadline, error kinds, address
//! rules checked without connecting) and the dispatcher's bound on held deliveries
//! (`max_pending`). Every server is on 127.0.0.1.

use crate::support;

use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderName, HeaderValue};
use runhook::delivery::{AttemptResult, NetworkErrorKind};
use runhook::{AddressPolicy, RetryPolicy};
use runhook_dispatch::{
    DispatchOutcome, SendError, Sender, StaticLookup, SubmitError, TargetError,
};
use support::{Receiver, Reply, closed_port, event, ip, local};

const LOCAL: AddressPolicy = AddressPolicy {
    allow_loopback: true,
    allow_private: false,
};

fn sender() -> Sender {
    Sender::builder().address_policy(LOCAL).build().unwrap()
}

#[tokio::test]
async fn one_post_carries_its_headers_and_reads_the_answer_up_to_the_cap() {
    let receiver = Receiver::start(vec![
        Reply::status(503)
            .header("retry-after", "7")
            .body(vec![b'x'; 100]),
    ])
    .await;
    let sender = Sender::builder()
        .address_policy(LOCAL)
        .body_limit(10)
        .build()
        .unwrap();
    let target = sender.target(&receiver.url()).unwrap();
    let exchange = sender
        .post(&target, event())
        .header(
            HeaderName::from_static("idempotency-key"),
            HeaderValue::from_static("run-2"),
        )
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert_eq!(exchange.status, Some(503));
    assert_eq!(exchange.retry_after, Some(Duration::from_secs(7)));
    assert_eq!(exchange.body, Bytes::from(vec![b'x'; 10]));
    assert!(exchange.body_truncated);
    assert_eq!(exchange.error, None);
    assert_eq!(
        exchange.result(),
        Ok(AttemptResult::Response {
            status: 503,
            retry_after: Some(Duration::from_secs(7))
        })
    );
    let request = receiver.received().remove(0);
    assert_eq!(request.headers["idempotency-key"], "run-2");
    assert_eq!(request.headers["content-type"], "application/json");
    assert_eq!(request.body, event());
}

#[tokio::test(start_paused = true)]
async fn one_deadline_covers_the_head_and_the_body() {
    let silent = Receiver::start(vec![Reply::status(200).delay(Duration::from_secs(60))]).await;
    let sender = sender();
    let target = sender.target(&silent.url()).unwrap();
    let exchange = sender
        .post(&target, event())
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert_eq!(exchange.status, None);
    assert_eq!(exchange.error, Some(SendError::Timeout));
    assert_eq!(exchange.result(), Ok(AttemptResult::Timeout));
    assert_eq!(exchange.latency, Duration::from_secs(2));

    let slow_body = Receiver::start(vec![
        Reply::status(400)
            .body(vec![b'y'; 64])
            .slow_body(Duration::from_secs(60)),
    ])
    .await;
    let target = sender.target(&slow_body.url()).unwrap();
    let exchange = sender
        .post(&target, event())
        .timeout(Duration::from_secs(2))
        .send()
        .await;
    assert_eq!(exchange.status, Some(400), "the status decides");
    assert_eq!(exchange.error, Some(SendError::BodyTimeout));
    assert_eq!(exchange.result(), Ok(AttemptResult::status(400)));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let addr = closed_port().await;
    let sender = sender();
    let target = sender.target(&format!("http://{addr}/hook")).unwrap();
    let exchange = sender.post(&target, event()).send().await;
    assert_eq!(exchange.status, None);
    let error = exchange.error.clone().unwrap();
    assert_eq!(error.kind(), NetworkErrorKind::Connect, "{error:?}");
    assert_eq!(
        exchange.result(),
        Ok(AttemptResult::Network(NetworkErrorKind::Connect))
    );
}

/// Refusals are decided before any connection: an IP literal by `target`, a name by the
/// resolver after DNS (here a static table that maps it to a private address).
#[tokio::test]
async fn forbidden_addresses_are_refused_without_connecting() {
    let sender = Sender::builder()
        .address_policy(LOCAL)
        .lookup(StaticLookup::new().with("private.test", [ip("10.0.0.1")]))
        .build()
        .unwrap();
    for url in [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest",
        "http://192.168.1.1/hook",
    ] {
        let refused = sender.target(url).unwrap_err();
        assert!(
            matches!(refused, TargetError::Refused(_) | TargetError::Url(_)),
            "{url}: {refused:?}"
        );
    }
    let target = sender.target("https://private.test/hook").unwrap();
    let exchange = sender.post(&target, event()).send().await;
    assert_eq!(exchange.status, None);
    let Some(SendError::Refused(refused)) = &exchange.error else {
        panic!("{:?}", exchange.error);
    };
    assert_eq!(refused.host(), Some("private.test"));
    assert_eq!(refused.addresses()[0].0, ip("10.0.0.1"));
    assert!(exchange.result().is_err(), "a refusal is not retried");
}

#[tokio::test(start_paused = true)]
async fn beyond_max_pending_submit_is_refused_until_a_delivery_ends() {
    let receiver = Receiver::start(vec![
        Reply::status(200).delay(Duration::from_secs(1)),
        Reply::status(200).delay(Duration::from_secs(5)),
    ])
    .await;
    let dispatcher = local().max_pending(2).build().unwrap();
    let first = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    let second = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    assert_eq!(dispatcher.pending(), 2);
    let full = dispatcher.submit(&receiver.url(), event(), RetryPolicy::tinyfish());
    assert_eq!(full.unwrap_err(), SubmitError::Full { limit: 2 });
    assert!(
        SubmitError::Full { limit: 2 }
            .to_string()
            .contains("max_pending")
    );
    assert!(first.outcome().await.is_delivered());
    // The place is given back when the delivery ends.
    assert_eq!(dispatcher.pending(), 1);
    let third = dispatcher
        .submit(&receiver.url(), event(), RetryPolicy::tinyfish())
        .unwrap();
    assert!(second.outcome().await.is_delivered());
    assert_eq!(
        third.outcome().await,
        DispatchOutcome::Delivered {
            attempts: 1,
            status: 200
        }
    );
    assert_eq!(dispatcher.pending(), 0);
    assert!(local().max_pending(0).build().is_err());
}

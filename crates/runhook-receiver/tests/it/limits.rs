//! The body budget and the body timeout: stalled and slow bodies cannot exhaust a receiver.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, stream};
use http::header::{CONNECTION, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, Method, Uri};
use http_body::Frame;
use http_body_util::{Full, StreamBody};
use runhook::HandlerOutcome;
use runhook_receiver::{BodyBudget, Receiver, ReceiverConfig, WebhookResponse, handler_fn};
use serde_json::Value;
use tokio::time::Instant;

fn headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers
}

fn webhook(run_id: &str) -> Bytes {
    Bytes::from(format!(
        r#"{{"event":"run.completed","run_id":"{run_id}","status":"COMPLETED","data":{{}}}}"#
    ))
}

/// A body that sends `first` and then never another byte.
fn stalled(
    first: Bytes,
) -> StreamBody<impl futures::Stream<Item = Result<Frame<Bytes>, Infallible>>> {
    StreamBody::new(stream::iter([Ok(Frame::data(first))]).chain(stream::pending()))
}

fn receiver(budget: &BodyBudget) -> Receiver {
    Receiver::builder(handler_fn(|_event| async { HandlerOutcome::Ok }))
        .config(
            ReceiverConfig::default()
                .with_body_budget(budget.clone())
                .with_max_body_bytes(4096),
        )
        .build()
        .unwrap()
}

fn outcome(response: &WebhookResponse) -> String {
    let body: Value = serde_json::from_slice(&response.body).unwrap();
    body["outcome"].as_str().unwrap().to_owned()
}

#[tokio::test(start_paused = true)]
async fn stalled_bodies_fill_the_budget_but_a_whole_webhook_still_gets_through() {
    let budget = BodyBudget::new(8192); // a reserve of 1024 for completing chunks
    let receiver = receiver(&budget);
    let uri = Uri::from_static("/webhooks/tinyfish");
    // Two stalled bodies of 4000 bytes hold nearly all of the budget.
    let mut stalls = Vec::new();
    for _ in 0..2 {
        let receiver = receiver.clone();
        let uri = uri.clone();
        stalls.push(tokio::spawn(async move {
            receiver
                .receive_body(
                    &Method::POST,
                    &uri,
                    &headers(),
                    stalled(Bytes::from(vec![b' '; 4000])),
                )
                .await
        }));
    }
    tokio::task::yield_now().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(budget.used(), 8000);

    // A third incomplete body would exceed the budget: 503 + Retry-After, connection closed.
    let third = receiver
        .receive_body(
            &Method::POST,
            &uri,
            &headers(),
            stalled(Bytes::from(vec![b' '; 500])),
        )
        .await;
    assert_eq!(third.status, 503);
    assert_eq!(third.headers[RETRY_AFTER], "1");
    assert_eq!(third.headers[CONNECTION], "close");
    assert_eq!(outcome(&third), "body_unread");
    assert_eq!(budget.used(), 8000, "the refused body gave its bytes back");

    // A webhook that arrives whole completes in one chunk: it may use the reserve.
    let whole = receiver
        .receive_body(&Method::POST, &uri, &headers(), Full::new(webhook("r1")))
        .await;
    assert_eq!(whole.status, 200, "{:?}", whole.body);
    assert_eq!(
        budget.used(),
        8000,
        "its bytes were given back once answered"
    );

    // The stalled bodies time out at the body timeout (10 s): 503, connection closed.
    let started = Instant::now();
    for stall in stalls {
        let response = stall.await.unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(response.headers[CONNECTION], "close");
        assert_eq!(outcome(&response), "body_unread");
    }
    assert!(started.elapsed() <= ReceiverConfig::DEFAULT_BODY_TIMEOUT);
    assert_eq!(budget.used(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_body_slower_than_the_body_timeout_gets_503_and_a_closed_connection() {
    let budget = BodyBudget::new(8192);
    let receiver = Receiver::builder(handler_fn(|_event| async { HandlerOutcome::Ok }))
        .config(
            ReceiverConfig::default()
                .with_body_budget(budget.clone())
                .with_max_body_bytes(4096)
                .with_body_timeout(Duration::from_secs(3)),
        )
        .build()
        .unwrap();
    // One byte a second: never complete within 3 s.
    let trickle = StreamBody::new(stream::unfold(0u32, |n| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        Some((
            Ok::<_, Infallible>(Frame::data(Bytes::from_static(b" "))),
            n + 1,
        ))
    }));
    let started = Instant::now();
    let response = receiver
        .receive_body(&Method::POST, &Uri::from_static("/"), &headers(), trickle)
        .await;
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    assert_eq!(response.status, 503);
    assert_eq!(response.headers[CONNECTION], "close");
    assert_eq!(budget.used(), 0);
}

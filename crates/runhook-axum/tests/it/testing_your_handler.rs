//! The "Testing your handler" recipes (docs/testing.md), for axum: the receiver alone, and the
//! whole route in-process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use axum::body::Body;
use http_body_util::BodyExt;
use runhook::{Event, Run, RunId, RunStatus};
use runhook_axum::{HandlerOutcome, Handlers, Receiver, webhook_route};
use runhook_receiver::testing::{post_bytes, post_event, webhook_request};
use tower::ServiceExt;

fn completed(run_id: &str) -> Event {
    Event::from_run(Run::new(RunId::new(run_id).unwrap(), RunStatus::Completed)).unwrap()
}

fn receiver() -> Receiver {
    Receiver::new(
        Handlers::new()
            .on_completed(|_run| async { HandlerOutcome::Ok })
            .on_failed(|_run| async { HandlerOutcome::retry("not yet") }),
    )
}

#[tokio::test]
async fn the_receiver_alone() {
    let receiver = receiver();
    let answer = post_event(&receiver, &completed("r1")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.outcome().as_deref(), Some("accepted"));
    assert_eq!(
        post_event(&receiver, &completed("r1"))
            .await
            .outcome()
            .as_deref(),
        Some("duplicate")
    );
    let drifted = br#"{"event":"run.completed","run_id":"r2","status":"COMPLETED","data":{"num_of_steps":"2"}}"#;
    assert_eq!(post_bytes(&receiver, &drifted[..]).await.status, 200);
    assert_eq!(post_bytes(&receiver, &b"not json"[..]).await.status, 400);
}

#[tokio::test]
async fn the_whole_route_in_process() {
    let app = axum::Router::new().route("/webhooks/tinyfish", webhook_route(receiver()));
    let request = webhook_request(completed("r3").to_vec().unwrap()).map(Body::from);
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["outcome"], "accepted");
}

//! The "Testing your handler" recipe (docs/testing.md) for warp: the whole route in-process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use runhook::{Event, Run, RunId, RunStatus};
use runhook_warp::{HandlerOutcome, Handlers, Receiver, webhook_route};
use warp::Filter;

#[tokio::test]
async fn the_whole_route_in_process() {
    let receiver = Receiver::new(Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok }));
    let route = warp::path!("webhooks" / "tinyfish").and(webhook_route(receiver));
    let event = Event::from_run(Run::new(RunId::new("r1").unwrap(), RunStatus::Completed)).unwrap();
    let response = warp::test::request()
        .method("POST")
        .path("/webhooks/tinyfish")
        .header("content-type", "application/json")
        .body(event.to_vec().unwrap())
        .reply(&route)
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["outcome"], "accepted");
}

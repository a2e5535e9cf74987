//! The "Testing your handler" recipe (docs/testing.md) for poem: the whole route in-process.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use poem::Route;
use poem::test::TestClient;
use runhook::{Event, Run, RunId, RunStatus};
use runhook_poem::{HandlerOutcome, Handlers, Receiver, webhook_route};

#[tokio::test]
async fn the_whole_route_in_process() {
    let receiver = Receiver::new(Handlers::new().on_completed(|_run| async { HandlerOutcome::Ok }));
    let app = Route::new().at("/webhooks/tinyfish", webhook_route(receiver));
    let event = Event::from_run(Run::new(RunId::new("r1").unwrap(), RunStatus::Completed)).unwrap();
    let response = TestClient::new(app)
        .post("/webhooks/tinyfish")
        .content_type("application/json")
        .body(event.to_vec().unwrap())
        .send()
        .await;
    response.assert_status_is_ok();
    response
        .assert_json(serde_json::json!({
            "event": "run.completed",
            "outcome": "accepted",
            "reason": "processed",
            "run_id": "r1"
        }))
        .await;
}

#[tokio::test]
async fn handlers_reach_the_path_parameters() {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
    let record = std::sync::Arc::clone(&seen);
    let receiver = Receiver::new(Handlers::new().on_completed(move |run| {
        let record = std::sync::Arc::clone(&record);
        async move {
            *record.lock().unwrap() = run.context().path_param("tenant").map(str::to_owned);
            HandlerOutcome::Ok
        }
    }));
    let app = Route::new().at("/webhooks/tinyfish/:tenant", webhook_route(receiver));
    let event = Event::from_run(Run::new(RunId::new("r2").unwrap(), RunStatus::Completed)).unwrap();
    TestClient::new(app)
        .post("/webhooks/tinyfish/acme")
        .content_type("application/json")
        .body(event.to_vec().unwrap())
        .send()
        .await
        .assert_status_is_ok();
    assert_eq!(seen.lock().unwrap().as_deref(), Some("acme"));
}

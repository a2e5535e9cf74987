//! The handler's context in axum: path parameters and the application's state, over real HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::{Arc, Mutex};

use axum::extract::FromRef;
use runhook_axum::{HandlerOutcome, Handlers, Receiver, webhook_route_with_state};

#[derive(Clone)]
struct AppState {
    receiver: Receiver,
    seen: Arc<Mutex<Vec<String>>>,
}

impl FromRef<AppState> for Receiver {
    fn from_ref(state: &AppState) -> Receiver {
        state.receiver.clone()
    }
}

#[tokio::test]
async fn handlers_reach_the_path_parameters_and_the_state() {
    let handlers = Handlers::new().on_completed(|run| async move {
        let state = run
            .context()
            .state::<AppState>()
            .expect("the state is in the context");
        let tenant = run
            .context()
            .path_param("tenant")
            .unwrap_or("none")
            .to_owned();
        state
            .seen
            .lock()
            .unwrap()
            .push(format!("{} for {tenant}", run.run_id));
        HandlerOutcome::Ok
    });
    let state = AppState {
        receiver: Receiver::new(handlers),
        seen: Arc::default(),
    };
    let seen = Arc::clone(&state.seen);
    let app: axum::Router = axum::Router::new()
        .route("/webhooks/tinyfish/{tenant}", webhook_route_with_state())
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let status = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("http://{addr}/webhooks/tinyfish/acme"))
        .header("content-type", "application/json")
        .body(r#"{"event":"run.completed","run_id":"r1","status":"COMPLETED","data":{}}"#)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    assert_eq!(*seen.lock().unwrap(), ["r1 for acme"]);
}

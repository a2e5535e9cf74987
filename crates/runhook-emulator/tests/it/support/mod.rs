//! Helpers for the emulator's tests: an emulator on 127.0.0.1:0, a client, and a webhook
//! receiver that records what arrives.

#![allow(dead_code, unreachable_pub, missing_docs)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use runhook_emulator::{Activity, Emulator, EmulatorConfig};
use serde_json::{Value, json};

pub const KEY: &str = "sk-test";

/// How long to wait for something that should happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// An emulator running 100 times faster than scripted, accepting loopback webhooks.
pub async fn start() -> Emulator {
    start_with(config()).await
}

pub fn config() -> EmulatorConfig {
    EmulatorConfig::new([KEY])
        .allow_http_loopback(true)
        .speed(100.0)
}

pub async fn start_with(config: EmulatorConfig) -> Emulator {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Emulator::start(config, listener).await.unwrap()
}

/// An emulator whose observer lines are collected.
pub async fn start_observed(config: EmulatorConfig) -> (Emulator, Arc<Mutex<Vec<Activity>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let emulator = start_with(config.observer(move |activity| {
        sink.lock().unwrap().push(activity.clone());
    }))
    .await;
    (emulator, seen)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// POSTs `body` as JSON with the test key: (status, JSON body).
pub async fn post(emulator: &Emulator, path: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(format!("{}{path}", emulator.base_url()))
        .header("x-api-key", KEY)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// GETs `path` with the test key: (status, JSON body).
pub async fn get(emulator: &Emulator, path: &str) -> (u16, Value) {
    let response = client()
        .get(format!("{}{path}", emulator.base_url()))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// Starts a run with `/run-async`: its id.
pub async fn queue(emulator: &Emulator, goal: &str, extra: Value) -> String {
    let mut body = json!({"url": "https://example.com", "goal": goal});
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    let (status, answer) = post(emulator, "/v1/automation/run-async", body).await;
    assert_eq!(status, 200, "{answer}");
    answer["run_id"].as_str().unwrap().to_owned()
}

/// Polls `GET /v1/runs/{id}` until `done` holds for the run object.
pub async fn wait_run(emulator: &Emulator, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, run) = get(emulator, &format!("/v1/runs/{id}")).await;
        assert_eq!(status, 200, "{run}");
        if done(&run) {
            return run;
        }
        assert!(Instant::now() < deadline, "run never got there: {run}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the run is finished.
pub async fn finished(emulator: &Emulator, id: &str) -> Value {
    wait_run(emulator, id, |run| {
        matches!(
            run["status"].as_str(),
            Some("COMPLETED" | "FAILED" | "CANCELLED")
        )
    })
    .await
}

/// Polls `GET /_emulator/deliveries` until `done` holds for the list.
pub async fn wait_deliveries(emulator: &Emulator, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let response = client()
            .get(format!("{}/_emulator/deliveries", emulator.base_url()))
            .header("x-api-key", KEY)
            .send()
            .await
            .unwrap();
        let list: Vec<Value> = response.json().await.unwrap();
        if done(&list) {
            return list;
        }
        assert!(
            Instant::now() < deadline,
            "deliveries never got there: {list:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A webhook receiver on 127.0.0.1: records each body, answers the scripted statuses in order
/// (the last repeats).
pub struct Receiver {
    pub url: String,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    pub async fn start(statuses: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let statuses = Arc::new(statuses.to_vec());
        let recorded = Arc::clone(&bodies);
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |body: axum::body::Bytes| {
                let recorded = Arc::clone(&recorded);
                let statuses = Arc::clone(&statuses);
                async move {
                    let mut bodies = recorded.lock().unwrap();
                    bodies.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                    let status = statuses[(bodies.len() - 1).min(statuses.len() - 1)];
                    axum::http::StatusCode::from_u16(status).unwrap()
                }
            }),
        );
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver { url, bodies }
    }

    pub fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    /// Waits until `count` bodies have arrived.
    pub async fn wait_for(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let bodies = self.bodies();
            if bodies.len() >= count {
                return bodies;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} arrived",
                bodies.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

//! What the console's tests share: a server on 127.0.0.1, a client, an inbox with rows.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Router;
use runhook::inbox::{Inbox, MemoryInbox, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;

/// Serves `router` on a free port of 127.0.0.1; its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    format!("http://{address}")
}

/// A client that does not follow redirects (the tests look at them).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The CSRF token of the first form of `html`.
pub fn csrf(html: &str) -> String {
    let start = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a csrf field")
        + "name=\"csrf\" value=\"".len();
    html[start..start + 64].to_owned()
}

/// A run event body.
pub fn body(run_id: &str, goal: &str) -> Vec<u8> {
    serde_json::json!({
        "event": "run.completed",
        "run_id": run_id,
        "status": "COMPLETED",
        "data": { "goal": goal, "result": { "title": "ok" } }
    })
    .to_string()
    .into_bytes()
}

/// Inserts a pending row of `key` (run `run_id`, event `event`) received at `at`.
pub async fn insert(inbox: &MemoryInbox, key: &str, run_id: &str, event: &str, at: SystemTime) {
    let entry = NewInboxEntry::new(IdempotencyKey::new(key), event, at, body(run_id, "goal"))
        .with_run_id(run_id);
    inbox.insert(entry, at).await.unwrap();
}

/// A short while ago: rows are received before the console's `now`.
pub fn ago(seconds: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(seconds)
}

/// Claims every due row, then settles the row of each key as given.
pub async fn settle_all(inbox: &MemoryInbox, settle: &[(&str, Settlement)]) {
    let now = SystemTime::now();
    let claims = inbox
        .claim_due(now, Duration::from_secs(30), 1_000)
        .await
        .unwrap();
    for claim in claims {
        let settlement = settle
            .iter()
            .find(|(key, _)| *key == claim.entry.key.as_str())
            .map(|(_, settlement)| settlement.clone())
            .expect("every claimed row is settled");
        inbox
            .settle(&claim.entry.key, claim.token, now, settlement)
            .await
            .unwrap();
    }
}

/// An inbox with one row of each state: keys (and run ids) `k-pending`, `k-retrying`,
/// `k-done`, `k-dead`.
pub async fn four_states() -> Arc<MemoryInbox> {
    let inbox = Arc::new(MemoryInbox::new());
    for (i, key) in ["k-retrying", "k-done", "k-dead"].into_iter().enumerate() {
        insert(&inbox, key, key, "run.completed", ago(100 - i as u64)).await;
    }
    let later = SystemTime::now() + Duration::from_secs(3_600);
    settle_all(
        &inbox,
        &[
            (
                "k-retrying",
                Settlement::Retry {
                    at: later,
                    error: "app answered 500".into(),
                },
            ),
            ("k-done", Settlement::Done),
            (
                "k-dead",
                Settlement::Dead {
                    error: "app answered 400".into(),
                },
            ),
        ],
    )
    .await;
    insert(&inbox, "k-pending", "k-pending", "run.completed", ago(10)).await;
    inbox
}

/// The state of the row of `key`, as a console shows it.
pub async fn state(inbox: &MemoryInbox, key: &str) -> Option<&'static str> {
    inbox
        .get(&IdempotencyKey::new(key))
        .await
        .unwrap()
        .map(|entry| entry.row_state().as_str())
}

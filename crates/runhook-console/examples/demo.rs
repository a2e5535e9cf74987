//! A console over an in-memory inbox holding a few sample events, on 127.0.0.1:8099 (or the
//! address given as the first argument): `cargo run -p runhook-console --example demo`.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use runhook::inbox::{Inbox, MemoryInbox, NewInboxEntry, Settlement};
use runhook::store::IdempotencyKey;
use runhook_console::Console;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".to_owned());
    let inbox = Arc::new(MemoryInbox::new());
    let now = SystemTime::now();
    for i in 0..12u64 {
        let run_id = format!("run-{i:02}");
        let (event, status) = if i % 4 == 3 {
            ("run.failed", "FAILED")
        } else {
            ("run.completed", "COMPLETED")
        };
        let body = serde_json::json!({
            "event": event, "run_id": run_id, "status": status,
            "data": {
                "goal": format!("Find the price of item {i} <b>now</b>"),
                "result": { "price": i * 10, "currency": "EUR" },
                "steps": [{ "id": "evt_1", "timestamp": "2026-03-25T10:30:00Z",
                            "status": status, "action": "Navigate to https://example.com",
                            "duration": "1.2s" }],
                "error": if i % 4 == 3 { serde_json::json!({ "message": "Site blocked access", "category": "AGENT_FAILURE" }) } else { serde_json::Value::Null }
            }
        });
        let at = now - Duration::from_secs(60 * (12 - i) * 4);
        let entry = NewInboxEntry::new(
            IdempotencyKey::new(run_id.as_str()),
            event,
            at,
            body.to_string(),
        )
        .with_run_id(run_id);
        inbox.insert(entry, at).await?;
    }
    let claims = inbox.claim_due(now, Duration::from_secs(30), 9).await?;
    for (i, claim) in claims.iter().enumerate() {
        let settlement = match i % 3 {
            0 => Settlement::Done,
            1 => Settlement::Dead {
                error: "the app answered 422: unknown product".into(),
            },
            _ => Settlement::Retry {
                at: now + Duration::from_secs(300),
                error: "the app answered 503".into(),
            },
        };
        inbox
            .settle(&claim.entry.key, claim.token, now, settlement)
            .await?;
    }
    let listener = tokio::net::TcpListener::bind(&address).await?;
    println!("console on http://{address}/");
    axum::serve(listener, Console::over_inbox(inbox).router()).await?;
    Ok(())
}

//! Forward each completed run's result (product name and price) to a Slack incoming webhook.
//!
//! ```sh
//! SLACK_WEBHOOK_URL=https://hooks.slack.com/services/... \
//!     cargo run -p runhook-poem --example poem_slack
//! # then create TinyFish runs with webhook_url = https://<your public host>/webhooks/tinyfish,
//! # or try it locally:
//! runhook trigger run.completed --to http://127.0.0.1:8080/webhooks/tinyfish --insecure-localhost
//! ```
//!
//! Without `SLACK_WEBHOOK_URL` the message is logged instead of posted. A failed run is logged
//! with its error category, a cancelled run noted. If Slack cannot be reached the handler asks
//! for a retry (503): the run is released in the store and TinyFish's next attempt posts it;
//! once posted, redeliveries are answered 200 without posting twice.

#![allow(clippy::unwrap_used, clippy::expect_used)] // an example: setup failures may panic

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use poem::listener::TcpListener;
use poem::{Route, Server};
use runhook_poem::{HandlerOutcome, Handlers, Receiver, RunEvent, webhook_route};
use serde_json::{Map, Value, json};

/// Where the messages go: a Slack-compatible incoming-webhook URL, or the log.
struct Slack {
    client: reqwest::Client,
    url: Option<String>,
}

impl Slack {
    fn from_env() -> anyhow::Result<Slack> {
        let client = reqwest::Client::builder()
            // Inside the receiver's 8 s deadline, so a slow Slack becomes a retry, not a timeout.
            .timeout(Duration::from_secs(5))
            .build()
            .context("cannot build the HTTP client")?;
        let url = std::env::var("SLACK_WEBHOOK_URL")
            .ok()
            .filter(|url| !url.is_empty());
        if url.is_none() {
            tracing::warn!("SLACK_WEBHOOK_URL is not set: messages are logged, not posted");
        }
        Ok(Slack { client, url })
    }

    /// Posts `text`; an error asks TinyFish to deliver the event again.
    async fn post(&self, text: &str) -> Result<(), String> {
        let Some(url) = &self.url else {
            tracing::info!(message = text, "would post to Slack");
            return Ok(());
        };
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(json!({ "text": text }).to_string())
            .send()
            .await
            .map_err(|error| format!("Slack could not be reached: {error}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("Slack answered {status}"))
        }
    }
}

/// The Slack message for a completed run: product name and price, or what the agent returned.
fn message(run: &RunEvent) -> String {
    let empty = Map::new();
    let result = run.data.result.value().unwrap_or(&empty);
    let text = |key: &str| match result.get(key) {
        Some(Value::String(text)) => Some(text.clone()),
        Some(Value::Number(number)) => Some(number.to_string()),
        _ => None,
    };
    // COMPLETED means the browser ran, not that the goal succeeded.
    if result.get("status").and_then(Value::as_str) == Some("failure") {
        let reason = text("reason").unwrap_or_else(|| "no reason given".to_owned());
        return format!("Run {} completed without the product: {reason}", run.run_id);
    }
    match (text("product_name"), text("price")) {
        (Some(name), Some(price)) => format!("{name}: {price} (run {})", run.run_id),
        _ => format!(
            "Run {} completed: {}",
            run.run_id,
            Value::Object(result.clone())
        ),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let slack = Arc::new(Slack::from_env()?);

    let router = Handlers::new()
        .on_completed(move |run| {
            let slack = Arc::clone(&slack);
            async move { slack.post(&message(&run)).await }
        })
        .on_failed(|run| async move {
            let error = run.data.error.value();
            let category = error
                .and_then(|error| error.category.value())
                .map_or("none", |category| category.as_str());
            let message = error.map_or("no error object", |error| error.message.as_str());
            tracing::warn!(run_id = %run.run_id, category, message, "run failed");
            HandlerOutcome::Ok
        })
        .on_cancelled(|run| async move {
            tracing::info!(run_id = %run.run_id, "run cancelled");
            HandlerOutcome::Ok
        });

    let app = Route::new().at("/webhooks/tinyfish", webhook_route(Receiver::new(router)));
    tracing::info!("listening on http://127.0.0.1:8080/webhooks/tinyfish");
    Server::new(TcpListener::bind("127.0.0.1:8080"))
        .run(app)
        .await?;
    Ok(())
}

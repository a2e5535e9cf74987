//! Two steps of the demo: forging POSTs the receiver must refuse, and waiting (with a progress
//! line) until every run has finished and every webhook has been delivered and processed.

use std::collections::HashMap;
use std::time::Duration;

use anyhow::Context;
use http::HeaderValue;
use http::header::CONTENT_TYPE;
use runhook::RunId;
use runhook::endpoint::AddressPolicy;
use runhook_dispatch::Sender;
use runhook_emulator::Emulator;
use runhook_tinyfish::Client;

use super::observed::{Forged, Observed, Path};
use super::timeline::Timeline;
use crate::commands::trigger::{EventName, build};

/// POSTs a realistic `run.completed` for a run the API does not know, once without the URL
/// token and once with it: both must be refused 401 (no token; the API does not know the run).
pub(super) async fn forge(
    timeline: &Timeline,
    seen: &Observed,
    url: &str,
    token: &str,
    pem: &str,
) -> anyhow::Result<()> {
    // The library's one-attempt sender, trusting the receiver's self-signed certificate and
    // allowed to reach it on loopback.
    let sender = Sender::builder()
        .address_policy(AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        })
        .add_root_certificates_pem(pem.as_bytes())
        .context("cannot read the receiver's certificate")?
        .built_in_roots(false)
        .build()
        .context("cannot build the forging client")?;
    let with_token = format!("{url}?token={token}");
    let attempts: [(&'static str, &str, &str); 2] = [
        ("no token", url, "without the URL token"),
        (
            "unknown run",
            &with_token,
            "with the token, for a run the API does not know",
        ),
    ];
    for (label, target, what) in attempts {
        let run_id = uuid::Uuid::new_v4().to_string();
        let body = build(
            EventName::Completed,
            &run_id,
            time::OffsetDateTime::now_utc(),
        )?;
        let target = sender
            .target(target)
            .with_context(|| format!("cannot POST to the receiver at {url}"))?;
        let exchange = sender
            .post(&target, body.into())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        let status = match (exchange.status, exchange.error) {
            (Some(status), _) => Ok(status),
            (None, Some(error)) => Err(error.to_string()),
            (None, None) => Err("no answer".to_owned()),
        };
        let answer = match &status {
            Ok(status) => status.to_string(),
            Err(error) => format!("no answer ({error})"),
        };
        timeline.line(&format!("forged    POST run.completed {what} -> {answer}"));
        seen.forged(Forged {
            label,
            status,
            at: timeline.elapsed(),
        });
    }
    Ok(())
}

/// Whether `status` is a terminal run status.
fn terminal(status: &str) -> bool {
    matches!(status, "COMPLETED" | "FAILED" | "CANCELLED")
}

/// Waits until every run has finished, every webhook has been delivered (the duplicate sent
/// too) and processed, or [`super::PATIENCE`] has passed; the runs' last statuses by id.
pub(super) async fn wait(
    timeline: &Timeline,
    client: &Client,
    emulator: &Emulator,
    seen: &Observed,
    runs: &[(Path, RunId)],
) -> HashMap<String, String> {
    let mut statuses: HashMap<String, String> = HashMap::new();
    let deadline = tokio::time::Instant::now() + super::PATIENCE;
    loop {
        for (_, run_id) in runs {
            if statuses.get(run_id.as_ref()).is_some_and(|s| terminal(s)) {
                continue;
            }
            if let Ok(run) = client.get_run(run_id).await
                && let Some(status) = run.status
            {
                statuses.insert(run_id.to_string(), status.as_str().to_owned());
            }
        }
        let log = emulator.deliveries();
        let finished = statuses.values().filter(|s| terminal(s)).count();
        let delivered = runs
            .iter()
            .filter(|(path, run_id)| {
                let records = || log.iter().filter(|r| r.run_id == run_id.as_ref());
                let done = records().any(|r| r.outcome.is_some());
                let duplicated = *path != Path::Duplicate
                    || records().any(|r| r.fault.as_deref() == Some("duplicate"));
                done && duplicated
            })
            .count();
        let processed = runs
            .iter()
            .filter(|(_, run_id)| !seen.processed_of(run_id.as_ref()).is_empty())
            .count();
        let total = runs.len();
        timeline.progress(&format!(
            "{finished}/{total} runs finished, {delivered}/{total} webhooks delivered, \
             {processed}/{total} processed"
        ));
        let done = finished == total && delivered == total && processed == total;
        if done || tokio::time::Instant::now() >= deadline {
            // A moment for anything that should not happen (a second processing) to show.
            tokio::time::sleep(Duration::from_millis(300)).await;
            return statuses;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

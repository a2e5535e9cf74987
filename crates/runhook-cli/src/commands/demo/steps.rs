//! Two steps of the demo: forging POSTs the receiver must refuse, and waiting (with a progress
//! line) until every run has finished, every webhook has been delivered or given up, and every
//! run has been processed (a recovered one after the reconciler's sweep).

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

/// What [`wait`] waits for, besides every run finished and every webhook delivered (the
/// duplicate sent too) or given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Until {
    /// Every delivered webhook processed: the reconciler has not swept yet.
    Webhooks,
    /// Every run processed, the recovered ones too.
    Recovered,
}

/// Waits, with a progress line, for the runs of the demo; keeps their last statuses.
pub(super) struct Waiter<'a> {
    /// Where the progress line goes.
    pub(super) timeline: &'a Timeline,
    /// The runs client, to read the statuses.
    pub(super) client: &'a Client,
    /// The emulator, for its delivery log.
    pub(super) emulator: &'a Emulator,
    /// What the handler processed.
    pub(super) seen: &'a Observed,
    /// The runs.
    pub(super) runs: &'a [(Path, RunId)],
    /// When to stop waiting, done or not.
    pub(super) deadline: tokio::time::Instant,
    /// The runs' last statuses by id.
    pub(super) statuses: HashMap<String, String>,
}

impl Waiter<'_> {
    /// Waits until what `until` names is done or the deadline has passed; after
    /// [`Until::Recovered`], a moment more for what should not happen (a second processing) to
    /// show.
    pub(super) async fn wait(&mut self, until: Until) {
        loop {
            self.read_statuses().await;
            let log = self.emulator.deliveries();
            let runs = self.runs;
            let finished = self.statuses.values().filter(|s| terminal(s)).count();
            // Whether the delivery of `run_id` ended: delivered (and duplicated) or given up.
            let ended = |path: Path, run_id: &RunId| {
                let records = || log.iter().filter(|r| r.run_id == run_id.as_ref());
                let done = records().any(|r| r.outcome.is_some());
                let duplicated = path != Path::Duplicate
                    || records().any(|r| r.fault.as_deref() == Some("duplicate"));
                done && duplicated
            };
            // Of the runs whose webhook arrives (or not): how many ended, out of how many.
            let count = |arrives: bool| {
                let of = runs
                    .iter()
                    .filter(|(path, _)| path.source().is_recovered() != arrives);
                (
                    of.clone().filter(|(path, id)| ended(*path, id)).count(),
                    of.count(),
                )
            };
            let (delivered, to_deliver) = count(true);
            let (given_up, to_give_up) = count(false);
            let processed = runs
                .iter()
                .filter(|(_, run_id)| !self.seen.processed_of(run_id.as_ref()).is_empty())
                .count();
            let total = runs.len();
            self.timeline.progress(&format!(
                "{finished}/{total} runs finished, {delivered}/{to_deliver} webhooks delivered, \
                 {given_up}/{to_give_up} given up, {processed}/{total} processed"
            ));
            let to_process = match until {
                Until::Webhooks => to_deliver,
                Until::Recovered => total,
            };
            let done = finished == total
                && delivered == to_deliver
                && given_up == to_give_up
                && processed >= to_process;
            if done || tokio::time::Instant::now() >= self.deadline {
                if until == Until::Recovered {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Reads the status of each run not known to have finished.
    async fn read_statuses(&mut self) {
        for (_, run_id) in self.runs {
            if self
                .statuses
                .get(run_id.as_ref())
                .is_some_and(|s| terminal(s))
            {
                continue;
            }
            if let Ok(run) = self.client.get_run(run_id).await
                && let Some(status) = run.status
            {
                self.statuses
                    .insert(run_id.to_string(), status.as_str().to_owned());
            }
        }
    }
}

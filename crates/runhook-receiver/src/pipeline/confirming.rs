//! The confirm-by-API step: the run is fetched from the API that ran it, and the event goes on
//! only if the API agrees (see the [`confirm`](crate::confirm) module).

use std::borrow::Cow;

use bytes::Bytes;
use runhook::outcome::{Disposition, decide};
use runhook::receive::{Rejection, RejectionKind};
use runhook::{Event, RunId};
use serde_json::Value;
use tokio::time::{Instant, timeout_at};

use super::{Facts, Pipeline};
use crate::confirm::{Confirmation, judge};
use crate::{RunConfirmer, WebhookResponse};

/// What a refused event's response says: the details (what the API said) stay in the report
/// and the log, so a forger learns nothing about real runs.
const NOT_CONFIRMED: &str = "the event could not be confirmed by the runs API; it is not accepted";

impl Pipeline {
    /// Confirms `event` with the API within `deadline`: the event to process (its `data` the
    /// API's run) and its body (re-serialized when the data was replaced), or the response that
    /// refuses it (401) or defers it (503).
    pub(super) async fn confirm(
        &self,
        confirmer: &dyn RunConfirmer,
        mut event: Event,
        body: Bytes,
        deadline: Instant,
        facts: &Facts,
    ) -> Result<(Event, Bytes), WebhookResponse> {
        let (run_id, status) = match &event {
            Event::Completed(run) | Event::Failed(run) | Event::Cancelled(run) => (
                Some(run.run_id.clone()),
                Some(run.status.as_str().to_owned()),
            ),
            other => {
                let raw = match other {
                    Event::Unknown(unknown) => Some(&unknown.raw),
                    _ => None,
                };
                let field = |name: &str| raw.and_then(|raw| raw.get(name)).and_then(Value::as_str);
                let run_id = field("run_id").and_then(|id| RunId::new(id).ok());
                (run_id, field("status").map(str::to_owned))
            }
        };
        let Some(run_id) = run_id else {
            let detail = "the event has no valid run_id, so the runs API cannot confirm it";
            return Err(self.refuse(facts, detail.into()));
        };
        let fetched = match timeout_at(deadline, confirmer.fetch(&run_id)).await {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(error)) => {
                let detail = format!("{error}; run {run_id} was not confirmed, retry later");
                return Err(self.respond(
                    facts.clone(),
                    &Disposition::ConfirmFailed,
                    detail.into(),
                ));
            }
            Err(_) => {
                let detail = format!(
                    "the runs API did not confirm run {run_id} within the deadline of {:?}; \
                     retry later",
                    self.config.deadline
                );
                return Err(self.respond(
                    facts.clone(),
                    &Disposition::ConfirmFailed,
                    detail.into(),
                ));
            }
        };
        match judge(&run_id, status.as_deref(), fetched) {
            Confirmation::Refuted(detail) => Err(self.refuse(facts, detail.into())),
            Confirmation::Unreadable(detail) => {
                let detail = format!("{detail}; run {run_id} was not confirmed, retry later");
                Err(self.respond(facts.clone(), &Disposition::ConfirmFailed, detail.into()))
            }
            Confirmation::Confirmed(run) => {
                let replaced = match &mut event {
                    Event::Completed(event) | Event::Failed(event) | Event::Cancelled(event) => {
                        event.data = *run;
                        event.drift = None;
                        true
                    }
                    _ => false,
                };
                let body = match replaced {
                    true => event.to_vec().map(Bytes::from).unwrap_or(body),
                    false => body,
                };
                let limit = self.config.receive.limits.max_body_bytes;
                if body.len() > limit {
                    let detail = format!(
                        "the runs API's run {run_id} is {} bytes as an event, over the body limit \
                         of {limit} bytes; it was not processed, retry later",
                        body.len()
                    );
                    return Err(self.respond(
                        facts.clone(),
                        &Disposition::ConfirmFailed,
                        detail.into(),
                    ));
                }
                Ok((event, body))
            }
        }
    }

    /// The 401 of an event the API refutes; the claim and the store are never touched.
    fn refuse(&self, facts: &Facts, detail: Cow<'_, str>) -> WebhookResponse {
        let rejection = Rejection::new(RejectionKind::Unauthenticated, NOT_CONFIRMED);
        let decision = decide(&Disposition::Invalid(&rejection));
        self.respond_decided(facts.clone(), decision, detail, Some(&rejection))
    }
}

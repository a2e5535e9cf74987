//! The reconciler's way in: an event recovered from the runs API goes through the same claim
//! (inline mode) or insert (inbox mode) as a webhook, marked with its source.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method, Uri};
use runhook::outcome::Disposition;
use runhook::store::{KeyState, StoreError};
use runhook::{Event, Source};
use tokio::time::Instant;
use tracing::Instrument;

use super::{Accepted, Facts, Mode, Pipeline, Request};
use crate::WebhookResponse;

impl Pipeline {
    /// Delivers `event`, recovered by a reconciler, as a webhook would be delivered once its
    /// request passed the checks: the store or the inbox decides whether it is new, so an event
    /// that also arrives by webhook is processed once. The request checks and the confirmation
    /// by API are skipped: the event was built from the API's own run.
    pub(crate) async fn recover(self: &Arc<Self>, event: Event) -> WebhookResponse {
        let span = tracing::info_span!(
            "recovered",
            run_id = event.run_id().unwrap_or_default(),
            event = event.name()
        );
        self.recover_in_span(event).instrument(span).await
    }

    async fn recover_in_span(self: &Arc<Self>, event: Event) -> WebhookResponse {
        let started = Instant::now();
        let facts = Facts {
            run_id: event.run_id().map(str::to_owned),
            event: Some(event.name().to_owned()),
            key: self.config.key.key(&event),
            source: Source::Reconciler,
            ..Facts::none(started)
        };
        if self.is_closing() {
            let detail = "the receiver is shutting down; the recovered event was not processed";
            return self.respond(facts, &Disposition::ShuttingDown, detail.into());
        }
        let body = match event.to_vec() {
            Ok(body) => Bytes::from(body),
            Err(error) => {
                let detail = format!("the recovered event could not be serialized: {error}");
                return self.respond(facts, &Disposition::StoreFailed, detail.into());
            }
        };
        let deadline = started + self.config.deadline;
        match &self.mode {
            Mode::Inbox(workers) => self.enqueue(workers, facts, body, deadline).await,
            Mode::Inline(handler) => {
                let (method, uri, headers) =
                    (Method::POST, Uri::from_static("/"), HeaderMap::new());
                let request = Request::new(&method, &uri, &headers, None);
                let accepted = Accepted {
                    event,
                    body,
                    facts,
                    deadline,
                };
                self.claim(handler, &request, accepted).await
            }
        }
    }

    /// Whether the store (inline mode) or the inbox (inbox mode) already holds `event`'s key:
    /// processed, in progress, or stored. An event without a key was never seen.
    pub(crate) async fn has_seen(&self, event: &Event) -> Result<bool, StoreError> {
        let Some(key) = self.config.key.key(event) else {
            return Ok(false);
        };
        let lookup = async {
            match &self.mode {
                Mode::Inbox(workers) => workers.inbox().get(&key).await.map(|row| row.is_some()),
                Mode::Inline(_) => self
                    .store
                    .state(&key, self.clock.now())
                    .await
                    .map(|state| state != KeyState::Absent),
            }
        };
        match tokio::time::timeout(self.config.store_timeout, lookup).await {
            Ok(answer) => answer,
            Err(_) => Err(StoreError::Unavailable {
                message: format!(
                    "the store did not answer within {:?} whether {key} was seen",
                    self.config.store_timeout
                ),
            }),
        }
    }
}

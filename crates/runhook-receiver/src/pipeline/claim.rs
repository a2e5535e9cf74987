//! Inline mode's claim step: claim the event's idempotency key, then run the handler under the
//! claim, or answer a duplicate, an event in flight or a failing store.

use std::sync::Arc;

use runhook::outcome::Disposition;
use runhook::store::Claim;
use tokio::time::timeout_at;

use super::{Accepted, Pipeline, Request};
use crate::{Handler, Received, WebhookResponse};

impl Pipeline {
    /// Claims the accepted event's key within its deadline and runs `handler` under the claim: a
    /// key already processed is a duplicate (200, not called again), one held by another
    /// delivery is in flight (503 with `Retry-After`), a failing store a 503; an event without a
    /// key is handled without deduplication.
    pub(super) async fn claim(
        self: &Arc<Self>,
        handler: &Arc<dyn Handler>,
        request: &Request<'_>,
        accepted: Accepted,
    ) -> WebhookResponse {
        let Accepted {
            event,
            body,
            facts,
            deadline,
        } = accepted;
        let config = &self.config;
        let now = self.clock.now();
        let event = Received::new(event, request.context(now).with_source(facts.source));
        let Some(key) = facts.key.clone() else {
            tracing::debug!("no idempotency key for this event; handled without deduplication");
            return self
                .run_handler(handler, event, body, None, deadline, facts)
                .await;
        };
        let claim = match timeout_at(deadline, self.store.claim(&key, now, config.lease)).await {
            Ok(Ok(claim)) => claim,
            Ok(Err(error)) => {
                let detail = format!("{error}; the event was not processed, retry later");
                return self.respond(facts, &Disposition::StoreFailed, detail.into());
            }
            Err(_) => {
                let detail = format!(
                    "the idempotency store did not answer within the deadline of {:?}; the event \
                     was not processed, retry later",
                    config.deadline
                );
                return self.respond(facts, &Disposition::StoreFailed, detail.into());
            }
        };
        match claim {
            Claim::Acquired(token) => {
                self.run_handler(handler, event, body, Some((key, token)), deadline, facts)
                    .await
            }
            Claim::Done => {
                let detail =
                    format!("{key} was already processed; the handler was not called again");
                self.respond(facts, &Disposition::Duplicate, detail.into())
            }
            Claim::InFlight { retry_after } => {
                let detail = format!(
                    "{key} is being processed by another delivery; retry when it has finished"
                );
                let retry_after = retry_after.min(config.deadline);
                self.respond(facts, &Disposition::InFlight { retry_after }, detail.into())
            }
        }
    }
}

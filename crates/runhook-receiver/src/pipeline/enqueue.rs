//! Inbox mode's claim step: the accepted event is inserted into the inbox and acknowledged; the
//! workers process it later.

use std::borrow::Cow;

use bytes::Bytes;
use runhook::inbox::{Inserted, NewInboxEntry};
use runhook::outcome::Disposition;
use runhook::store::IdempotencyKey;
use sha2::{Digest, Sha256};
use tokio::time::{Instant, timeout_at};

use super::{Facts, Pipeline};
use crate::WebhookResponse;
use crate::inbox::InboxWorkers;

/// What the response says of an event stored in the inbox.
const STORED: &str = "stored; it will be processed";
/// What the response says of an event already in the inbox.
const ALREADY_STORED: &str = "this event is already in the inbox; it was not stored again";

impl Pipeline {
    /// Inserts the accepted event into the inbox within `deadline`: 200 once it is stored, 200
    /// for a key already there, 503 if the inbox fails or does not answer in time (the sender
    /// retries; nothing was stored).
    pub(super) async fn enqueue(
        &self,
        workers: &InboxWorkers,
        mut facts: Facts,
        body: Bytes,
        deadline: Instant,
    ) -> WebhookResponse {
        let key = facts.key.clone().unwrap_or_else(|| body_key(&body));
        facts.key = Some(key.clone());
        let now = self.clock.now();
        let event = facts.event.clone().unwrap_or_default();
        let mut record = NewInboxEntry::new(key.clone(), event, now, body)
            .with_drift(facts.drift.clone())
            .with_source(facts.source);
        if let Some(run_id) = &facts.run_id {
            record = record.with_run_id(run_id.clone());
        }
        match timeout_at(deadline, workers.inbox().insert(record, now)).await {
            Ok(Ok(Inserted::New)) => {
                workers.wake();
                let detail = format!("{key} stored in the inbox; the workers process it");
                self.respond_with(
                    facts,
                    &Disposition::Handled(&runhook::HandlerOutcome::Ok),
                    STORED,
                    detail.into(),
                )
            }
            Ok(Ok(inserted)) => {
                let detail = match inserted {
                    Inserted::Duplicate(state) => {
                        format!("{key} is already in the inbox ({state}); not stored again")
                    }
                    other => format!("{key}: the inbox answered {other:?}; not stored again"),
                };
                self.respond_with(
                    facts,
                    &Disposition::Duplicate,
                    ALREADY_STORED,
                    detail.into(),
                )
            }
            Ok(Err(error)) => {
                let detail = format!("{error}; the event was not stored, retry later");
                self.respond(facts, &Disposition::StoreFailed, detail.into())
            }
            Err(_) => {
                let detail: Cow<'_, str> = format!(
                    "the inbox did not answer within the deadline of {:?}; the event was not \
                     stored, retry later",
                    self.config.deadline
                )
                .into();
                self.respond(facts, &Disposition::StoreFailed, detail)
            }
        }
    }
}

/// The key of an event without one: `sha256:` and the SHA-256 of its body, in hex, so a
/// redelivery of the same bytes is a duplicate.
fn body_key(body: &[u8]) -> IdempotencyKey {
    let digest = Sha256::digest(body);
    let mut key = String::with_capacity(7 + 64);
    key.push_str("sha256:");
    for byte in digest.iter() {
        key.push(char::from(HEX[usize::from(byte >> 4)]));
        key.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    IdempotencyKey::new(key)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_key_is_the_hex_sha256_of_the_body() {
        assert_eq!(
            body_key(b"abc").as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

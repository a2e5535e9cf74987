//! Confirm by API: before an event is processed, the run is fetched from the API that ran it,
//! and the event is accepted only if the API agrees.
//!
//! TinyFish signs nothing; what a receiver can check is the run itself. With a
//! [`RunConfirmer`] set ([`ReceiverBuilder::confirm_with`](crate::ReceiverBuilder::confirm_with)),
//! every accepted event is confirmed before the idempotency store (inline mode) or the inbox
//! (inbox mode) is touched:
//!
//! | the API | answer | the handler |
//! |---|---|---|
//! | knows the run, in the event's status | processed as usual | gets the API's run as `data` |
//! | knows the run in another status | 401 | not called; nothing stored |
//! | does not know the run (404) | 401 | not called; nothing stored |
//! | cannot be reached (after the confirmer's retries, within the deadline) | 503 | not called; the sender retries |
//!
//! The runhook-tinyfish client implements the trait.

use std::fmt;

use async_trait::async_trait;
use runhook::{Run, RunId};

/// Fetches a run from the runs API (`GET /v1/runs/{run_id}`), so the receiver can confirm an
/// event before processing it.
///
/// `Ok(Some(run))`: the API knows the run. `Ok(None)`: it does not (404). `Err`: no answer
/// could be had (the API unreachable, failing, or refusing the key, after the confirmer's own
/// retries); the receiver answers 503 so the sender tries again later. The receiver bounds the
/// call by its deadline.
#[async_trait]
pub trait RunConfirmer: Send + Sync + 'static {
    /// The run as the API has it, `None` if the API does not know it.
    async fn fetch(&self, run_id: &RunId) -> Result<Option<Run>, ConfirmError>;
}

#[async_trait]
impl<C: RunConfirmer + ?Sized> RunConfirmer for std::sync::Arc<C> {
    async fn fetch(&self, run_id: &RunId) -> Result<Option<Run>, ConfirmError> {
        (**self).fetch(run_id).await
    }
}

/// Why a run could not be confirmed: no answer either way (the receiver answers 503).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfirmError {
    /// The API could not be reached, did not answer in time, or failed (5xx, 429), after the
    /// confirmer's retries.
    #[error("the runs API is unreachable: {0}")]
    Unreachable(String),
    /// The API answered, but refused the request (a missing or invalid API key, a forbidden
    /// call): a configuration problem of the receiver, not a verdict on the event.
    #[error("the runs API refused the request: {0}")]
    Refused(String),
}

/// The confirmer's verdict on one event, as the pipeline uses it.
pub(crate) enum Confirmation {
    /// The API agrees: process the event, with the API's run.
    Confirmed(Box<Run>),
    /// The API disagrees or does not know the run: refuse (401), with the reason.
    Refuted(String),
}

/// Compares the API's answer with the event: the run must exist and have the event's status
/// (and, when the API says, the same id).
pub(crate) fn judge(run_id: &RunId, status: Option<&str>, fetched: Option<Run>) -> Confirmation {
    let Some(run) = fetched else {
        return Confirmation::Refuted(format!(
            "the runs API does not know run {run_id}; the event is not authentic"
        ));
    };
    if let Some(api_id) = &run.run_id
        && api_id != run_id
    {
        return Confirmation::Refuted(format!(
            "the runs API answered for run {api_id}, not {run_id}; the event is not confirmed"
        ));
    }
    let api_status = run.status.as_ref().map(|status| status.as_str());
    match (status, api_status) {
        (Some(event), Some(api)) if event == api => Confirmation::Confirmed(Box::new(run)),
        (None, Some(_)) => Confirmation::Confirmed(Box::new(run)),
        (event, api) => Confirmation::Refuted(format!(
            "the event says run {run_id} is {}, the runs API says {}; the event is not authentic",
            Shown(event),
            Shown(api)
        )),
    }
}

/// A status for a message: the value, or "nothing".
struct Shown<'a>(Option<&'a str>);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(status) => f.write_str(status),
            None => f.write_str("(no status)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use runhook::RunStatus;

    fn id(text: &str) -> RunId {
        RunId::new(text).unwrap()
    }

    #[test]
    fn the_status_must_match_and_the_run_must_exist() {
        let run = Run::new(id("r1"), RunStatus::Completed);
        assert!(matches!(
            judge(&id("r1"), Some("COMPLETED"), Some(run.clone())),
            Confirmation::Confirmed(_)
        ));
        assert!(matches!(
            judge(&id("r1"), Some("FAILED"), Some(run.clone())),
            Confirmation::Refuted(_)
        ));
        assert!(matches!(
            judge(&id("r1"), Some("COMPLETED"), None),
            Confirmation::Refuted(_)
        ));
        assert!(matches!(
            judge(&id("r2"), Some("COMPLETED"), Some(run)),
            Confirmation::Refuted(_)
        ));
        let Confirmation::Refuted(reason) =
            judge(&id("r1"), Some("COMPLETED"), Some(Run::default()))
        else {
            panic!("a run without a status confirms nothing");
        };
        assert!(reason.contains("(no status)"), "{reason}");
    }
}

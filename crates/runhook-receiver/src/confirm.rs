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
//! | answers something that is not this run (no `run_id`, another run's, no `status`, not a run at all) | 503 | not called; the sender retries |
//! | answers a run larger than the body limit | 503 | not called; the sender retries |
//! | cannot be reached (after the confirmer's retries, within the deadline) | 503 | not called; the sender retries |
//!
//! Only a well-formed answer about the event's own run that contradicts it refutes an event: an
//! answer that cannot be read, from the API or a proxy in front of it, is no verdict, and a 401
//! would lose a genuine run for good (a 4xx is never retried).
//!
//! The runhook-tinyfish client implements the trait.

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
    /// The API answered with success, but the answer cannot be read as a run: not the
    /// documented JSON, or larger than the confirmer reads.
    #[error("the runs API's answer cannot be read as a run: {0}")]
    Unreadable(String),
}

/// The confirmer's verdict on one event, as the pipeline uses it.
pub(crate) enum Confirmation {
    /// The API agrees: process the event, with the API's run.
    Confirmed(Box<Run>),
    /// The API disagrees or does not know the run: refuse (401), with the reason.
    Refuted(String),
    /// The API's answer is not a run with the event's run_id and a status: no verdict (503),
    /// with the reason.
    Unreadable(String),
}

/// Compares the API's answer with the event. The API must know the run (else refuted), and
/// answer with the event's run_id and a status (else unreadable: no verdict); the status must
/// be the event's (else refuted).
pub(crate) fn judge(run_id: &RunId, status: Option<&str>, fetched: Option<Run>) -> Confirmation {
    let Some(run) = fetched else {
        return Confirmation::Refuted(format!(
            "the runs API does not know run {run_id}; the event is not authentic"
        ));
    };
    match &run.run_id {
        Some(api_id) if api_id == run_id => {}
        Some(api_id) => {
            return Confirmation::Unreadable(format!(
                "the runs API answered for run {api_id}, not {run_id}"
            ));
        }
        None => {
            return Confirmation::Unreadable(
                "the runs API answered without a run_id: not a run".to_owned(),
            );
        }
    }
    let Some(api_status) = run.status.as_ref().map(|status| status.as_str().to_owned()) else {
        return Confirmation::Unreadable(format!(
            "the runs API answered for run {run_id} without a status"
        ));
    };
    match status {
        Some(event) if event != api_status => Confirmation::Refuted(format!(
            "the event says run {run_id} is {event}, the runs API says {api_status}; the event \
             is not authentic"
        )),
        _ => Confirmation::Confirmed(Box::new(run)),
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
            judge(&id("r1"), None, Some(run.clone())),
            Confirmation::Confirmed(_)
        ));
    }

    #[test]
    fn an_answer_that_is_not_this_run_is_no_verdict() {
        let other = Run::new(id("r1"), RunStatus::Completed);
        let mut no_status = Run::new(id("r2"), RunStatus::Completed);
        no_status.status = None;
        let mut no_id = Run::new(id("r2"), RunStatus::Completed);
        no_id.run_id = None;
        for (name, answer) in [
            ("another run", other),
            ("no status", no_status),
            ("no run_id", no_id),
            ("empty", Run::default()),
        ] {
            assert!(
                matches!(
                    judge(&id("r2"), Some("COMPLETED"), Some(answer)),
                    Confirmation::Unreadable(_)
                ),
                "{name}"
            );
        }
    }
}

//! The client as a [`RunConfirmer`]: confirm by API in a runhook-receiver.

use async_trait::async_trait;
use runhook::{Run, RunId};
use runhook_receiver::{ConfirmError, RunConfirmer};

use crate::{ApiErrorCode, Client, Error};

/// `GET /v1/runs/{run_id}` with the client's retries: the run; `None` for a 404 with the API's
/// `NOT_FOUND` code; an error when no answer could be had (network, timeout, 429 or 5xx after the
/// retries: unreachable; another error status, such as an invalid key, or a 404 without the
/// API's error body, such as a proxy's page for a wrong base URL: refused; a success whose body
/// is not JSON, or is over [`ClientBuilder::max_answer_bytes`](crate::ClientBuilder::max_answer_bytes):
/// unreadable). A misconfigured client or a broken proxy thus defers events (503) instead of
/// refuting genuine ones (401, never retried). The receiver checks the run it gets: an answer
/// without the event's run_id or a status (`{}`, an error object) defers the event too.
///
/// ```no_run
/// use std::sync::Arc;
/// use runhook::HandlerOutcome;
/// use runhook_receiver::{Receiver, handler_fn};
/// use runhook_tinyfish::Client;
///
/// # fn build() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::from_env()?;
/// let receiver = Receiver::builder(handler_fn(|event| async move {
///     // `event`'s data is the run as the API returned it.
///     HandlerOutcome::Ok
/// }))
/// .confirm_with(Arc::new(client))
/// .build()?;
/// # drop(receiver); Ok(()) }
/// ```
#[async_trait]
impl RunConfirmer for Client {
    async fn fetch(&self, run_id: &RunId) -> Result<Option<Run>, ConfirmError> {
        match self.get_run(run_id).await {
            Ok(run) => Ok(Some(run)),
            Err(error) if is_unknown_run(&error) => Ok(None),
            Err(error) => Err(confirm_error(&error)),
        }
    }
}

/// Whether the API said it does not know the run: 404 with its documented `NOT_FOUND` code.
fn is_unknown_run(error: &Error) -> bool {
    error
        .api()
        .is_some_and(|api| api.status == 404 && api.code == ApiErrorCode::NotFound)
}

/// How a failed read is reported to the receiver.
fn confirm_error(error: &Error) -> ConfirmError {
    match error.api() {
        Some(api) if api.status == 429 || api.status >= 500 => {
            ConfirmError::Unreachable(error.to_string())
        }
        Some(_) => ConfirmError::Refused(error.to_string()),
        None if matches!(error, Error::Decode { .. }) => {
            ConfirmError::Unreadable(error.to_string())
        }
        None => ConfirmError::Unreachable(error.to_string()),
    }
}

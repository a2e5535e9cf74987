//! Creating runs: `POST /v1/automation/run`, `/run-async`, `/run-batch` and `/run-sse`. None
//! is ever retried: a retry could start the run twice.

use runhook::api::{RunCreated, RunsCreated};
use runhook::{Run, RunId};
use serde::Serialize;
use serde_json::Value;

use crate::response::{batch_created_from, created_from, run_from};
use crate::transport::Call;
use crate::{Client, Error, RunEventStream, RunRequest};

/// The most runs one batch may create (and one batch read or cancel may name).
pub const MAX_BATCH: usize = 100;

#[derive(Serialize)]
struct BatchRequest<'a> {
    runs: &'a [RunRequest],
}

impl Client {
    /// Runs `request` and waits for it to finish (`POST /v1/automation/run`): the run as the
    /// API answers it (`run_id`, `status` COMPLETED or FAILED, `result`, `error`, …). Bounded
    /// by the client's `run_timeout`, not retried. Such a run cannot be cancelled.
    pub async fn create_run(&self, request: &RunRequest) -> Result<Run, Error> {
        let call = Call::post("/v1/automation/run", request)?;
        let reply = self.inner.once(call, self.inner.run_timeout).await?;
        let value: Value = reply.json()?;
        Ok(run_from(&value, &reply.path))
    }

    /// Starts `request` and returns its run id at once (`POST /v1/automation/run-async`).
    /// Not retried. An answer with an `error` instead of an id is [`Error::NotCreated`].
    pub async fn create_run_async(&self, request: &RunRequest) -> Result<RunId, Error> {
        let call = Call::post("/v1/automation/run-async", request)?;
        let reply = self.inner.once(call, self.inner.timeout).await?;
        created_from(reply.json::<RunCreated>()?, &reply.path)
    }

    /// Starts 1 to 100 runs at once (`POST /v1/automation/run-batch`), all or none: their ids,
    /// in the order of `requests`. Not retried. Another count is refused before sending
    /// ([`Error::InvalidArgument`]).
    pub async fn create_runs(&self, requests: &[RunRequest]) -> Result<Vec<RunId>, Error> {
        check_batch(requests.len(), "runs")?;
        let call = Call::post("/v1/automation/run-batch", &BatchRequest { runs: requests })?;
        let reply = self.inner.once(call, self.inner.timeout).await?;
        batch_created_from(reply.json::<RunsCreated>()?, &reply.path)
    }

    /// Starts `request` and streams its progress (`POST /v1/automation/run-sse`): `STARTED`,
    /// `STREAMING_URL`, `PROGRESS`* and `HEARTBEAT`s, then `COMPLETE`. Returns once the response
    /// head has arrived (within the client's timeout); an error status is returned here, as
    /// the API's error. Not retried.
    ///
    /// ```no_run
    /// use futures::StreamExt;
    /// use runhook_tinyfish::{Client, RunRequest, StreamEvent};
    ///
    /// # async fn run(client: Client) -> Result<(), runhook_tinyfish::Error> {
    /// let mut events = client
    ///     .stream_run(&RunRequest::new("https://example.com", "Extract the title"))
    ///     .await?;
    /// while let Some(event) = events.next().await {
    ///     match event? {
    ///         StreamEvent::Progress(step) => println!("{}", step.purpose),
    ///         StreamEvent::Complete(done) => println!("{}: {}", done.run_id, done.status),
    ///         _ => {}
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn stream_run(&self, request: &RunRequest) -> Result<RunEventStream, Error> {
        let call = Call::post("/v1/automation/run-sse", request)?;
        let path = call.path.clone();
        let response = self.inner.open(call, self.inner.timeout).await?;
        Ok(RunEventStream::new(response, path))
    }
}

/// Refuses a batch of 0 or more than [`MAX_BATCH`] items.
pub(crate) fn check_batch(len: usize, what: &str) -> Result<(), Error> {
    if (1..=MAX_BATCH).contains(&len) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "a batch holds 1 to {MAX_BATCH} {what}; this one holds {len}"
        )))
    }
}

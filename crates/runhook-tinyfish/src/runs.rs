//! Reading and cancelling runs: `GET /v1/runs/{id}`, `GET /v1/runs` (and a stream over every
//! page), `POST /v1/runs/{id}/cancel`, `POST /v1/runs/batch`, `POST /v1/runs/batch/cancel`.
//! All are retried under the client's policy: they read, or are idempotent.

use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use runhook::api::{BatchCancelOutcomes, BatchRuns, ListPage, RunIds};
use runhook::{Run, RunId};
use serde_json::Value;

use crate::automation::check_batch;
use crate::response::{batch_from, page_from, run_from};
use crate::transport::Call;
use crate::{CancelBatch, CancelOutcome, Client, Error, ListRuns, RunPage, RunsBatch};

impl Client {
    /// The run (`GET /v1/runs/{id}`), without screenshots. An unknown id is an
    /// [`Error::Api`] with code `NOT_FOUND` ([`Error::is_not_found`]).
    pub async fn get_run(&self, run_id: &RunId) -> Result<Run, Error> {
        self.fetch_run(run_id, "none").await
    }

    /// The run with its steps' screenshots (`?screenshots=base64`: each a
    /// `data:image/jpeg;base64,…` URL).
    pub async fn get_run_with_screenshots(&self, run_id: &RunId) -> Result<Run, Error> {
        self.fetch_run(run_id, "base64").await
    }

    async fn fetch_run(&self, run_id: &RunId, screenshots: &str) -> Result<Run, Error> {
        // A run id holds only A-Z, a-z, 0-9, '_' and '-': safe in a path as it is.
        let mut call = Call::get(format!("/v1/runs/{run_id}"));
        if screenshots != "none" {
            call.query.push(("screenshots", screenshots.to_owned()));
        }
        let reply = self.inner.retried(call).await?;
        let value: Value = reply.json()?;
        Ok(run_from(&value, &reply.path))
    }

    /// One page of runs (`GET /v1/runs`) matching `query`; pass its `next_cursor` to
    /// [`ListRuns::cursor`] for the next, or use [`Client::list_all_runs`].
    pub async fn list_runs(&self, query: &ListRuns) -> Result<RunPage, Error> {
        let mut call = Call::get("/v1/runs");
        call.query = query.to_query()?;
        let reply = self.inner.retried(call).await?;
        Ok(page_from(reply.json::<ListPage<Value>>()?, &reply.path))
    }

    /// Every run matching `query`, page after page, following `next_cursor` until the last
    /// page (from `query`'s cursor, if it has one). Pages are fetched as the stream is read; an
    /// error ends it. A cursor that does not advance is an [`Error::Decode`], not a loop.
    ///
    /// ```no_run
    /// use futures::TryStreamExt;
    /// use runhook::RunStatus;
    /// use runhook_tinyfish::{Client, ListRuns};
    ///
    /// # async fn run(client: Client) -> Result<(), runhook_tinyfish::Error> {
    /// let failed: Vec<_> = client
    ///     .list_all_runs(ListRuns::new().status(RunStatus::Failed).limit(100))
    ///     .try_collect()
    ///     .await?;
    /// println!("{} failed runs", failed.len());
    /// # Ok(()) }
    /// ```
    pub fn list_all_runs(&self, query: ListRuns) -> BoxStream<'static, Result<Run, Error>> {
        let client = self.clone();
        stream::try_unfold(Some(query), move |next| {
            let client = client.clone();
            async move {
                let Some(query) = next else {
                    return Ok(None);
                };
                let page = client.list_runs(&query).await?;
                let next = match page.next_cursor.as_deref() {
                    Some(cursor) if page.has_more => {
                        if query.current_cursor() == Some(cursor) {
                            return Err(Error::Decode {
                                path: "/v1/runs".to_owned(),
                                message: format!(
                                    "next_cursor {cursor:?} is the cursor of this page; the \
                                     listing would not advance"
                                ),
                            });
                        }
                        Some(query.cursor(cursor))
                    }
                    _ => None,
                };
                Ok(Some((page.runs, next)))
            }
        })
        .map_ok(|runs| stream::iter(runs.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Cancels a run (`POST /v1/runs/{id}/cancel`). Idempotent: a run already cancelled or
    /// finished answers with its status and a message ([`CancelOutcome::ALREADY_CANCELLED`],
    /// [`CancelOutcome::ALREADY_FINISHED`]). Only runs created with `/run-async` or `/run-sse`
    /// can be cancelled.
    pub async fn cancel_run(&self, run_id: &RunId) -> Result<CancelOutcome, Error> {
        let call = Call::post_empty(format!("/v1/runs/{run_id}/cancel"));
        self.inner.retried(call).await?.json()
    }

    /// Up to 100 runs at once (`POST /v1/runs/batch`): those found, and the ids not found.
    pub async fn get_runs(&self, run_ids: &[RunId]) -> Result<RunsBatch, Error> {
        check_batch(run_ids.len(), "run ids")?;
        let call = Call::post("/v1/runs/batch", &RunIds::new(run_ids.to_vec()))?;
        let reply = self.inner.retried(call).await?;
        Ok(batch_from(reply.json::<BatchRuns<Value>>()?, &reply.path))
    }

    /// Cancels up to 100 runs at once (`POST /v1/runs/batch/cancel`): one outcome per run
    /// found, and the ids not found.
    pub async fn cancel_runs(&self, run_ids: &[RunId]) -> Result<CancelBatch, Error> {
        check_batch(run_ids.len(), "run ids")?;
        let call = Call::post("/v1/runs/batch/cancel", &RunIds::new(run_ids.to_vec()))?;
        let reply = self.inner.retried(call).await?;
        Ok(reply.json::<BatchCancelOutcomes>()?.into())
    }
}

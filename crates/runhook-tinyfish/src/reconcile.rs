//! The client as a [`RunSource`]: the runs a reconciler sweeps.

use std::time::SystemTime;

use async_trait::async_trait;
use runhook::{Run, RunId, Timestamp};
use runhook_receiver::reconcile::{RunSource, RunsPage, SourceError};

use crate::{Client, Error, ListRuns, SortDirection};

/// `GET /v1/runs?created_after=…&sort_direction=asc` and `POST /v1/runs/batch`, with the
/// client's retries (429 and `Retry-After` honoured, 5xx and network errors retried): the source
/// of a `runhook_receiver::reconcile::Reconciler`.
///
/// ```no_run
/// use std::sync::Arc;
/// use runhook::reconcile::MemoryReconcileState;
/// use runhook_receiver::reconcile::Reconciler;
/// use runhook_receiver::{Handlers, Receiver};
/// use runhook_tinyfish::Client;
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::from_env()?;
/// let receiver = Receiver::new(Handlers::new());
/// let reconciler = Reconciler::new(Arc::new(client), Arc::new(MemoryReconcileState::new()), receiver);
/// let report = reconciler.sweep().await?;
/// println!("{} runs recovered", report.recovered.len());
/// # Ok(()) }
/// ```
#[async_trait]
impl RunSource for Client {
    async fn list_created_after(
        &self,
        after: SystemTime,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<RunsPage, SourceError> {
        let after = Timestamp::try_from(time::OffsetDateTime::from(after))
            .map_err(|error| SourceError::new(format!("unusable watermark: {error}")))?;
        let mut query = ListRuns::new()
            .created_after(after)
            .sort_direction(SortDirection::Asc)
            .limit(limit);
        if let Some(cursor) = cursor {
            query = query.cursor(cursor);
        }
        let page = self.list_runs(&query).await.map_err(source_error)?;
        let next = if page.has_more {
            page.next_cursor
        } else {
            None
        };
        Ok(RunsPage::new(page.runs, next))
    }

    async fn get_runs(&self, run_ids: &[RunId]) -> Result<Vec<Run>, SourceError> {
        if run_ids.is_empty() {
            return Ok(Vec::new());
        }
        Client::get_runs(self, run_ids)
            .await
            .map(|batch| batch.runs)
            .map_err(source_error)
    }
}

/// The client's error as a source error, with the API's `Retry-After` if it gave one.
fn source_error(error: Error) -> SourceError {
    let retry_after = error.api().and_then(|api| api.retry_after);
    let source = SourceError::new(error.to_string());
    match retry_after {
        Some(wait) => source.with_retry_after(wait),
        None => source,
    }
}

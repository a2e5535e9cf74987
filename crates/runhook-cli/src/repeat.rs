//! `trigger --repeat N --concurrency C`: the same body delivered N times, up to C deliveries
//! at once, to see how a receiver deduplicates concurrent duplicates.

use std::sync::Arc;

use anyhow::Context;
use bytes::Bytes;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::delivery_args::{DeliveryArgs, Target, exit, refusal, stop_if_plain_http};
use crate::exit::Exit;
use crate::progress::Progress;

/// How many deliveries, and how many of them at once.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Repeat {
    /// Deliveries of the same body (1 or more).
    pub(crate) count: usize,
    /// Deliveries under way at once (1 or more).
    pub(crate) concurrency: usize,
}

/// Delivers `body` `repeat.count` times and prints one line per delivery as it ends, then a
/// summary. Success only if every delivery was delivered; exit 2 if the URL was refused.
pub(crate) fn deliver_many(
    args: &DeliveryArgs,
    target: &Target,
    body: Bytes,
    header: Option<String>,
    repeat: Repeat,
) -> anyhow::Result<Exit> {
    let concurrency = repeat.concurrency.clamp(1, repeat.count.max(1));
    args.with_dispatcher(target, concurrency, |dispatcher, policy| async move {
        let mut reports = dispatcher.subscribe();
        let permits = Arc::new(Semaphore::new(concurrency));
        let mut running = JoinSet::new();
        let mut progress = Progress::new(args.json, &target.url);
        let (mut next, mut delivered, mut worst) = (1usize, 0usize, Exit::Success);
        while next <= repeat.count || !running.is_empty() {
            tokio::select! {
                permit = Arc::clone(&permits).acquire_owned(), if next <= repeat.count => {
                    let permit = permit.context("internal error: the semaphore closed")?;
                    let handle = dispatcher
                        .submit(&target.url, body.clone(), policy.clone())
                        .map_err(|error| refusal(&target.url, error))?;
                    if next == 1
                        && let Some(header) = header.as_ref().filter(|_| !args.json)
                    {
                        crate::out::line(header)?;
                    }
                    let n = next;
                    next += 1;
                    running.spawn(async move {
                        let outcome = handle.outcome().await;
                        drop(permit);
                        (n, outcome)
                    });
                }
                Some(ended) = running.join_next() => {
                    let (n, outcome) = ended.context("internal error: a delivery task failed")?;
                    progress.delivery(n, repeat.count, &outcome)?;
                    if outcome.is_delivered() {
                        delivered += 1;
                    }
                    worst = worse(worst, exit(&outcome));
                }
                Ok(report) = reports.recv() => stop_if_plain_http(&target.url, &report)?,
            }
        }
        progress.summary(repeat.count, delivered)?;
        Ok(worst)
    })
}

/// The more serious of two exits: usage (a refused URL) over failure over success.
fn worse(a: Exit, b: Exit) -> Exit {
    match (a, b) {
        (Exit::Usage, _) | (_, Exit::Usage) => Exit::Usage,
        (Exit::Failure, _) | (_, Exit::Failure) => Exit::Failure,
        _ => Exit::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_outweighs_a_failure_which_outweighs_success() {
        assert_eq!(worse(Exit::Success, Exit::Failure), Exit::Failure);
        assert_eq!(worse(Exit::Failure, Exit::Usage), Exit::Usage);
        assert_eq!(worse(Exit::Success, Exit::Success), Exit::Success);
    }
}

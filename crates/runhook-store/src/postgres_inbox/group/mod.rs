//! Group commit: concurrent writes of one kind (inserts; settlements as done) share one
//! transaction, and one WAL flush, so a burst costs the database a commit per group rather than
//! per event.
//!
//! A task per kind gathers the requests queued while the groups before them commit (up to
//! [`MAX_GROUP`] per group, [`IN_FLIGHT`] groups committing at once, each on a connection of
//! the pool): with one caller at a time a group is one request and commits at once; under load
//! the groups grow. Each caller is answered once its group has committed. If a group fails, its
//! requests are run one by one, so a row the database refuses fails alone.

mod done;
mod insert;

use std::sync::Arc;

use runhook::store::StoreError;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::postgres::unavailable_message;

pub(super) use done::{DoneRow, commit_done};
pub(super) use insert::{NewRow, commit_inserts};

/// Requests waiting for a gathering task; callers wait (asynchronously) beyond that.
const QUEUE: usize = 4096;
/// The most requests one group holds.
const MAX_GROUP: usize = 256;
/// Groups of one kind committing at once (each holds a pooled connection meanwhile).
const IN_FLIGHT: usize = 4;

/// One request of a group and where its answer goes.
pub(super) struct Request<T, R> {
    pub(super) item: T,
    pub(super) reply: oneshot::Sender<Result<R, StoreError>>,
}

/// Where requests of one kind go to be committed in groups.
pub(super) type Sender<T, R> = mpsc::Sender<Request<T, R>>;

/// Spawns, on the current runtime, a task that gathers requests into groups and runs `commit` on
/// each (which answers every request of it); it ends once every sender is dropped.
pub(super) fn spawn<T, R, F, Fut>(commit: F) -> Sender<T, R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<Request<T, R>>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (sender, requests) = mpsc::channel(QUEUE);
    tokio::spawn(gather(commit, requests));
    sender
}

async fn gather<T, R, F, Fut>(commit: F, mut requests: mpsc::Receiver<Request<T, R>>)
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<Request<T, R>>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    loop {
        // While every slot commits, requests queue up: the next group takes them all.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let Some(first) = requests.recv().await else {
            return;
        };
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match requests.try_recv() {
                Ok(request) => group.push(request),
                Err(_) => break,
            }
        }
        let committing = commit(group);
        tokio::spawn(async move {
            committing.await;
            drop(slot);
        });
    }
}

/// Sends `item` to be committed with its group; its answer once the group has committed.
pub(super) async fn submit<T, R>(sender: &Sender<T, R>, item: T) -> Result<R, StoreError> {
    let (reply, answer) = oneshot::channel();
    let stopped =
        || unavailable_message("PostgreSQL: the inbox's group commit task stopped".to_owned());
    sender
        .send(Request { item, reply })
        .await
        .map_err(|_| stopped())?;
    answer.await.map_err(|_| stopped())?
}

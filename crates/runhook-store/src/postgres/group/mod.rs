//! Group commit, shared by the PostgreSQL inbox (inserts, settlements as done) and store (claims,
//! completions): concurrent writes of one kind share one statement, so one transaction and one
//! WAL flush, and a burst costs the database a commit per group rather than per operation.
//!
//! A task per kind gathers the requests queued while the groups before them commit (up to
//! [`MAX_GROUP`] per group, [`IN_FLIGHT`] groups committing at once, each on a connection of
//! the pool): with one caller at a time a group is one request and commits at once; under load
//! the groups grow. Each caller is answered once its group has committed. If a group's statement
//! fails, its requests are run one by one ([`together_or_alone`]), so an item the database
//! refuses fails alone. At most [`QUEUE`] requests wait for the task; a caller waits at most the
//! group's `wait` (for a place in the queue and for its answer), then gets
//! [`StoreError::Unavailable`] (its write may still commit, as when an answer is lost on the
//! network).

mod fenced;

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use runhook::store::StoreError;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::{PostgresConfig, unavailable, unavailable_message};

pub(crate) use fenced::{FencedRow, commit_fenced};

/// Requests waiting for a gathering task; callers wait (asynchronously, within their bound)
/// beyond that.
pub(crate) const QUEUE: usize = 4096;
/// The most requests one group holds.
pub(crate) const MAX_GROUP: usize = 256;
/// Groups of one kind committing at once (each holds a pooled connection meanwhile).
pub(crate) const IN_FLIGHT: usize = 4;

/// One request of a group and where its answer goes.
pub(crate) struct Request<T, R> {
    pub(crate) item: T,
    pub(crate) reply: oneshot::Sender<Result<R, StoreError>>,
}

/// Where requests of one kind go to be committed in groups. Cloning shares the task.
pub(crate) struct Group<T, R> {
    sender: mpsc::Sender<Request<T, R>>,
    /// What the group commits, for messages ("the inbox's inserts").
    what: &'static str,
    /// The longest a caller waits for its answer.
    wait: Duration,
}

impl<T, R> Clone for Group<T, R> {
    fn clone(&self) -> Self {
        Group {
            sender: self.sender.clone(),
            what: self.what,
            wait: self.wait,
        }
    }
}

/// How long a caller of a group of `config`'s pool waits at most: a connection from the pool,
/// then two statements (a group's, and the reads a claim may need), and as long again queued
/// behind the groups committing before it.
pub(crate) fn wait(config: &PostgresConfig) -> Duration {
    (config.connect_timeout + 2 * config.statement_timeout) * 2
}

/// Spawns, on the current runtime, a task that gathers requests of `what` into groups and runs
/// `commit` on each (which answers every request of it); it ends once every [`Group`] is
/// dropped. Callers wait at most `wait`.
pub(crate) fn spawn<T, R, F, Fut>(what: &'static str, wait: Duration, commit: F) -> Group<T, R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(Vec<Request<T, R>>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (sender, requests) = mpsc::channel(QUEUE);
    tokio::spawn(gather(commit, requests));
    Group { sender, what, wait }
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

impl<T, R> Group<T, R> {
    /// Sends `item` to be committed with its group; its answer once the group has committed.
    pub(crate) async fn submit(&self, item: T) -> Result<R, StoreError> {
        let (reply, answer) = oneshot::channel();
        let stopped = || {
            unavailable_message(format!(
                "PostgreSQL: the group commit task of {} stopped",
                self.what
            ))
        };
        let answered = async {
            self.sender
                .send(Request { item, reply })
                .await
                .map_err(|_| stopped())?;
            answer.await.map_err(|_| stopped())?
        };
        tokio::time::timeout(self.wait, answered)
            .await
            .unwrap_or_else(|_| {
                Err(unavailable_message(format!(
                    "PostgreSQL: {} gave no answer within {:?} (the write may still commit)",
                    self.what, self.wait
                )))
            })
    }
}

/// A group's distinct items: the first request of each key, in key order (so groups that share
/// keys lock their rows in the same order), and where each request's key is in that list.
pub(crate) struct Distinct {
    /// The index of each distinct key's first request, in key order.
    pub(crate) firsts: Vec<usize>,
    /// For each request: the position of its key in `firsts`, and whether it is that first.
    pub(crate) slots: Vec<(usize, bool)>,
}

impl Distinct {
    /// The distinct ones of `keys`, one a request.
    pub(crate) fn of<K: Hash + Ord>(keys: &[K]) -> Distinct {
        let mut first_of: HashMap<&K, usize> = HashMap::with_capacity(keys.len());
        for (index, key) in keys.iter().enumerate() {
            first_of.entry(key).or_insert(index);
        }
        let mut firsts: Vec<usize> = first_of.values().copied().collect();
        firsts.sort_unstable_by(|a, b| keys[*a].cmp(&keys[*b]));
        let position: HashMap<usize, usize> = firsts
            .iter()
            .enumerate()
            .map(|(position, index)| (*index, position))
            .collect();
        let slots = keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let first = first_of.get(key).copied().unwrap_or(index);
                (position.get(&first).copied().unwrap_or(0), first == index)
            })
            .collect();
        Distinct { firsts, slots }
    }
}

impl Distinct {
    /// The items of the distinct keys' first requests of `group`, in key order.
    pub(crate) fn items<'a, T, R>(&self, group: &'a [Request<T, R>]) -> Vec<&'a T> {
        self.firsts
            .iter()
            .map(|&index| &group[index].item)
            .collect()
    }
}

/// Runs the group statement `sql` with `params` on `client`: the `(key, number)` of each row it
/// returns (a token, for the rows a claim took or a fenced update touched).
pub(crate) async fn keyed(
    client: &deadpool_postgres::Object,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<HashMap<String, i64>, StoreError> {
    let statement = client.prepare_cached(sql).await.map_err(unavailable)?;
    // One statement: its own transaction.
    client
        .query(&statement, params)
        .await
        .map_err(unavailable)?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<HashMap<String, i64>, tokio_postgres::Error>>()
        .map_err(unavailable)
}

/// Runs `run` on all of `items` in one go (one answer per item, in order); if that fails and
/// there are several, runs it on each item alone, so an item the database refuses fails alone
/// and the others still commit.
pub(crate) async fn together_or_alone<'a, I, A, F, Fut>(
    items: &'a [I],
    run: F,
) -> Vec<Result<A, StoreError>>
where
    F: Fn(&'a [I]) -> Fut,
    Fut: Future<Output = Result<Vec<A>, StoreError>>,
{
    let failed = match run(items).await {
        Ok(answers) if answers.len() == items.len() => {
            return answers.into_iter().map(Ok).collect();
        }
        Ok(_) => unavailable_message("PostgreSQL: a group's statement gave no answer".to_owned()),
        Err(error) => error,
    };
    if items.len() < 2 {
        return items.iter().map(|_| Err(failed.clone())).collect();
    }
    let mut answers = Vec::with_capacity(items.len());
    for index in 0..items.len() {
        let answer = match run(&items[index..=index]).await {
            Ok(mut one) => one.pop().ok_or_else(|| failed.clone()),
            Err(error) => Err(error),
        };
        answers.push(answer);
    }
    answers
}

//! The task's timing, on tokio's paused clock: at once, then every interval; failures, time-outs
//! and a stop; one leader.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::*;

const EVERY: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(5);

/// Lets the spawned task run what is due at the current (paused) instant.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

/// A target that counts its purges and behaves, at call `n`, as `behave(n)` says: 1 fails, 2
/// hangs, others succeed (or every call succeeds).
struct Counting {
    calls: AtomicU64,
    misbehave: bool,
}

#[async_trait]
impl Purgeable for Counting {
    async fn purge(&self, _now: SystemTime) -> Result<u64, StoreError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        match (self.misbehave, call) {
            (true, 1) => Err(StoreError::Unavailable {
                message: "connection refused".to_owned(),
            }),
            (true, 2) => {
                std::future::pending::<()>().await;
                Ok(0)
            }
            _ => Ok(1),
        }
    }
}

/// A leader that grants the lead as its flag says.
struct Flag(Mutex<bool>);

#[async_trait]
impl Leadership for Flag {
    async fn lead(&self) -> Result<bool, StoreError> {
        Ok(*self.0.lock().unwrap())
    }
}

fn counting(misbehave: bool) -> Arc<Counting> {
    Arc::new(Counting {
        calls: AtomicU64::new(0),
        misbehave,
    })
}

fn start(
    maintenance: Maintenance,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(maintenance.every(EVERY).timeout(TIMEOUT).run(async {
        let _ = stopped.await;
    }));
    (stop, task)
}

#[tokio::test(start_paused = true)]
async fn purges_at_once_then_every_interval_until_stopped() {
    let target = counting(false);
    let (stop, task) = start(Maintenance::new().store("a", target.clone()));
    let calls = || target.calls.load(Ordering::SeqCst);
    settle().await;
    assert_eq!(calls(), 1, "the first purge is at start");
    tokio::time::advance(EVERY - Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(calls(), 1, "not before the interval");
    tokio::time::advance(Duration::from_secs(1)).await;
    settle().await;
    assert_eq!(calls(), 2);
    for expected in 3..=5 {
        tokio::time::advance(EVERY).await;
        settle().await;
        assert_eq!(calls(), expected);
    }
    stop.send(()).unwrap();
    settle().await;
    assert!(task.is_finished(), "the task ends when stopped");
    tokio::time::advance(EVERY * 10).await;
    settle().await;
    assert_eq!(calls(), 5, "no purge after the stop");
}

#[tokio::test(start_paused = true)]
async fn failures_and_timeouts_are_logged_and_the_next_tick_still_purges() {
    let target = counting(true);
    let other = counting(false);
    let (stop, task) = start(
        Maintenance::new()
            .store("flaky", target.clone())
            .store("steady", other.clone()),
    );
    let calls = || target.calls.load(Ordering::SeqCst);
    settle().await;
    assert_eq!(calls(), 1);
    assert_eq!(
        other.calls.load(Ordering::SeqCst),
        1,
        "a failure stops no other target"
    );
    tokio::time::advance(EVERY).await;
    settle().await;
    assert_eq!(calls(), 2, "after a failure, the next tick");
    tokio::time::advance(TIMEOUT).await;
    settle().await;
    assert!(!task.is_finished(), "a timeout does not end the task");
    assert_eq!(
        other.calls.load(Ordering::SeqCst),
        2,
        "nor the other targets"
    );
    tokio::time::advance(EVERY - TIMEOUT).await;
    settle().await;
    assert_eq!(calls(), 3, "after a timeout, the next tick");
    stop.send(()).unwrap();
    settle().await;
    assert!(task.is_finished());
}

#[tokio::test(start_paused = true)]
async fn only_the_leader_purges() {
    let target = counting(false);
    let leader = Arc::new(Flag(Mutex::new(false)));
    let (stop, task) = start(
        Maintenance::new()
            .store("a", target.clone())
            .leader(leader.clone()),
    );
    settle().await;
    assert_eq!(target.calls.load(Ordering::SeqCst), 0, "not the leader");
    *leader.0.lock().unwrap() = true;
    tokio::time::advance(EVERY).await;
    settle().await;
    assert_eq!(target.calls.load(Ordering::SeqCst), 1, "the leader now");
    stop.send(()).unwrap();
    settle().await;
    assert!(task.is_finished());
}

#[tokio::test(start_paused = true)]
async fn an_inbox_loses_its_done_rows_past_their_retention() {
    use bytes::Bytes;
    use runhook::inbox::{MemoryInbox, NewInboxEntry, Settlement};
    use runhook::store::IdempotencyKey;

    let inbox = Arc::new(MemoryInbox::new());
    let long_ago = SystemTime::now() - Duration::from_secs(3 * 3600);
    let key = IdempotencyKey::new("done");
    let record = NewInboxEntry::new(
        key.clone(),
        "run.completed",
        long_ago,
        Bytes::from_static(b"{}"),
    );
    inbox.insert(record, long_ago).await.unwrap();
    let claim = inbox
        .claim_due(long_ago, Duration::from_secs(5), 1)
        .await
        .unwrap()
        .pop()
        .unwrap();
    inbox
        .settle(&key, claim.token, long_ago, Settlement::Done)
        .await
        .unwrap();
    let (stop, _task) =
        start(Maintenance::new().inbox("inbox", inbox.clone(), Duration::from_secs(3600)));
    settle().await;
    assert!(inbox.get(&key).await.unwrap().is_none());
    stop.send(()).unwrap();
}

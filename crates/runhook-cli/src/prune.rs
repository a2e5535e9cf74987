//! The periodic clean-up of the stores that need one: PostgreSQL removes expired rows only when
//! pruned, and SQLite sweeps only after claims, so an idle process would otherwise keep its
//! expired rows. Redis expires its keys itself; memory evicts as it goes.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use runhook::StoreError;
use runhook_store::{PostgresStore, SqliteStore};
use tokio::time::{Instant, MissedTickBehavior};

/// How often `listen` prunes its store.
pub(crate) const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The longest one prune may take before it is abandoned (and tried again at the next tick).
pub(crate) const PRUNE_TIMEOUT: Duration = Duration::from_secs(30);

/// A store that `listen` must prune from a periodic task.
#[derive(Debug, Clone)]
pub(crate) enum Prunable {
    /// Rows stay until pruned.
    Postgres(Arc<PostgresStore>),
    /// Swept after every [`SqliteStore::SWEEP_EVERY`] claims, and here when idle.
    Sqlite(Arc<SqliteStore>),
}

impl Prunable {
    /// Removes what no answer depends on any more at `now`; how many rows went.
    async fn prune(&self, now: SystemTime) -> Result<u64, StoreError> {
        match self {
            Prunable::Postgres(store) => store.prune(now).await,
            Prunable::Sqlite(store) => store.prune(now).await,
        }
    }
}

/// Prunes `store` every [`PRUNE_EVERY`] (the first time at once), each prune bounded by
/// [`PRUNE_TIMEOUT`], until `stop` resolves.
pub(crate) async fn prune_periodically(store: Prunable, stop: impl Future<Output = ()>) {
    prune_every(
        PRUNE_EVERY,
        PRUNE_TIMEOUT,
        move || {
            let store = store.clone();
            async move { store.prune(SystemTime::now()).await }
        },
        stop,
    )
    .await;
}

/// Calls `prune` at once and then every `interval` until `stop` resolves; a prune in progress
/// when `stop` resolves is dropped. A prune that takes longer than `timeout` is dropped and
/// logged; the count removed is logged at debug, a failure at warn: nothing stops the loop but
/// `stop`. A tick missed while a prune ran is taken late, not in a burst.
pub(crate) async fn prune_every<F, Fut, E>(
    interval: Duration,
    timeout: Duration,
    mut prune: F,
    stop: impl Future<Output = ()>,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<u64, E>>,
    E: Display,
{
    let mut ticks = tokio::time::interval_at(Instant::now(), interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    tokio::pin!(stop);
    loop {
        tokio::select! {
            biased;
            () = &mut stop => return,
            _ = ticks.tick() => {}
        }
        let outcome = tokio::select! {
            biased;
            () = &mut stop => return,
            outcome = tokio::time::timeout(timeout, prune()) => outcome,
        };
        match outcome {
            Ok(Ok(removed)) => tracing::debug!(removed, "pruned the idempotency store"),
            Ok(Err(error)) => {
                tracing::warn!(error = %error, "pruning the idempotency store failed");
            }
            Err(_) => tracing::warn!(
                timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                "pruning the idempotency store timed out; trying again at the next tick"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
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

    /// A prune that counts its calls in `calls` and behaves as `behave(call number)` says.
    fn counting<B, Fut>(calls: Arc<AtomicU64>, behave: B) -> impl FnMut() -> Fut
    where
        B: Fn(u64) -> Fut,
    {
        move || behave(calls.fetch_add(1, Ordering::SeqCst) + 1)
    }

    #[tokio::test(start_paused = true)]
    async fn prunes_at_once_then_every_interval_until_stopped() {
        let calls = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let prune = counting(Arc::clone(&calls), |_| async { Ok::<u64, StoreError>(3) });
        let task = tokio::spawn(prune_every(EVERY, TIMEOUT, prune, async {
            let _ = stopped.await;
        }));
        settle().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "the first prune is at start"
        );
        tokio::time::advance(EVERY - Duration::from_secs(1)).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1, "not before the interval");
        tokio::time::advance(Duration::from_secs(1)).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        for expected in 3..=5 {
            tokio::time::advance(EVERY).await;
            settle().await;
            assert_eq!(calls.load(Ordering::SeqCst), expected);
        }
        stop.send(()).unwrap();
        settle().await;
        assert!(task.is_finished(), "the task ends when stopped");
        tokio::time::advance(EVERY * 10).await;
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 5, "no prune after the stop");
    }

    #[tokio::test(start_paused = true)]
    async fn failures_and_timeouts_are_logged_and_the_next_tick_still_prunes() {
        let calls = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // 1: fails; 2: hangs past the timeout; 3 and later: succeed.
        let prune = counting(Arc::clone(&calls), |call| async move {
            match call {
                1 => Err("connection refused".to_owned()),
                2 => {
                    std::future::pending::<()>().await;
                    Ok(0)
                }
                _ => Ok(1),
            }
        });
        let task = tokio::spawn(prune_every(EVERY, TIMEOUT, prune, async {
            let _ = stopped.await;
        }));
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        tokio::time::advance(EVERY).await;
        settle().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "after a failure, the next tick"
        );
        tokio::time::advance(TIMEOUT).await;
        settle().await;
        assert!(!task.is_finished(), "a timeout does not end the task");
        tokio::time::advance(EVERY - TIMEOUT).await;
        settle().await;
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "after a timeout, the next tick"
        );
        stop.send(()).unwrap();
        settle().await;
        assert!(task.is_finished());
    }

    #[tokio::test(start_paused = true)]
    async fn a_stop_during_a_prune_ends_the_task_at_once() {
        let calls = Arc::new(AtomicU64::new(0));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let prune = counting(Arc::clone(&calls), |_| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            Ok::<u64, StoreError>(0)
        });
        let task = tokio::spawn(prune_every(EVERY, TIMEOUT, prune, async {
            let _ = stopped.await;
        }));
        settle().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        stop.send(()).unwrap();
        settle().await;
        assert!(task.is_finished(), "not held until the prune ends");
    }

    #[tokio::test]
    async fn a_sqlite_store_is_pruned_through_the_enum() {
        let store = Arc::new(SqliteStore::open_in_memory().await.unwrap());
        let removed = Prunable::Sqlite(store).prune(SystemTime::now()).await;
        assert_eq!(removed.unwrap(), 0);
    }
}

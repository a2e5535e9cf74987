//! What the store benches share: many tasks working through one numbered run of iterations.

#![allow(dead_code)] // each bench uses part of it

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How many tasks call at once in the concurrent measurements.
pub(crate) const CALLERS: u64 = 64;

/// The iterations of one measurement, numbered from 0, handed out one at a time to whichever
/// task asks first.
#[derive(Clone)]
pub(crate) struct Iterations {
    next: Arc<AtomicU64>,
    end: u64,
}

impl Iterations {
    /// The next iteration's number, or `None` once all were handed out.
    pub(crate) fn take(&self) -> Option<u64> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        (i < self.end).then_some(i)
    }
}

/// Runs `caller` on `tasks` tasks at once, all taking from one run of `iters` iterations, and
/// returns the time until the last one finished.
pub(crate) async fn concurrently<F, Fut>(tasks: u64, iters: u64, caller: F) -> Duration
where
    F: Fn(Iterations) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let iterations = Iterations {
        next: Arc::new(AtomicU64::new(0)),
        end: iters,
    };
    let started = Instant::now();
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..tasks {
        running.spawn(caller(iterations.clone()));
    }
    while let Some(finished) = running.join_next().await {
        if let Err(error) = finished {
            std::panic::resume_unwind(error.into_panic());
        }
    }
    started.elapsed()
}

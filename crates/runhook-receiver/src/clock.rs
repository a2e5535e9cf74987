//! The wall clock a receiver reads.

use std::fmt::Debug;
use std::time::SystemTime;

/// Where a receiver gets the wall-clock time it passes to the idempotency store.
///
/// Deadlines use tokio's clock (so tests can pause it); the store needs wall-clock time because a
/// shared store compares times written by several processes.
pub trait Clock: Send + Sync + Debug + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system's clock: the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

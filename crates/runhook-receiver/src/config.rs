//! How a [`Receiver`](crate::Receiver) behaves: limits, deadline, lease, retention, keys; and the
//! clock it reads.

use std::fmt::Debug;
use std::time::{Duration, SystemTime};

use runhook::ledger::{DEFAULT_LEASE, DEFAULT_RETENTION, KeyStrategy};
use runhook::receive::{Authenticator, ReceiveConfig};

/// Configuration of a [`Receiver`](crate::Receiver). Start from `ReceiverConfig::default()` and
/// change what differs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// Body limit (1 MiB), accepted content types and the authenticator (none): the checks of
    /// [`runhook::receive()`].
    pub receive: ReceiveConfig,
    /// How long a request may take, from arrival to response, store included. Default 8 s: under
    /// TinyFish's 10 s attempt timeout, so the sender hears a 503 instead of timing out. When it
    /// passes, the answer is 503 and the handler goes on in the background.
    pub deadline: Duration,
    /// How long a claim is held before another delivery may take it over. Default 60 s, longer
    /// than TinyFish's whole retry window. A handler that can run longer should be idempotent,
    /// or this raised.
    pub lease: Duration,
    /// How long a processed key is remembered. Default 72 h.
    pub retention: Duration,
    /// How the idempotency key of an event is chosen. Default: its `run_id`.
    pub key: KeyStrategy,
}

impl ReceiverConfig {
    /// The default deadline: 8 seconds.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(8);

    /// This configuration with another deadline.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// This configuration with another lease.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// This configuration with another retention.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// This configuration with another key strategy.
    pub fn with_key(mut self, key: KeyStrategy) -> Self {
        self.key = key;
        self
    }

    /// This configuration with another body limit.
    pub fn with_max_body_bytes(mut self, max_body_bytes: usize) -> Self {
        self.receive = self.receive.with_max_body_bytes(max_body_bytes);
        self
    }

    /// This configuration with an authenticator (401 when it refuses).
    pub fn with_authenticator(mut self, authenticator: impl Authenticator + 'static) -> Self {
        self.receive = self.receive.with_authenticator(authenticator);
        self
    }
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            receive: ReceiveConfig::default(),
            deadline: Self::DEFAULT_DEADLINE,
            lease: DEFAULT_LEASE,
            retention: DEFAULT_RETENTION,
            key: KeyStrategy::default(),
        }
    }
}

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

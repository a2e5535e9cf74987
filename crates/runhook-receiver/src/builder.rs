//! Assembling a [`Receiver`]: configuration, store, observer, clock.

use std::fmt;
use std::sync::Arc;

use runhook::store::IdempotencyStore;

use crate::{Clock, ConfigError, Handler, Observer, Receiver, ReceiverConfig, Report, SystemClock};

/// Builds a [`Receiver`]; see [`Receiver::builder`].
pub struct ReceiverBuilder {
    config: ReceiverConfig,
    store: Option<Arc<dyn IdempotencyStore>>,
    handler: Arc<dyn Handler>,
    observer: Option<Arc<dyn Observer>>,
    clock: Arc<dyn Clock>,
}

impl ReceiverBuilder {
    pub(crate) fn new(handler: Arc<dyn Handler>) -> Self {
        ReceiverBuilder {
            config: ReceiverConfig::default(),
            store: None,
            handler,
            observer: None,
            clock: Arc::new(SystemClock),
        }
    }

    /// The configuration (default: [`ReceiverConfig::default`]).
    pub fn config(mut self, config: ReceiverConfig) -> Self {
        self.config = config;
        self
    }

    /// The idempotency store (default: a [`MemoryStore`](runhook::MemoryStore) of
    /// [`ReceiverConfig::store_capacity`] keys).
    ///
    /// Which to use when (the durable ones are in the `runhook-store` crate):
    /// - `MemoryStore`: one process that may forget on restart (tests, a demo). A restart re-runs
    ///   handlers for redelivered runs.
    /// - `SqliteStore`: one process (or a few on one host) that must remember across restarts;
    ///   one file, no server.
    /// - `PostgresStore`: several replicas sharing one database; the usual choice in production.
    /// - `RedisStore`: several replicas when Redis is what the service already runs.
    ///
    /// Every one takes the caller's clock (the receiver's [`Clock`]) for leases and retention.
    pub fn store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// A closure told how every delivery ended (default: none; `tracing` always logs). Its
    /// argument's type is inferred: `.observer(|report| println!("{}", report.outcome))`.
    pub fn observer<F>(self, observer: F) -> Self
    where
        F: Fn(&Report) + Send + Sync + 'static,
    {
        self.report_to(observer)
    }

    /// Sends every report to `observer`: a `tokio::sync::mpsc::UnboundedSender<Report>`, or a
    /// type of yours implementing [`Observer`].
    pub fn report_to(mut self, observer: impl Observer) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The wall clock passed to the store (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// The receiver, or why its configuration cannot work ([`ReceiverConfig::validate`]).
    pub fn build(self) -> Result<Receiver, ConfigError> {
        self.config.validate()?;
        Ok(Receiver::from_parts(
            self.config,
            self.store,
            self.handler,
            self.observer,
            self.clock,
        ))
    }
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

//! Assembling a [`Receiver`]: configuration, store, observer, clock, and inbox mode.

use std::fmt;
use std::sync::Arc;

use runhook::inbox::{Inbox, InboxPolicy};
use runhook::store::IdempotencyStore;

use crate::inbox::{HandlerProcessor, InboxObserver, InboxProcessor, InboxReport, InboxWorkers};
use crate::pipeline::Mode;
use crate::{
    Clock, ConfigError, Handler, Observer, Receiver, ReceiverConfig, Report, RunConfirmer,
    SystemClock,
};

/// Builds a [`Receiver`]: in inline mode from [`Receiver::builder`], in inbox mode from
/// [`Receiver::with_inbox`].
pub struct ReceiverBuilder {
    config: ReceiverConfig,
    store: Option<Arc<dyn IdempotencyStore>>,
    work: Work,
    inbox: Option<Arc<dyn Inbox>>,
    /// Set by [`ReceiverBuilder::inbox_policy`]: replaces `config.inbox.policy`.
    policy: Option<InboxPolicy>,
    observer: Option<Arc<dyn Observer>>,
    clock: Arc<dyn Clock>,
    inbox_observer: Option<Arc<dyn InboxObserver>>,
    confirmer: Option<Arc<dyn RunConfirmer>>,
}

/// What runs each event: a handler (in the request, or in the inbox's workers), or an inbox
/// processor.
enum Work {
    Handler(Arc<dyn Handler>),
    Processor(Arc<dyn InboxProcessor>),
}

impl ReceiverBuilder {
    fn with(work: Work, inbox: Option<Arc<dyn Inbox>>) -> Self {
        ReceiverBuilder {
            config: ReceiverConfig::default(),
            store: None,
            work,
            inbox,
            policy: None,
            observer: None,
            clock: Arc::new(SystemClock),
            inbox_observer: None,
            confirmer: None,
        }
    }

    /// Inline mode: `handler` runs in the request.
    pub(crate) fn inline(handler: Arc<dyn Handler>) -> Self {
        Self::with(Work::Handler(handler), None)
    }

    /// Inbox mode: events go into `inbox`, and `processor` runs in the workers.
    pub(crate) fn inbox_mode(inbox: Arc<dyn Inbox>, processor: Arc<dyn InboxProcessor>) -> Self {
        Self::with(Work::Processor(processor), Some(inbox))
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
    ///
    /// Not used in inbox mode ([`Receiver::with_inbox`]): the inbox deduplicates.
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

    /// The wall clock passed to the store, and in inbox mode to the inbox (default:
    /// [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Turns a receiver built with [`Receiver::builder`] into one in inbox mode, its handler
    /// run by the inbox's workers. Use [`Receiver::with_inbox`] instead, which needs no handler
    /// when the rows are processed by a processor of their own.
    #[deprecated(note = "use `Receiver::with_inbox(inbox, processor)`")]
    pub fn inbox(mut self, inbox: Arc<dyn Inbox>) -> Self {
        self.inbox = Some(inbox);
        self
    }

    /// In inbox mode, process rows with `processor` instead of the receiver's handler. Needs an
    /// inbox ([`ConfigError::ProcessorWithoutInbox`] otherwise).
    #[deprecated(note = "use `Receiver::with_inbox(inbox, processor)`")]
    pub fn inbox_processor(mut self, processor: Arc<dyn InboxProcessor>) -> Self {
        self.work = Work::Processor(processor);
        self
    }

    /// In inbox mode, when a failed row is tried again and when it is given up: replaces
    /// [`InboxConfig::policy`](crate::InboxConfig::policy) of the [configuration](Self::config),
    /// whichever is set first (default: [`InboxPolicy::default`]: waits from 1 s doubling to
    /// 1 h, ± 25 %, up to 100 attempts, 5 minutes per attempt, given up 72 h after receipt).
    pub fn inbox_policy(mut self, policy: InboxPolicy) -> Self {
        self.policy = Some(policy);
        self
    }

    /// In inbox mode, a closure told how every attempt ended (default: none; `tracing` always
    /// logs): `.inbox_observer(|report| println!("{} {}", report.key, report.outcome))`.
    pub fn inbox_observer<F>(self, observer: F) -> Self
    where
        F: Fn(&InboxReport) + Send + Sync + 'static,
    {
        self.inbox_report_to(observer)
    }

    /// In inbox mode, sends every attempt's report to `observer`: a
    /// `tokio::sync::mpsc::UnboundedSender<InboxReport>`, or a type of yours implementing
    /// [`InboxObserver`].
    pub fn inbox_report_to(mut self, observer: impl InboxObserver) -> Self {
        self.inbox_observer = Some(Arc::new(observer));
        self
    }

    /// Confirm by API: before an event is processed (inline mode: before the idempotency claim;
    /// inbox mode: before it is stored), `confirmer` fetches its run (`GET /v1/runs/{run_id}`),
    /// and the event goes on only if the API knows the run in the event's status. A run the API
    /// does not know, or knows in another status, is refused 401 (the store is not touched); an
    /// API that gives no answer within the [deadline](ReceiverConfig::deadline) (after the
    /// confirmer's own retries) gets 503, so the sender tries again.
    ///
    /// The handler gets the API's run, which is authoritative: the event's
    /// [`data`](runhook::RunEvent::data) is the run as the API returned it, not the webhook's
    /// copy (in inbox mode, the event stored is this confirmed one). An event of a type runhook
    /// does not know is confirmed by its top-level `run_id` (and `status`, if it has one) and
    /// passed on unchanged; one without a valid `run_id` is refused 401.
    ///
    /// runhook-tinyfish's `Client` is a confirmer; see the [`confirm`](crate::confirm) module.
    pub fn confirm_with(mut self, confirmer: Arc<dyn RunConfirmer>) -> Self {
        self.confirmer = Some(confirmer);
        self
    }

    /// The receiver, or why its configuration cannot work ([`ReceiverConfig::validate`]). In
    /// inbox mode, spawns the workers on the current tokio runtime ([`ConfigError::NoRuntime`]
    /// outside one).
    pub fn build(mut self) -> Result<Receiver, ConfigError> {
        if let Some(policy) = self.policy {
            self.config.inbox.policy = policy;
        }
        self.config.validate()?;
        let mode = match (self.inbox, self.work) {
            (None, Work::Handler(handler)) => Mode::Inline(handler),
            (None, Work::Processor(_)) => return Err(ConfigError::ProcessorWithoutInbox),
            (Some(inbox), work) => {
                let processor: Arc<dyn InboxProcessor> = match work {
                    Work::Handler(handler) => Arc::new(HandlerProcessor(handler)),
                    Work::Processor(processor) => processor,
                };
                let workers = InboxWorkers::builder(inbox, processor)
                    .config(self.config.clone())
                    .shared_clock(Arc::clone(&self.clock))
                    .shared_observer(self.inbox_observer)
                    .spawn()?;
                Mode::Inbox(workers)
            }
        };
        Ok(Receiver::from_parts(
            self.config,
            self.store,
            mode,
            self.observer,
            self.clock,
            self.confirmer,
        ))
    }
}

impl fmt::Debug for ReceiverBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceiverBuilder")
            .field("config", &self.config)
            .field("inbox", &self.inbox.is_some())
            .field("confirm", &self.confirmer.is_some())
            .finish_non_exhaustive()
    }
}

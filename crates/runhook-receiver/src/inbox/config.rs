//! [`InboxConfig`]: every setting of inbox mode in one place.

use std::time::Duration;

use runhook::inbox::{DEFAULT_INBOX_LEASE, InboxPolicy};

use crate::ConfigError;

/// The settings of inbox mode's workers: how many rows at once, the lease of a claimed row, how
/// often idle workers look for due rows, how long done rows are kept, and the retry policy.
///
/// It is [`ReceiverConfig::inbox`](crate::ReceiverConfig::inbox) (a receiver in inbox mode, or
/// [`InboxWorkers`](crate::inbox::InboxWorkers) spawned directly); the workers also use the
/// receiver's [`store_timeout`](crate::ReceiverConfig::store_timeout) for each call to the inbox.
///
/// ```
/// use std::time::Duration;
/// use runhook::inbox::InboxPolicy;
/// use runhook_receiver::{InboxConfig, ReceiverConfig};
///
/// let config = ReceiverConfig::default().with_inbox(
///     InboxConfig::default()
///         .with_concurrency(4)
///         .with_lease(Duration::from_secs(60))
///         .with_policy(InboxPolicy::default()),
/// );
/// assert_eq!(config.inbox.renewal(), Duration::from_secs(20));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InboxConfig {
    /// How many rows the workers process at once. Default 16.
    pub concurrency: usize,
    /// How long a worker holds a claimed row without renewal before another worker may take it.
    /// Default [`DEFAULT_INBOX_LEASE`] (30 s), renewed every third of it while the processor
    /// runs. A processor whose lease is lost is stopped (see "Leases" in `docs/receiving.md`).
    pub lease: Duration,
    /// How often idle workers look for due rows. Default 250 ms; an insert by the receiver, and
    /// a finished attempt, wake them at once.
    pub poll: Duration,
    /// How long done rows are kept (and so deduplicate redeliveries) before a purge sweep
    /// deletes them. Default 72 h. Dead rows are never purged by the workers.
    pub retention: Duration,
    /// Whether the workers run a [`Maintenance`](crate::maintenance::Maintenance) of their own
    /// that purges done rows past `retention`, every 5 minutes on every process. Default `true`.
    /// Set it to `false` when a shared `Maintenance` purges this inbox (one replica at a time on
    /// PostgreSQL, with its lease as the leader), as `runhook listen --forward-to` does.
    pub purge: bool,
    /// Whether the workers claim and process rows. Default `true`. Set it to `false` for a
    /// receiver that only stores events for other processes' workers, such as a one-shot
    /// reconcile sweep (`runhook reconcile --inbox`) beside a running relay: then no worker
    /// runs in this process, and `purge` does not apply.
    pub claim: bool,
    /// When a failed row is tried again and when it is given up (default
    /// [`InboxPolicy::default`]: waits from 1 s doubling to 1 h, ± 25 %, up to 100 attempts, 5
    /// minutes per attempt, given up 72 h after receipt).
    pub policy: InboxPolicy,
}

impl InboxConfig {
    /// The default number of rows processed at once: 16.
    pub const DEFAULT_CONCURRENCY: usize = 16;
    /// The default interval of idle workers' look for due rows: 250 ms.
    pub const DEFAULT_POLL: Duration = Duration::from_millis(250);
    /// The default retention of done rows: 72 hours.
    pub const DEFAULT_RETENTION: Duration = Duration::from_secs(72 * 60 * 60);

    /// These settings processing up to `concurrency` rows at once.
    pub fn with_concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency;
        self
    }

    /// These settings with the workers claiming rows (`true`, the default) or not (a receiver
    /// that only stores events for another process to process).
    pub fn with_claim(mut self, claim: bool) -> Self {
        self.claim = claim;
        self
    }

    /// These settings with another lease (renewed every third of it).
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// These settings with idle workers looking for due rows every `poll`.
    pub fn with_poll(mut self, poll: Duration) -> Self {
        self.poll = poll;
        self
    }

    /// These settings keeping done rows for `retention`.
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// These settings with the workers' own purge of done rows on (`true`, the default) or off
    /// (a shared [`Maintenance`](crate::maintenance::Maintenance) purges the inbox).
    pub fn with_purge(mut self, purge: bool) -> Self {
        self.purge = purge;
        self
    }

    /// These settings with another retry policy.
    pub fn with_policy(mut self, policy: InboxPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// How often a worker renews the lease of a row it processes: a third of the lease.
    pub fn renewal(&self) -> Duration {
        self.lease / 3
    }

    /// Checks that the settings can work (the receiver's builder and the workers' call it).
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (name, value) in [
            ("inbox_lease", self.lease),
            ("inbox_renewal (a third of inbox_lease)", self.renewal()),
            ("inbox_poll", self.poll),
            ("inbox_retention", self.retention),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroDuration { name });
            }
        }
        if self.concurrency == 0 {
            return Err(ConfigError::ZeroCapacity {
                name: "inbox_concurrency",
            });
        }
        Ok(())
    }
}

impl Default for InboxConfig {
    fn default() -> Self {
        InboxConfig {
            concurrency: Self::DEFAULT_CONCURRENCY,
            lease: DEFAULT_INBOX_LEASE,
            poll: Self::DEFAULT_POLL,
            retention: Self::DEFAULT_RETENTION,
            purge: true,
            claim: true,
            policy: InboxPolicy::default(),
        }
    }
}

//! How a [`Receiver`](crate::Receiver) behaves: limits, deadline, lease, retention, keys, and the
//! inbox workers' settings.

use std::time::Duration;

use runhook::MemoryStore;
use runhook::receive::{Authenticator, RequestChecks};
use runhook::store::{DEFAULT_LEASE, DEFAULT_RETENTION, KeyStrategy};

use crate::{BodyBudget, ConfigError, InboxConfig};

/// Configuration of a [`Receiver`](crate::Receiver). Start from `ReceiverConfig::default()` and
/// change what differs; [`ReceiverBuilder::build`](crate::ReceiverBuilder::build) checks it
/// ([`ReceiverConfig::validate`]).
///
/// The times fit TinyFish's delivery schedule: 4 attempts, 10 s each, waits of 1, 2 and 4 s.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceiverConfig {
    /// Body limit, accepted content types, strictness and the authenticator (none): the checks
    /// of [`runhook::receive()`].
    pub receive: RequestChecks,
    /// How long the receiver may take to answer once the request's body has been read: the
    /// idempotency claim and the handler. Default 8 s: with a body read in well under 2 s this
    /// stays under TinyFish's 10 s attempt timeout, so the sender hears a 503 instead of timing
    /// out. When it passes, the answer is 503 and the handler goes on in the background (up to
    /// [`max_handler_time`](Self::max_handler_time)). Must be above 0 and under 10 s.
    pub deadline: Duration,
    /// How long a claim is held without renewal before another delivery may take it over.
    /// Default 5 s ([`DEFAULT_LEASE`]): short, so a claim abandoned by a crash is retaken before
    /// the sender's next attempt; the receiver renews it every [`renewal`](Self::renewal) while
    /// its handler runs.
    pub lease: Duration,
    /// How often the claim is renewed while the handler runs. Default a third of the lease
    /// (1.67 s), so one slow or failed renewal still leaves the claim held. Must be under the
    /// lease.
    pub renewal: Duration,
    /// The longest a handler may run. Default 5 minutes. After it, the handler is stopped (its
    /// future dropped), the claim released and the event reported as a failure (and kept as a
    /// dead letter if its response had gone out).
    pub max_handler_time: Duration,
    /// How long a renewal, complete or release call to the store may take. Default 2 s. A slow
    /// store never holds up the handler: renewals run beside it.
    pub store_timeout: Duration,
    /// How long the body may take to arrive, from the request head. Default 10 s: TinyFish
    /// abandons an attempt after 10 s, so a body still arriving then serves no one. A body that
    /// takes longer gets 503 and the connection is closed.
    pub body_timeout: Duration,
    /// The process-wide budget of buffered body bytes this receiver draws on (default
    /// [`BodyBudget::global`]). A request that would exceed it gets 503 with `Retry-After`.
    pub body_budget: BodyBudget,
    /// How long a processed key is remembered. Default 72 h.
    pub retention: Duration,
    /// How the idempotency key of an event is chosen. Default: its `run_id`.
    pub key: KeyStrategy,
    /// How many keys the default in-memory store holds (used when no store is given). Default
    /// [`MemoryStore::DEFAULT_CAPACITY`].
    pub store_capacity: usize,
    /// How many dead letters are kept (the oldest are dropped past it, with an error log).
    /// Default 1,000.
    pub dead_letter_capacity: usize,
    /// Inbox mode: the workers' settings (concurrency, lease, poll, retention, retry policy).
    pub inbox: InboxConfig,
}

impl ReceiverConfig {
    /// The default deadline: 8 seconds.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(8);
    /// The default maximum handler run time: 5 minutes.
    pub const DEFAULT_MAX_HANDLER_TIME: Duration = Duration::from_secs(5 * 60);
    /// The default timeout of a renewal, complete or release: 2 seconds.
    pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(2);
    /// The default body timeout: 10 seconds.
    pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(10);
    /// The default number of dead letters kept: 1,000.
    pub const DEFAULT_DEAD_LETTER_CAPACITY: usize = 1_000;
    /// The default number of inbox rows processed at once: 16 ([`InboxConfig::DEFAULT_CONCURRENCY`]).
    pub const DEFAULT_INBOX_CONCURRENCY: usize = InboxConfig::DEFAULT_CONCURRENCY;
    /// The default interval of idle inbox workers' look for due rows: 250 ms
    /// ([`InboxConfig::DEFAULT_POLL`]).
    pub const DEFAULT_INBOX_POLL: Duration = InboxConfig::DEFAULT_POLL;
    /// The default retention of done inbox rows: 72 hours ([`InboxConfig::DEFAULT_RETENTION`]).
    pub const DEFAULT_INBOX_RETENTION: Duration = InboxConfig::DEFAULT_RETENTION;
    /// The sender's attempt timeout, which the deadline must stay under.
    pub const SENDER_TIMEOUT: Duration = Duration::from_secs(10);

    /// This configuration with another deadline.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// This configuration with another lease, renewed every third of it.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self.renewal = lease / 3;
        self
    }

    /// This configuration with another renewal period.
    pub fn with_renewal(mut self, renewal: Duration) -> Self {
        self.renewal = renewal;
        self
    }

    /// This configuration with another maximum handler run time.
    pub fn with_max_handler_time(mut self, max_handler_time: Duration) -> Self {
        self.max_handler_time = max_handler_time;
        self
    }

    /// This configuration with another store timeout.
    pub fn with_store_timeout(mut self, store_timeout: Duration) -> Self {
        self.store_timeout = store_timeout;
        self
    }

    /// This configuration with another body timeout.
    pub fn with_body_timeout(mut self, body_timeout: Duration) -> Self {
        self.body_timeout = body_timeout;
        self
    }

    /// This configuration drawing on another body budget.
    pub fn with_body_budget(mut self, body_budget: BodyBudget) -> Self {
        self.body_budget = body_budget;
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

    /// This configuration with another capacity of the default in-memory store.
    pub fn with_store_capacity(mut self, store_capacity: usize) -> Self {
        self.store_capacity = store_capacity;
        self
    }

    /// This configuration keeping another number of dead letters.
    pub fn with_dead_letter_capacity(mut self, dead_letter_capacity: usize) -> Self {
        self.dead_letter_capacity = dead_letter_capacity;
        self
    }

    /// This configuration with other inbox settings.
    pub fn with_inbox(mut self, inbox: InboxConfig) -> Self {
        self.inbox = inbox;
        self
    }

    /// This configuration processing up to `inbox_concurrency` inbox rows at once (a shortcut
    /// for [`InboxConfig::with_concurrency`]).
    pub fn with_inbox_concurrency(mut self, inbox_concurrency: usize) -> Self {
        self.inbox.concurrency = inbox_concurrency;
        self
    }

    /// This configuration with another inbox lease, renewed every third of it (a shortcut for
    /// [`InboxConfig::with_lease`]).
    pub fn with_inbox_lease(mut self, inbox_lease: Duration) -> Self {
        self.inbox.lease = inbox_lease;
        self
    }

    /// This configuration with idle inbox workers looking for due rows every `inbox_poll` (a
    /// shortcut for [`InboxConfig::with_poll`]).
    pub fn with_inbox_poll(mut self, inbox_poll: Duration) -> Self {
        self.inbox.poll = inbox_poll;
        self
    }

    /// This configuration keeping done inbox rows for `inbox_retention` (a shortcut for
    /// [`InboxConfig::with_retention`]).
    pub fn with_inbox_retention(mut self, inbox_retention: Duration) -> Self {
        self.inbox.retention = inbox_retention;
        self
    }

    /// How often a worker renews the lease of a row it processes: a third of the inbox lease.
    #[deprecated(note = "use `config.inbox.renewal()`")]
    pub fn inbox_renewal(&self) -> Duration {
        self.inbox.renewal()
    }

    /// Checks that the configuration can work; the receiver's builder calls it.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.lease.is_zero() {
            return Err(ConfigError::ZeroLease);
        }
        if self.deadline.is_zero() || self.deadline >= Self::SENDER_TIMEOUT {
            return Err(ConfigError::Deadline {
                deadline: self.deadline,
            });
        }
        if self.renewal.is_zero() || self.renewal >= self.lease {
            return Err(ConfigError::Renewal {
                renewal: self.renewal,
                lease: self.lease,
            });
        }
        for (name, value) in [
            ("max_handler_time", self.max_handler_time),
            ("store_timeout", self.store_timeout),
            ("body_timeout", self.body_timeout),
            ("retention", self.retention),
        ] {
            if value.is_zero() {
                return Err(ConfigError::ZeroDuration { name });
            }
        }
        for (name, value) in [
            ("store_capacity", self.store_capacity),
            ("dead_letter_capacity", self.dead_letter_capacity),
        ] {
            if value == 0 {
                return Err(ConfigError::ZeroCapacity { name });
            }
        }
        self.inbox.validate()?;
        let max_body_bytes = self.receive.limits.max_body_bytes;
        let budget = self.body_budget.capacity();
        if max_body_bytes == 0 || max_body_bytes > budget {
            return Err(ConfigError::BodyLimit {
                max_body_bytes,
                budget,
            });
        }
        Ok(())
    }
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            receive: RequestChecks::default(),
            deadline: Self::DEFAULT_DEADLINE,
            lease: DEFAULT_LEASE,
            renewal: DEFAULT_LEASE / 3,
            max_handler_time: Self::DEFAULT_MAX_HANDLER_TIME,
            store_timeout: Self::DEFAULT_STORE_TIMEOUT,
            body_timeout: Self::DEFAULT_BODY_TIMEOUT,
            body_budget: BodyBudget::global(),
            retention: DEFAULT_RETENTION,
            key: KeyStrategy::default(),
            store_capacity: MemoryStore::DEFAULT_CAPACITY,
            dead_letter_capacity: Self::DEFAULT_DEAD_LETTER_CAPACITY,
            inbox: InboxConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_valid() {
        assert_eq!(ReceiverConfig::default().validate(), Ok(()));
    }

    #[test]
    fn unworkable_settings_are_refused_with_their_reason() {
        let config = ReceiverConfig::default;
        let cases = [
            (config().with_lease(Duration::ZERO), ConfigError::ZeroLease),
            (
                config().with_deadline(Duration::ZERO),
                ConfigError::Deadline {
                    deadline: Duration::ZERO,
                },
            ),
            (
                config().with_deadline(Duration::from_secs(10)),
                ConfigError::Deadline {
                    deadline: Duration::from_secs(10),
                },
            ),
            (
                config().with_renewal(DEFAULT_LEASE),
                ConfigError::Renewal {
                    renewal: DEFAULT_LEASE,
                    lease: DEFAULT_LEASE,
                },
            ),
            (
                config().with_renewal(Duration::ZERO),
                ConfigError::Renewal {
                    renewal: Duration::ZERO,
                    lease: DEFAULT_LEASE,
                },
            ),
            (
                config().with_store_capacity(0),
                ConfigError::ZeroCapacity {
                    name: "store_capacity",
                },
            ),
            (
                config().with_dead_letter_capacity(0),
                ConfigError::ZeroCapacity {
                    name: "dead_letter_capacity",
                },
            ),
            (
                config().with_max_handler_time(Duration::ZERO),
                ConfigError::ZeroDuration {
                    name: "max_handler_time",
                },
            ),
            (
                config().with_store_timeout(Duration::ZERO),
                ConfigError::ZeroDuration {
                    name: "store_timeout",
                },
            ),
            (
                config().with_inbox_concurrency(0),
                ConfigError::ZeroCapacity {
                    name: "inbox_concurrency",
                },
            ),
            (
                config().with_inbox_poll(Duration::ZERO),
                ConfigError::ZeroDuration { name: "inbox_poll" },
            ),
            (
                config().with_inbox_lease(Duration::ZERO),
                ConfigError::ZeroDuration {
                    name: "inbox_lease",
                },
            ),
            (
                config().with_max_body_bytes(0),
                ConfigError::BodyLimit {
                    max_body_bytes: 0,
                    budget: BodyBudget::DEFAULT_CAPACITY,
                },
            ),
            (
                config()
                    .with_body_budget(BodyBudget::new(1000))
                    .with_max_body_bytes(1001),
                ConfigError::BodyLimit {
                    max_body_bytes: 1001,
                    budget: 1000,
                },
            ),
        ];
        for (config, expected) in cases {
            assert_eq!(config.validate(), Err(expected.clone()), "{expected}");
        }
        assert_eq!(
            config()
                .with_deadline(Duration::from_millis(9_999))
                .validate(),
            Ok(())
        );
    }
}

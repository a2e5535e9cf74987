//! Configuring and starting a [`Dispatcher`].

use std::time::Duration;

use reqwest::Certificate;
use runhook::AddressPolicy;

use crate::dispatcher::Dispatcher;
use crate::error::BuildError;
use crate::resolver::HostLookup;
use crate::sender::SenderBuilder;

/// How many deliveries a dispatcher holds at most by default: 100 000.
pub const DEFAULT_MAX_PENDING: usize = 100_000;

/// Settings shared by the driver and its attempt tasks.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) max_in_flight: usize,
    pub(crate) max_per_host: usize,
    pub(crate) max_pending: usize,
    pub(crate) excerpt_limit: usize,
}

/// Builds a [`Dispatcher`]. The defaults follow docs/protocol.md §4.2: HTTPS only, public addresses
/// only, system DNS and system TLS roots.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use runhook_dispatch::DispatcherBuilder;
///
/// let dispatcher = DispatcherBuilder::new()
///     .max_in_flight(128)
///     .max_per_host(8)
///     .max_pending(10_000)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "a builder does nothing until `build` is called"]
pub struct DispatcherBuilder {
    settings: Settings,
    sender: SenderBuilder,
    report_capacity: usize,
}

impl Default for DispatcherBuilder {
    fn default() -> Self {
        DispatcherBuilder::new()
    }
}

impl DispatcherBuilder {
    /// The defaults: public HTTPS endpoints only, 256 attempts in flight, 16 per host, 100 000
    /// deliveries held.
    pub fn new() -> Self {
        DispatcherBuilder {
            settings: Settings {
                max_in_flight: 256,
                max_per_host: 16,
                max_pending: DEFAULT_MAX_PENDING,
                excerpt_limit: 512,
            },
            sender: SenderBuilder::new(),
            report_capacity: 1024,
        }
    }

    /// Which address classes may be delivered to; see
    /// [`SenderBuilder::address_policy`]. The default allows public addresses only.
    pub fn address_policy(mut self, policy: AddressPolicy) -> Self {
        self.sender = self.sender.address_policy(policy);
        self
    }

    /// At most this many attempts in flight at once, over all hosts (default 256).
    pub fn max_in_flight(mut self, limit: usize) -> Self {
        self.settings.max_in_flight = limit;
        self
    }

    /// At most this many attempts in flight at once to one host and port (default 16).
    pub fn max_per_host(mut self, limit: usize) -> Self {
        self.settings.max_per_host = limit;
        self
    }

    /// At most this many deliveries held at once: submitted and not yet ended, whether in
    /// flight, waiting for a slot or waiting for a retry (default [`DEFAULT_MAX_PENDING`]).
    /// Beyond it, [`Dispatcher::submit`] fails with
    /// [`SubmitError::Full`](crate::SubmitError::Full) until some end.
    pub fn max_pending(mut self, limit: usize) -> Self {
        self.settings.max_pending = limit;
        self
    }

    /// Trusts `certificate` as a root in addition to the built-in roots (for a test CA or a
    /// private CA).
    pub fn add_root_certificate(mut self, certificate: Certificate) -> Self {
        self.sender = self.sender.add_root_certificate(certificate);
        self
    }

    /// Trusts the PEM certificates in `pem` as roots; see
    /// [`add_root_certificate`](Self::add_root_certificate).
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, BuildError> {
        self.sender = self.sender.add_root_certificates_pem(pem)?;
        Ok(self)
    }

    /// Whether the system's roots are trusted too (default `true`). With `false`, only the roots
    /// added with [`add_root_certificate`](Self::add_root_certificate) are.
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.sender = self.sender.built_in_roots(enabled);
        self
    }

    /// Replaces the system resolver, e.g. with a [`StaticLookup`](crate::StaticLookup). Whatever
    /// it returns still goes through the address policy.
    pub fn lookup(mut self, lookup: impl HostLookup) -> Self {
        self.sender = self.sender.lookup(lookup);
        self
    }

    /// How many bytes of each response body are read at most (default 64 KiB). The rest is left
    /// unread and the connection is not reused.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.sender = self.sender.body_limit(bytes);
        self
    }

    /// How many bytes of the body each [`AttemptReport`](crate::AttemptReport) keeps (default
    /// 512).
    pub fn excerpt_limit(mut self, bytes: usize) -> Self {
        self.settings.excerpt_limit = bytes;
        self
    }

    /// How many reports a slow subscriber may fall behind before it misses some (default 1024).
    pub fn report_capacity(mut self, capacity: usize) -> Self {
        self.report_capacity = capacity.max(1);
        self
    }

    /// Replaces the `User-Agent` (default [`USER_AGENT`](crate::USER_AGENT)).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.sender = self.sender.user_agent(user_agent);
        self
    }

    /// How long an idle keep-alive connection is kept (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.sender = self.sender.pool_idle_timeout(timeout);
        self
    }

    /// Builds the sender and starts the driver task on the current tokio runtime.
    pub fn build(self) -> Result<Dispatcher, BuildError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        for (what, limit) in [
            ("max_in_flight", self.settings.max_in_flight),
            ("max_per_host", self.settings.max_per_host),
            ("max_pending", self.settings.max_pending),
        ] {
            if limit == 0 {
                return Err(BuildError::ZeroLimit { what });
            }
        }
        let sender = self
            .sender
            .max_idle_per_host(self.settings.max_per_host)
            .build()?;
        Ok(Dispatcher::start(
            &runtime,
            self.settings,
            sender,
            self.report_capacity,
        ))
    }
}

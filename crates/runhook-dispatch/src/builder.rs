//! Configuring and starting a [`Dispatcher`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::Certificate;
use runhook::AddressPolicy;

use crate::dispatcher::Dispatcher;
use crate::error::BuildError;
use crate::resolver::{AddressFilter, HostLookup, PolicyResolver, SystemLookup};

/// The `User-Agent` every request carries: `runhook/<version>`.
pub const USER_AGENT: &str = concat!("runhook/", env!("CARGO_PKG_VERSION"));

/// How many response-body bytes an attempt reads at most.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// Settings shared by the driver and its attempt tasks.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) address_policy: AddressPolicy,
    pub(crate) max_in_flight: usize,
    pub(crate) max_per_host: usize,
    pub(crate) body_limit: usize,
    pub(crate) excerpt_limit: usize,
}

/// The two HTTP clients: HTTPS always, plain HTTP only when opted in (and then only towards
/// loopback addresses).
#[derive(Debug, Clone)]
pub(crate) struct Clients {
    pub(crate) https: reqwest::Client,
    pub(crate) http: Option<reqwest::Client>,
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
///     .build()?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct DispatcherBuilder {
    settings: Settings,
    roots: Vec<Certificate>,
    built_in_roots: bool,
    lookup: Arc<dyn HostLookup>,
    report_capacity: usize,
    user_agent: String,
    pool_idle_timeout: Duration,
}

impl std::fmt::Debug for DispatcherBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DispatcherBuilder")
            .field("settings", &self.settings)
            .field("roots", &self.roots.len())
            .field("built_in_roots", &self.built_in_roots)
            .field("report_capacity", &self.report_capacity)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl Default for DispatcherBuilder {
    fn default() -> Self {
        DispatcherBuilder::new()
    }
}

impl DispatcherBuilder {
    /// The defaults: public HTTPS endpoints only, 256 attempts in flight, 16 per host.
    pub fn new() -> Self {
        DispatcherBuilder {
            settings: Settings {
                address_policy: AddressPolicy::default(),
                max_in_flight: 256,
                max_per_host: 16,
                body_limit: DEFAULT_BODY_LIMIT,
                excerpt_limit: 512,
            },
            roots: Vec::new(),
            built_in_roots: true,
            lookup: Arc::new(SystemLookup),
            report_capacity: 1024,
            user_agent: USER_AGENT.to_owned(),
            pool_idle_timeout: Duration::from_secs(90),
        }
    }

    /// Which address classes may be delivered to, checked on IP-literal URLs and after DNS
    /// resolution (docs/protocol.md §4.2). The default allows public addresses only.
    ///
    /// The opt-ins are for local development: [`AddressPolicy::allow_loopback`] unlocks loopback
    /// addresses *and* plain `http://` to a loopback host (every address such a URL resolves to
    /// must then be loopback); [`AddressPolicy::allow_private`] unlocks private, CGNAT and
    /// unique-local addresses. Link-local and cloud metadata addresses are never allowed.
    pub fn address_policy(mut self, policy: AddressPolicy) -> Self {
        self.settings.address_policy = policy;
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

    /// Trusts `certificate` as a root in addition to the built-in roots (for a test CA or a
    /// private CA).
    pub fn add_root_certificate(mut self, certificate: Certificate) -> Self {
        self.roots.push(certificate);
        self
    }

    /// Trusts the PEM certificates in `pem` as roots; see
    /// [`add_root_certificate`](Self::add_root_certificate).
    pub fn add_root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, BuildError> {
        let certificates = Certificate::from_pem_bundle(pem).map_err(BuildError::Certificate)?;
        self.roots.extend(certificates);
        Ok(self)
    }

    /// Whether the system's roots are trusted too (default `true`). With `false`, only the roots
    /// added with [`add_root_certificate`](Self::add_root_certificate) are.
    pub fn built_in_roots(mut self, enabled: bool) -> Self {
        self.built_in_roots = enabled;
        self
    }

    /// Replaces the system resolver, e.g. with a [`StaticLookup`](crate::StaticLookup). Whatever
    /// it returns still goes through the address policy.
    pub fn lookup(mut self, lookup: impl HostLookup) -> Self {
        self.lookup = Arc::new(lookup);
        self
    }

    /// How many bytes of each response body are read at most (default 64 KiB). The rest is left
    /// unread and the connection is not reused.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.settings.body_limit = bytes;
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

    /// Replaces the `User-Agent` (default [`USER_AGENT`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// How long an idle keep-alive connection is kept (default 90 s).
    pub fn pool_idle_timeout(mut self, timeout: Duration) -> Self {
        self.pool_idle_timeout = timeout;
        self
    }

    /// Builds the HTTP clients and starts the driver task on the current tokio runtime.
    pub fn build(self) -> Result<Dispatcher, BuildError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        if self.settings.max_in_flight == 0 {
            return Err(BuildError::ZeroLimit {
                what: "max_in_flight",
            });
        }
        if self.settings.max_per_host == 0 {
            return Err(BuildError::ZeroLimit {
                what: "max_per_host",
            });
        }
        let policy = self.settings.address_policy;
        let https = self.client(AddressFilter::Policy(policy), true)?;
        let http = if policy.allow_loopback {
            Some(self.client(AddressFilter::LoopbackOnly(policy), false)?)
        } else {
            None
        };
        Ok(Dispatcher::start(
            &runtime,
            self.settings,
            Clients { https, http },
            self.report_capacity,
        ))
    }

    fn client(
        &self,
        filter: AddressFilter,
        https_only: bool,
    ) -> Result<reqwest::Client, BuildError> {
        let resolver = PolicyResolver::new(Arc::clone(&self.lookup), filter);
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(self.user_agent.clone())
            .dns_resolver(resolver)
            .https_only(https_only)
            .pool_idle_timeout(self.pool_idle_timeout)
            .pool_max_idle_per_host(self.settings.max_per_host);
        let builder = if self.built_in_roots {
            builder.tls_certs_merge(self.roots.iter().cloned())
        } else {
            builder.tls_certs_only(self.roots.iter().cloned())
        };
        builder.build().map_err(BuildError::Client)
    }
}

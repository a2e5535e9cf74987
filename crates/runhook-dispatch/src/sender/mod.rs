//! The one-attempt sender: a [`Sender`] POSTs a body to a checked [`Target`] once, within one
//! deadline, and says what came of it ([`Exchange`]). The [`Dispatcher`](crate::Dispatcher)
//! drives retries on top of it; the relay's forwarder and the emulator's webhook deliveries send
//! with it directly. Its rules are listed on [`Sender`].

mod post;
mod target;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Certificate;
use runhook::AddressPolicy;

use crate::error::BuildError;
use crate::resolver::{AddressFilter, HostLookup, PolicyResolver, SystemLookup};

pub use post::{Exchange, Post};
pub use target::{Target, TargetError};

/// The `User-Agent` every request carries: `runhook/<version>`.
pub const USER_AGENT: &str = concat!("runhook/", env!("CARGO_PKG_VERSION"));

/// How many response-body bytes an attempt reads at most, by default: 64 KiB.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// The time one attempt may take when [`Post::timeout`] or [`Post::deadline`] is not given:
/// 30 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends one request at a time under runhook's rules. Cheap to clone: clones share the
/// connection pools.
///
/// What it owns, so that every sender in runhook applies the same rules:
/// - the address rules (docs/protocol.md §4.2): IP-literal URLs are checked by
///   [`Sender::target`], host names after DNS by the resolver of its HTTP clients (see
///   [`HostLookup`]), so DNS rebinding cannot reach a forbidden address;
/// - HTTPS with rustls, no redirects, no proxy; plain `http` only to loopback, and only when the
///   policy opts in to loopback;
/// - one deadline over connect, TLS, request, response head and body;
/// - the answer-body cap ([`SenderBuilder::body_limit`]);
/// - the error kinds ([`SendError`](crate::SendError)).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use bytes::Bytes;
/// use runhook_dispatch::Sender;
///
/// let sender = Sender::builder().build()?;
/// let target = sender.target("https://hooks.example.com/tinyfish")?;
/// let exchange = sender
///     .post(&target, Bytes::from_static(b"{}"))
///     .timeout(Duration::from_secs(10))
///     .send()
///     .await;
/// println!("{:?} {:?}", exchange.status, exchange.error);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Sender {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    policy: AddressPolicy,
    body_limit: usize,
    https: reqwest::Client,
    /// Plain `http`, only when loopback is opted in (and then only towards loopback addresses).
    http: Option<reqwest::Client>,
}

impl Sender {
    /// A builder with the defaults: public HTTPS endpoints only, system DNS and roots.
    pub fn builder() -> SenderBuilder {
        SenderBuilder::new()
    }

    /// The address rules this sender applies.
    pub fn address_policy(&self) -> AddressPolicy {
        self.inner.policy
    }

    /// How many bytes of an answer's body are read at most.
    pub fn body_limit(&self) -> usize {
        self.inner.body_limit
    }

    /// Checks `url` against the webhook URL rules and, for an IP-literal host, the address rules
    /// (a host name is checked after DNS, on every connection).
    pub fn target(&self, url: &str) -> Result<Target, TargetError> {
        Target::check(url, self.inner.policy)
    }

    /// A POST of `body` (sent as `application/json`) to `target`; add headers and a deadline,
    /// then [`send`](Post::send) it.
    pub fn post<'a>(&'a self, target: &'a Target, body: bytes::Bytes) -> Post<'a> {
        Post::new(self, target, body)
    }

    /// The HTTP client for `target`.
    fn client(&self, target: &Target) -> &reqwest::Client {
        match (&self.inner.http, target.is_plain_http()) {
            (Some(http), true) => http,
            _ => &self.inner.https,
        }
    }
}

/// Builds a [`Sender`]. The defaults follow docs/protocol.md §4.2: HTTPS only, public addresses
/// only, system DNS and system TLS roots.
#[must_use = "a builder does nothing until `build` is called"]
pub struct SenderBuilder {
    policy: AddressPolicy,
    roots: Vec<Certificate>,
    built_in_roots: bool,
    lookup: Arc<dyn HostLookup>,
    user_agent: String,
    pool_idle_timeout: Duration,
    max_idle_per_host: usize,
    body_limit: usize,
}

impl std::fmt::Debug for SenderBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SenderBuilder")
            .field("policy", &self.policy)
            .field("roots", &self.roots.len())
            .field("built_in_roots", &self.built_in_roots)
            .field("user_agent", &self.user_agent)
            .field("max_idle_per_host", &self.max_idle_per_host)
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

impl Default for SenderBuilder {
    fn default() -> Self {
        SenderBuilder::new()
    }
}

impl SenderBuilder {
    /// The defaults: public HTTPS endpoints only, 16 idle connections kept per host.
    pub fn new() -> Self {
        SenderBuilder {
            policy: AddressPolicy::default(),
            roots: Vec::new(),
            built_in_roots: true,
            lookup: Arc::new(SystemLookup),
            user_agent: USER_AGENT.to_owned(),
            pool_idle_timeout: Duration::from_secs(90),
            max_idle_per_host: 16,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Which address classes may be sent to, checked on IP-literal URLs and after DNS
    /// resolution (docs/protocol.md §4.2). The default allows public addresses only.
    ///
    /// The opt-ins are for local development: [`AddressPolicy::allow_loopback`] unlocks loopback
    /// addresses *and* plain `http://` to a loopback host (every address such a URL resolves to
    /// must then be loopback); [`AddressPolicy::allow_private`] unlocks private, CGNAT and
    /// unique-local addresses. Link-local and cloud metadata addresses are never allowed.
    pub fn address_policy(mut self, policy: AddressPolicy) -> Self {
        self.policy = policy;
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
    /// it returns still goes through the address rules.
    pub fn lookup(mut self, lookup: impl HostLookup) -> Self {
        self.lookup = Arc::new(lookup);
        self
    }

    /// How many bytes of each response body are read at most (default 64 KiB). The rest is left
    /// unread and the connection is not reused.
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
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

    /// How many idle connections are kept per host (default 16; at least 1).
    pub fn max_idle_per_host(mut self, connections: usize) -> Self {
        self.max_idle_per_host = connections.max(1);
        self
    }

    /// Builds the HTTP clients.
    pub fn build(&self) -> Result<Sender, BuildError> {
        let policy = self.policy;
        let https = self.client(AddressFilter::Policy(policy), true)?;
        let http = if policy.allow_loopback {
            Some(self.client(AddressFilter::LoopbackOnly(policy), false)?)
        } else {
            None
        };
        Ok(Sender {
            inner: Arc::new(Inner {
                policy,
                body_limit: self.body_limit,
                https,
                http,
            }),
        })
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
            .pool_max_idle_per_host(self.max_idle_per_host);
        let builder = if self.built_in_roots {
            builder.tls_certs_merge(self.roots.iter().cloned())
        } else {
            builder.tls_certs_only(self.roots.iter().cloned())
        };
        builder.build().map_err(BuildError::Client)
    }
}

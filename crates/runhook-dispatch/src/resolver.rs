//! Name resolution with the address rules applied to every address (docs/protocol.md §4.2).
//!
//! reqwest calls [`PolicyResolver`] for every connection it opens to a host name. The resolver
//! looks the name up (through a [`HostLookup`], the system's by default), drops every address the
//! rules forbid, and fails with [`AddressRefused`] when none is left. Because the check runs on
//! the addresses the connector is about to use, a name that resolves to a public address once and
//! to `127.0.0.1` the next time (DNS rebinding) is refused the second time. IP-literal URLs never
//! reach a resolver; [`Sender::target`](crate::Sender::target) checks them before sending.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use runhook::AddressPolicy;

use crate::error::AddressRefused;

/// What a [`HostLookup`] returns: the addresses of a name, or why there are none.
pub type LookupFuture = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send>>;

/// Turns a host name into addresses. The sender filters whatever this returns through its
/// address rules, so an implementation never needs to check anything itself.
///
/// The default is [`SystemLookup`]; tests and local setups inject a [`StaticLookup`].
pub trait HostLookup: Send + Sync + 'static {
    /// The addresses of `host` (a name, never an IP literal). The port is chosen by the URL.
    fn lookup(&self, host: &str) -> LookupFuture;
}

/// The operating system's resolver (`getaddrinfo`, through `tokio::net::lookup_host`).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl HostLookup for SystemLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let host = host.to_owned();
        Box::pin(async move {
            let addrs = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(addrs.map(|addr| addr.ip()).collect())
        })
    }
}

/// A fixed table of names, like `/etc/hosts` or curl's `--resolve`. A name that is not in the
/// table fails to resolve. Names compare case-insensitively.
#[derive(Debug, Clone, Default)]
pub struct StaticLookup {
    table: HashMap<String, Vec<IpAddr>>,
}

impl StaticLookup {
    /// An empty table.
    pub fn new() -> Self {
        StaticLookup::default()
    }

    /// Adds (or replaces) the addresses of `host`.
    pub fn with(mut self, host: &str, addresses: impl IntoIterator<Item = IpAddr>) -> Self {
        self.table
            .insert(host.to_ascii_lowercase(), addresses.into_iter().collect());
        self
    }
}

impl HostLookup for StaticLookup {
    fn lookup(&self, host: &str) -> LookupFuture {
        let found = self.table.get(&host.to_ascii_lowercase()).cloned();
        let host = host.to_owned();
        Box::pin(async move {
            found.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{host} is not in the static lookup table"),
                )
            })
        })
    }
}

/// Which addresses a resolver lets through.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AddressFilter {
    /// The addresses the policy allows (HTTPS).
    Policy(AddressPolicy),
    /// Loopback addresses only, and only if the policy allows them (plain HTTP, which is opted
    /// in for loopback only).
    LoopbackOnly(AddressPolicy),
}

impl AddressFilter {
    /// Why `ip` may not be used, or `None` if it may.
    pub(crate) fn refusal(&self, ip: IpAddr) -> Option<String> {
        match self {
            AddressFilter::Policy(policy) => policy.check(ip).err().map(|why| why.to_string()),
            AddressFilter::LoopbackOnly(policy) => {
                if ip.to_canonical().is_loopback() {
                    policy.check(ip).err().map(|why| why.to_string())
                } else {
                    Some(format!(
                        "{ip} is not a loopback address, and plain http is allowed for loopback \
                         only"
                    ))
                }
            }
        }
    }
}

/// The [`Resolve`] implementation the dispatcher's HTTP clients use.
pub(crate) struct PolicyResolver {
    lookup: Arc<dyn HostLookup>,
    filter: AddressFilter,
}

impl PolicyResolver {
    pub(crate) fn new(lookup: Arc<dyn HostLookup>, filter: AddressFilter) -> Self {
        PolicyResolver { lookup, filter }
    }

    /// Looks `host` up and keeps the allowed addresses; fails if none is allowed.
    pub(crate) async fn allowed(
        lookup: &dyn HostLookup,
        filter: AddressFilter,
        host: &str,
    ) -> Result<Vec<IpAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let found = lookup.lookup(host).await?;
        if found.is_empty() {
            return Err(Box::new(io::Error::new(
                io::ErrorKind::NotFound,
                format!("{host} resolved to no address"),
            )));
        }
        let mut allowed = Vec::with_capacity(found.len());
        let mut refused = Vec::new();
        for ip in found {
            match filter.refusal(ip) {
                None => allowed.push(ip),
                Some(why) => refused.push((ip, why)),
            }
        }
        if allowed.is_empty() {
            return Err(Box::new(AddressRefused::new(
                Some(host.to_owned()),
                refused,
            )));
        }
        if !refused.is_empty() {
            tracing::warn!(
                host,
                refused = ?refused.iter().map(|(ip, _)| ip).collect::<Vec<_>>(),
                "some addresses of the host are forbidden and will not be used"
            );
        }
        Ok(allowed)
    }
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let lookup = Arc::clone(&self.lookup);
        let filter = self.filter;
        Box::pin(async move {
            let host = name.as_str();
            let allowed = PolicyResolver::allowed(lookup.as_ref(), filter, host).await?;
            let addrs: Addrs = Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    async fn allowed(
        policy: AddressPolicy,
        host: &str,
        ips: &[&str],
    ) -> Result<Vec<IpAddr>, String> {
        let lookup = StaticLookup::new().with(host, ips.iter().map(|text| ip(text)));
        PolicyResolver::allowed(&lookup, AddressFilter::Policy(policy), host)
            .await
            .map_err(|err| err.to_string())
    }

    #[tokio::test]
    async fn default_policy_refuses_every_forbidden_range() {
        for forbidden in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let err = allowed(AddressPolicy::default(), "rebind.test", &[forbidden])
                .await
                .expect_err(forbidden);
            assert!(err.contains("rebind.test"), "{err}");
            assert!(
                err.contains(forbidden.trim_start_matches("::ffff:")),
                "{err}"
            );
        }
    }

    #[tokio::test]
    async fn public_addresses_pass_and_forbidden_ones_are_dropped() {
        let got = allowed(
            AddressPolicy::default(),
            "mixed.test",
            &["93.184.216.34", "10.0.0.1", "2606:2800:220:1::1"],
        )
        .await
        .unwrap();
        assert_eq!(got, vec![ip("93.184.216.34"), ip("2606:2800:220:1::1")]);
    }

    #[tokio::test]
    async fn opt_ins_open_exactly_their_ranges() {
        let loopback = AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        assert!(
            allowed(loopback, "local.test", &["127.0.0.1"])
                .await
                .is_ok()
        );
        assert!(
            allowed(loopback, "local.test", &["10.0.0.1"])
                .await
                .is_err()
        );
        let private = AddressPolicy {
            allow_loopback: false,
            allow_private: true,
        };
        assert!(allowed(private, "lan.test", &["10.0.0.1"]).await.is_ok());
        assert!(allowed(private, "lan.test", &["127.0.0.1"]).await.is_err());
    }

    #[tokio::test]
    async fn loopback_only_filter_for_plain_http() {
        let lookup = StaticLookup::new()
            .with("localhost", [ip("127.0.0.1"), ip("::1")])
            .with("lan.test", [ip("10.0.0.1")]);
        let filter = AddressFilter::LoopbackOnly(AddressPolicy {
            allow_loopback: true,
            allow_private: true,
        });
        let got = PolicyResolver::allowed(&lookup, filter, "LOCALHOST")
            .await
            .unwrap();
        assert_eq!(got, vec![ip("127.0.0.1"), ip("::1")]);
        let err = PolicyResolver::allowed(&lookup, filter, "lan.test")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("plain http"), "{err}");
    }

    #[tokio::test]
    async fn unknown_names_and_empty_answers_fail() {
        let lookup = StaticLookup::new().with("empty.test", []);
        let filter = AddressFilter::Policy(AddressPolicy::default());
        let missing = PolicyResolver::allowed(&lookup, filter, "missing.test").await;
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("not in the static lookup table")
        );
        let empty = PolicyResolver::allowed(&lookup, filter, "empty.test").await;
        assert!(empty.unwrap_err().to_string().contains("no address"));
    }
}

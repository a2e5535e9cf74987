//! `--forward-to URL`: the app a relay forwards to, checked at start, and the HTTP client that
//! reaches it under the sender's address rules.
//!
//! The app is the operator's own: plain `http` is allowed to a loopback host (`localhost`,
//! `127.0.0.0/8`, `[::1]`), where the app usually runs next to the relay. Anything else follows
//! the rules of `runhook send`: `https`, no user-info, and every address the host resolves to
//! must be public (checked on each connection, after DNS, so a name cannot be rebound to a
//! forbidden address). Redirects are never followed and no proxy is used.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use runhook::endpoint::{AddressPolicy, WebhookUrl};

/// The policy of a forward target: public addresses, and loopback (the operator's own app).
const POLICY: AddressPolicy = AddressPolicy {
    allow_loopback: true,
    allow_private: false,
};

/// A checked `--forward-to` URL.
#[derive(Debug, Clone)]
pub(crate) struct ForwardTarget {
    url: reqwest::Url,
    plain_http: bool,
}

impl ForwardTarget {
    /// Parses and checks `text`; an error is a usage error (exit 2) naming what is wrong.
    pub(crate) fn parse(text: &str) -> anyhow::Result<ForwardTarget> {
        let checked = WebhookUrl::parse_with(text.trim(), &POLICY)
            .with_context(|| format!("--forward-to {text:?} is refused"))?;
        let url = reqwest::Url::parse(checked.as_str())
            .with_context(|| format!("--forward-to {text:?} is not a usable URL"))?;
        let plain_http = url.scheme() == "http";
        Ok(ForwardTarget { url, plain_http })
    }

    /// The URL rows are POSTed to.
    pub(crate) fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// An HTTP client for this target: no redirects, no proxy, and the address rules applied to
    /// every address its host resolves to.
    pub(crate) fn client(&self, max_idle_per_host: usize) -> anyhow::Result<reqwest::Client> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(runhook_dispatch::USER_AGENT)
            .dns_resolver(FilteringResolver {
                loopback_only: self.plain_http,
            })
            .https_only(!self.plain_http)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(max_idle_per_host)
            .build()
            .context("cannot build the HTTP client of --forward-to")
    }
}

/// Why `ip` may not be used, or `None` if it may: loopback only for plain `http`, the policy
/// for `https`.
fn refusal(ip: IpAddr, loopback_only: bool) -> Option<String> {
    if loopback_only && !ip.to_canonical().is_loopback() {
        return Some(format!(
            "{ip} is not a loopback address, and plain http is allowed to loopback only"
        ));
    }
    POLICY.check(ip).err().map(|why| why.to_string())
}

/// Resolves with the system's resolver and keeps only the addresses the rules allow; fails when
/// none is left.
struct FilteringResolver {
    loopback_only: bool,
}

impl Resolve for FilteringResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let loopback_only = self.loopback_only;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<IpAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .map(|addr| addr.ip())
                .collect();
            let (allowed, refused): (Vec<IpAddr>, Vec<IpAddr>) = found
                .into_iter()
                .partition(|ip| refusal(*ip, loopback_only).is_none());
            if allowed.is_empty() {
                let why = refused
                    .first()
                    .and_then(|ip| refusal(*ip, loopback_only))
                    .unwrap_or_else(|| "it resolved to no address".to_owned());
                let error = io::Error::new(
                    io::ErrorKind::PermissionDenied,
                    format!("refusing to forward to {host}: {why}"),
                );
                return Err(Box::new(error) as Box<dyn std::error::Error + Send + Sync>);
            }
            let addrs: Addrs = Box::new(allowed.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_is_allowed_and_other_http_or_forbidden_addresses_are_not() {
        for ok in [
            "http://127.0.0.1:3000/webhooks/tinyfish",
            "http://localhost:3000/hook",
            "http://[::1]:3000/hook",
            "https://app.example.com/hook",
        ] {
            assert!(ForwardTarget::parse(ok).is_ok(), "{ok}");
        }
        for refused in [
            "http://app.example.com/hook",
            "http://10.0.0.5/hook",
            "https://10.0.0.5/hook",
            "https://169.254.169.254/latest",
            "https://user:pw@app.example.com/hook",
            "ftp://127.0.0.1/hook",
            "not a url",
        ] {
            assert!(ForwardTarget::parse(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn plain_http_resolves_to_loopback_only() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        let public: IpAddr = "93.184.216.34".parse().unwrap();
        let private: IpAddr = "192.168.1.4".parse().unwrap();
        assert_eq!(refusal(loopback, true), None);
        assert!(refusal(public, true).is_some());
        assert_eq!(refusal(public, false), None);
        assert!(refusal(private, false).is_some());
    }
}

//! Webhook URLs: parsed with the `url` crate (WHATWG rules, so `https://2130706433/` is
//! `127.0.0.1`), then held to the sender's rules (docs/protocol.md §4.2).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ::url::{Host, Url};

use super::address::{AddressClass, classify_ip};
use super::policy::{AddressPolicy, ForbiddenAddress};

/// A webhook URL a sender may deliver to: `https` (plain `http` only to a loopback host, with
/// [`AddressPolicy::allow_loopback`]), no user-info, a host, at most [`WebhookUrl::MAX_LEN`]
/// bytes, and an IP-literal host that the [`AddressPolicy`] allows. A host name cannot be checked
/// without DNS: the sender checks every address it resolves to with
/// [`AddressPolicy::check`], except `localhost` and names under `.localhost`, which always mean
/// loopback and are checked here.
///
/// ```
/// use runhook::endpoint::{AddressPolicy, UrlError, WebhookUrl};
///
/// let url = WebhookUrl::parse("https://hooks.example.com/tinyfish")?;
/// assert_eq!((url.host(), url.port()), ("hooks.example.com", 443));
///
/// assert!(matches!(WebhookUrl::parse("http://localhost:3000/hook"), Err(UrlError::InsecureScheme)));
/// let local = WebhookUrl::parse_with("http://localhost:3000/hook", &AddressPolicy::local_development())?;
/// assert_eq!(local.port(), 3000);
/// # Ok::<(), UrlError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WebhookUrl {
    url: Url,
}

/// Why a URL is not a [`WebhookUrl`].
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Longer than [`WebhookUrl::MAX_LEN`] bytes, as given or once normalised.
    #[error("the webhook URL is {len} bytes long; at most 2048 are allowed")]
    TooLong {
        /// The length in bytes.
        len: usize,
    },
    /// Not a URL at all.
    #[error("not a valid URL ({0}); a webhook URL looks like https://hooks.example.com/tinyfish")]
    Invalid(::url::ParseError),
    /// No host (`https:///path`, `file:///tmp`).
    #[error("the URL has no host; a webhook URL looks like https://hooks.example.com/tinyfish")]
    MissingHost,
    /// A scheme other than `https` or `http`.
    #[error("the URL scheme is {scheme:?}; webhooks are delivered over https only")]
    UnsupportedScheme {
        /// The scheme given.
        scheme: String,
    },
    /// Plain `http` without the opt-in.
    #[error(
        "the URL uses plain http; webhooks are delivered over https only (TinyFish requires it); for a receiver on this machine (localhost, 127.0.0.1, [::1]), use --insecure-localhost"
    )]
    InsecureScheme,
    /// Plain `http` to a host that is not loopback, even with the opt-in.
    #[error(
        "the URL uses plain http to {host}; http is allowed only to a loopback host (localhost, 127.0.0.0/8, [::1]) with --insecure-localhost: use https"
    )]
    InsecureRemoteHost {
        /// The host given.
        host: String,
    },
    /// A user name or password in the URL.
    #[error(
        "the URL carries user-info (user:password@); credentials in URLs end up in logs and are not sent by TinyFish: remove them"
    )]
    UserInfo,
    /// `localhost` or a name under `.localhost` without the opt-in.
    #[error(
        "{host} always resolves to a loopback address; webhooks go to public addresses only: for local development, use --insecure-localhost"
    )]
    LoopbackName {
        /// The host given.
        host: String,
    },
    /// An IP-literal host the policy refuses.
    #[error(transparent)]
    Forbidden(#[from] ForbiddenAddress),
}

/// Whether `host` is `localhost` or a name under `.localhost` (RFC 6761: always loopback).
fn is_loopback_name(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .len()
            .checked_sub(".localhost".len())
            .and_then(|start| host.get(start..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
}

impl WebhookUrl {
    /// The longest URL accepted, in bytes.
    pub const MAX_LEN: usize = 2048;

    /// Parses `input` under the default policy: public addresses only, `https` only.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        Self::parse_with(input, &AddressPolicy::default())
    }

    /// Parses `input` under `policy`.
    pub fn parse_with(input: &str, policy: &AddressPolicy) -> Result<Self, UrlError> {
        if input.len() > Self::MAX_LEN {
            return Err(UrlError::TooLong { len: input.len() });
        }
        let url = match Url::parse(input) {
            Ok(url) => url,
            Err(::url::ParseError::EmptyHost) => return Err(UrlError::MissingHost),
            Err(e) => return Err(UrlError::Invalid(e)),
        };
        if url.as_str().len() > Self::MAX_LEN {
            return Err(UrlError::TooLong {
                len: url.as_str().len(),
            });
        }
        let host = url.host().ok_or(UrlError::MissingHost);
        let loopback_host = match &host {
            Ok(Host::Domain(name)) => is_loopback_name(name),
            Ok(Host::Ipv4(ip)) => classify_ip(IpAddr::V4(*ip)) == AddressClass::Loopback,
            Ok(Host::Ipv6(ip)) => classify_ip(IpAddr::V6(*ip)) == AddressClass::Loopback,
            Err(_) => false,
        };
        match url.scheme() {
            "https" => {}
            "http" if !policy.allow_loopback => return Err(UrlError::InsecureScheme),
            "http" if !loopback_host => {
                return Err(UrlError::InsecureRemoteHost {
                    host: url.host_str().unwrap_or_default().to_owned(),
                });
            }
            "http" => {}
            other => {
                return Err(UrlError::UnsupportedScheme {
                    scheme: other.to_owned(),
                });
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::UserInfo);
        }
        match host? {
            Host::Domain(name) if is_loopback_name(name) && !policy.allow_loopback => {
                return Err(UrlError::LoopbackName {
                    host: name.to_owned(),
                });
            }
            Host::Domain(_) => {}
            Host::Ipv4(ip) => policy.check(IpAddr::V4(ip))?,
            Host::Ipv6(ip) => policy.check(IpAddr::V6(ip))?,
        }
        Ok(WebhookUrl { url })
    }

    /// The URL, normalised (lowercase scheme and host, default port dropped, path at least `/`).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The parsed URL, e.g. for an HTTP client that takes a `url::Url`.
    pub fn as_url(&self) -> &Url {
        &self.url
    }

    /// The parsed URL, by value.
    pub fn into_url(self) -> Url {
        self.url
    }

    /// The host as written in the URL: a name, a dotted IPv4 address, or a bracketed IPv6 address
    /// (`[::1]`). Use [`ip`](Self::ip) for the address of an IP literal.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The port: the one given, or 443 for `https` and 80 for `http`.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }

    /// Whether the scheme is `https`.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// Whether the host is an IP address rather than a name.
    pub fn is_ip_literal(&self) -> bool {
        self.ip().is_some()
    }

    /// The address of an IP-literal host.
    pub fn ip(&self) -> Option<IpAddr> {
        match self.url.host()? {
            Host::Ipv4(ip) => Some(IpAddr::V4(ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(ip)),
            Host::Domain(_) => None,
        }
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for WebhookUrl {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for WebhookUrl {
    type Err = UrlError;
    /// Parses under the default policy, like [`WebhookUrl::parse`].
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Self::parse(input)
    }
}

impl TryFrom<&str> for WebhookUrl {
    type Error = UrlError;
    fn try_from(input: &str) -> Result<Self, Self::Error> {
        Self::parse(input)
    }
}

impl From<WebhookUrl> for Url {
    fn from(url: WebhookUrl) -> Self {
        url.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names() {
        for name in [
            "localhost",
            "LOCALHOST",
            "localhost.",
            "app.localhost",
            "a.b.LocalHost.",
        ] {
            assert!(is_loopback_name(name), "{name}");
        }
        for name in [
            "localhost.com",
            "mylocalhost",
            "example.com",
            "",
            "localhos",
        ] {
            assert!(!is_loopback_name(name), "{name}");
        }
    }

    #[test]
    fn numeric_hosts_are_normalised_before_the_address_check() {
        for input in [
            "https://2130706433/",
            "https://0x7f.1/",
            "https://127.1/",
            "https://[::ffff:7f00:1]/",
        ] {
            let error = WebhookUrl::parse(input).unwrap_err();
            assert!(
                matches!(&error, UrlError::Forbidden(f) if f.class == AddressClass::Loopback),
                "{input}: {error:?}"
            );
        }
    }
}

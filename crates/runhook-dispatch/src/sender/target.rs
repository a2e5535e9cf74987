//! A destination checked against the webhook URL rules and, for an IP literal, the address rules.

use std::net::IpAddr;
use std::sync::Arc;

use runhook::endpoint::UrlError;
use runhook::{AddressPolicy, WebhookUrl};

use crate::error::AddressRefused;
use crate::resolver::AddressFilter;

/// A URL a [`Sender`](crate::Sender) accepted: `https` (or plain `http` to a loopback host when
/// loopback is opted in), no user-info, and an IP-literal host the address rules allow. A host
/// name is checked again after DNS, on every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    url: reqwest::Url,
    ip: Option<IpAddr>,
    /// `host:port`, the key of the per-host limits.
    authority: Arc<str>,
}

/// Why a URL is not a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The URL breaks the webhook URL rules (docs/protocol.md §4.2).
    #[error("the webhook URL is not acceptable: {0}")]
    Url(#[from] UrlError),
    /// The URL is an IP literal the address rules forbid.
    #[error(transparent)]
    Refused(#[from] AddressRefused),
    /// The URL passed the webhook rules but the HTTP client cannot use it.
    #[error("the HTTP client cannot use the URL {url}: {message}")]
    Unsupported {
        /// The URL.
        url: String,
        /// The client's objection.
        message: String,
    },
}

impl Target {
    /// Checks `url` under `policy`.
    pub(crate) fn check(url: &str, policy: AddressPolicy) -> Result<Target, TargetError> {
        let webhook_url = WebhookUrl::parse_with(url.trim(), &policy)?;
        let parsed =
            reqwest::Url::parse(webhook_url.as_str()).map_err(|err| TargetError::Unsupported {
                url: runhook::endpoint::redact_url(webhook_url.as_str()),
                message: err.to_string(),
            })?;
        let ip = webhook_url.ip();
        if let Some(ip) = ip {
            let filter = if parsed.scheme() == "http" {
                AddressFilter::LoopbackOnly(policy)
            } else {
                AddressFilter::Policy(policy)
            };
            if let Some(why) = filter.refusal(ip) {
                return Err(AddressRefused::new(None, vec![(ip, why)]).into());
            }
        }
        let authority = format!("{}:{}", webhook_url.host(), webhook_url.port());
        Ok(Target {
            url: parsed,
            ip,
            authority: Arc::from(authority),
        })
    }

    /// The URL, normalised (lowercase scheme and host, default port dropped, path at least `/`).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// The host as written in the URL: a name, a dotted IPv4 address, or a bracketed IPv6
    /// address.
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// The address of an IP-literal host; `None` for a name.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The port: the one given, or the scheme's default.
    pub fn port(&self) -> u16 {
        self.url.port_or_known_default().unwrap_or(443)
    }

    /// The path, at least `/`.
    pub fn path(&self) -> &str {
        self.url.path()
    }

    /// Whether the scheme is plain `http` (allowed to loopback hosts only).
    pub fn is_plain_http(&self) -> bool {
        self.url.scheme() == "http"
    }

    /// `scheme://host:port/path`: the URL without its query or fragment, for output (a query
    /// may carry a token).
    pub fn without_query(&self) -> String {
        let mut url = self.url.clone();
        url.set_query(None);
        url.set_fragment(None);
        url.to_string()
    }

    /// `host:port`.
    pub(crate) fn authority(&self) -> &Arc<str> {
        &self.authority
    }

    /// The URL for the HTTP client.
    pub(crate) fn url(&self) -> &reqwest::Url {
        &self.url
    }
}

/// The URL with its secrets hidden ([`redact_url`](runhook::endpoint::redact_url)): what logs
/// and messages show. [`Target::as_str`] is the URL itself.
impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&runhook::endpoint::redact_url(self.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCAL: AddressPolicy = AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    };

    /// What the dispatcher's log lines print (`url = %target`): no secret query value (a URL
    /// with user-info is refused before it is a target); the URL itself stays whole for the
    /// request.
    #[test]
    fn the_logged_form_hides_secrets_and_the_url_keeps_them() {
        let raw = "http://127.0.0.1:8080/hook?token=s3cr3t&api_key=hunter2&run=1";
        let target = Target::check(raw, LOCAL).unwrap();
        let shown = target.to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
        assert!(shown.contains("127.0.0.1:8080/hook"), "{shown}");
        assert!(shown.contains("run=1"), "{shown}");
        assert!(target.as_str().contains("token=s3cr3t"));
    }

    #[test]
    fn loopback_http_is_allowed_with_the_opt_in_and_nothing_else_plain() {
        for ok in [
            "http://127.0.0.1:3000/webhooks/tinyfish",
            "http://localhost:3000/hook",
            "http://[::1]:3000/hook",
            "https://app.example.com/hook",
            " https://app.example.com/hook?token=x ",
        ] {
            assert!(Target::check(ok, LOCAL).is_ok(), "{ok}");
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
            assert!(Target::check(refused, LOCAL).is_err(), "{refused}");
        }
        assert!(Target::check("http://127.0.0.1/hook", AddressPolicy::default()).is_err());
    }

    #[test]
    fn parts_and_the_query_free_form() {
        let target = Target::check("http://127.0.0.1:3000/hook?token=secret", LOCAL).unwrap();
        assert_eq!(target.host(), "127.0.0.1");
        assert_eq!(target.port(), 3000);
        assert_eq!(target.path(), "/hook");
        assert!(target.is_plain_http());
        assert_eq!(target.ip(), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(target.without_query(), "http://127.0.0.1:3000/hook");
        assert_eq!(target.authority().as_ref(), "127.0.0.1:3000");
    }
}

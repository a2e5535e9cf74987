//! What can go wrong before or instead of an HTTP attempt.

use std::fmt;
use std::net::IpAddr;

use crate::sender::TargetError;

/// Why a [`DispatcherBuilder`](crate::DispatcherBuilder) could not build a dispatcher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `build` was called outside a tokio runtime.
    #[error(
        "the dispatcher needs a tokio runtime: call DispatcherBuilder::build from inside one \
         (for example in #[tokio::main])"
    )]
    NoRuntime,
    /// A concurrency limit is zero.
    #[error("{what} must be at least 1, got 0")]
    ZeroLimit {
        /// Which limit.
        what: &'static str,
    },
    /// reqwest refused the client configuration (usually the TLS roots).
    #[error("could not build the HTTP client: {0}; check the extra root certificates")]
    Client(#[source] reqwest::Error),
    /// A PEM root certificate could not be read.
    #[error("the root certificate is not valid PEM or DER: {0}")]
    Certificate(#[source] reqwest::Error),
}

/// Why [`Dispatcher::submit`](crate::Dispatcher::submit) did not accept a delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The URL is not acceptable: it breaks the webhook URL rules (docs/protocol.md §4.2), is an
    /// IP literal the address rules forbid, or the HTTP client cannot use it (the checks of
    /// [`Sender::target`](crate::Sender::target)).
    #[error(transparent)]
    Target(#[from] TargetError),
    /// The dispatcher is shutting down (or its driver has stopped).
    #[error(
        "the dispatcher is shutting down and takes no new deliveries; submit to a new dispatcher"
    )]
    ShuttingDown,
    /// The dispatcher already holds its most deliveries
    /// ([`DispatcherBuilder::max_pending`](crate::DispatcherBuilder::max_pending)); try again
    /// once some have ended.
    #[error(
        "the dispatcher already holds {limit} deliveries (its max_pending); submit again once \
         some have ended, or raise DispatcherBuilder::max_pending"
    )]
    Full {
        /// The bound.
        limit: usize,
    },
}

/// The destination's addresses are all forbidden by the address rules (docs/protocol.md §4.2).
///
/// This is a configuration error, not a transient one, so a delivery that meets it is never
/// retried: it ends as [`DispatchOutcome::Refused`](crate::DispatchOutcome::Refused).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct AddressRefused {
    host: Option<String>,
    refused: Vec<(IpAddr, String)>,
}

impl AddressRefused {
    /// A refusal of `refused` (each address with the reason), for `host` if it was a name.
    pub(crate) fn new(host: Option<String>, refused: Vec<(IpAddr, String)>) -> Self {
        AddressRefused { host, refused }
    }

    /// The host name that resolved to the refused addresses, or `None` for an IP-literal URL.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// Each refused address with the reason it is forbidden.
    pub fn addresses(&self) -> &[(IpAddr, String)] {
        &self.refused
    }
}

impl fmt::Display for AddressRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Some(host) => write!(
                f,
                "refusing to deliver to {host}: every address it resolves to is forbidden ("
            )?,
            None => write!(f, "refusing to deliver to a forbidden address (")?,
        }
        for (index, (ip, why)) in self.refused.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            if why.contains(&ip.to_string()) {
                f.write_str(why)?;
            } else {
                write!(f, "{ip}: {why}")?;
            }
        }
        f.write_str(
            "); webhooks go to public addresses only, and loopback or private networks need an \
             explicit opt-in for local development",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_names_host_addresses_and_the_way_out() {
        let refused = AddressRefused::new(
            Some("rebind.test".into()),
            vec![("10.0.0.1".parse().unwrap(), "a private address".into())],
        );
        let text = refused.to_string();
        assert!(text.contains("rebind.test"), "{text}");
        assert!(text.contains("10.0.0.1: a private address"), "{text}");
        assert!(text.contains("opt-in"), "{text}");
        assert_eq!(refused.host(), Some("rebind.test"));
        assert_eq!(refused.addresses().len(), 1);
    }
}

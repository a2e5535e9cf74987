//! Which addresses a sender may deliver to, and the opt-ins for local development.

use std::fmt;
use std::net::IpAddr;

use super::address::{AddressClass, classify_ip, embedded_ipv4, is_cloud_metadata};

/// Which addresses a sender may connect to. The default allows public addresses only; each
/// field is an explicit opt-in for local development, never a default:
///
/// | opt-in | field | unlocks |
/// |---|---|---|
/// | `--insecure-localhost` | `allow_loopback` | loopback (`127.0.0.0/8`, `::1`), and plain `http` to a loopback host |
/// | `--allow-private-networks` | `allow_private` | private (RFC 1918), shared CGNAT (`100.64.0.0/10`), unique-local (`fc00::/7`) |
/// | none | | link-local (`169.254.0.0/16` with the metadata address `169.254.169.254`, `fe80::/10`), cloud metadata services wherever they lie, multicast, unspecified, broadcast, documentation, benchmarking, reserved |
///
/// The sender checks every address a host name resolves to, before connecting to it, and follows
/// no redirects: a check on the URL alone can be bypassed by DNS.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct AddressPolicy {
    /// Allow loopback addresses and plain `http` to a loopback host (`--insecure-localhost`).
    pub allow_loopback: bool,
    /// Allow private, shared (CGNAT) and unique-local addresses (`--allow-private-networks`).
    pub allow_private: bool,
}

/// An explicit opt-in that unlocks a class of addresses.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OptIn {
    /// `--insecure-localhost`: [`AddressPolicy::allow_loopback`].
    InsecureLocalhost,
    /// `--allow-private-networks`: [`AddressPolicy::allow_private`].
    AllowPrivateNetworks,
}

impl OptIn {
    /// The command-line flag, as named in error messages.
    pub fn flag(self) -> &'static str {
        match self {
            OptIn::InsecureLocalhost => "--insecure-localhost",
            OptIn::AllowPrivateNetworks => "--allow-private-networks",
        }
    }

    /// The opt-in that unlocks `class`, or `None` if nothing does (or nothing needs to).
    pub fn for_class(class: AddressClass) -> Option<Self> {
        match class {
            AddressClass::Loopback => Some(OptIn::InsecureLocalhost),
            AddressClass::Private | AddressClass::SharedCgnat | AddressClass::UniqueLocal => {
                Some(OptIn::AllowPrivateNetworks)
            }
            _ => None,
        }
    }
}

impl AddressPolicy {
    /// Public addresses only: the default.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Loopback and private networks allowed (both opt-ins), for a receiver on this machine or
    /// the local network. Link-local, metadata and the other classes stay forbidden.
    pub fn local_development() -> Self {
        AddressPolicy {
            allow_loopback: true,
            allow_private: true,
        }
    }

    /// Whether this policy allows every address of `class` (cloud metadata addresses aside,
    /// which are never allowed).
    pub fn allows_class(&self, class: AddressClass) -> bool {
        match OptIn::for_class(class) {
            _ if class.is_public() => true,
            Some(OptIn::InsecureLocalhost) => self.allow_loopback,
            Some(OptIn::AllowPrivateNetworks) => self.allow_private,
            None => false,
        }
    }

    /// Checks one address (a literal in the URL, or each address its host resolves to).
    pub fn check(&self, ip: IpAddr) -> Result<(), ForbiddenAddress> {
        let class = classify_ip(ip);
        let cloud_metadata = is_cloud_metadata(ip);
        if !cloud_metadata && self.allows_class(class) {
            return Ok(());
        }
        Err(ForbiddenAddress {
            address: ip,
            class,
            cloud_metadata,
        })
    }

    /// Whether [`check`](Self::check) passes.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.check(ip).is_ok()
    }
}

/// An address an [`AddressPolicy`] refuses. Its message names the address, its class, and the
/// opt-in that would allow it, or says that nothing does.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenAddress {
    /// The address refused.
    pub address: IpAddr,
    /// Its class.
    pub class: AddressClass,
    /// Whether it is a cloud metadata service ([`is_cloud_metadata`](super::is_cloud_metadata)).
    pub cloud_metadata: bool,
}

impl ForbiddenAddress {
    /// The opt-in that would allow the address, if any.
    pub fn opt_in(&self) -> Option<OptIn> {
        if self.cloud_metadata {
            None
        } else {
            OptIn::for_class(self.class)
        }
    }
}

impl fmt::Display for ForbiddenAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.address)?;
        if let IpAddr::V6(v6) = self.address
            && let Some(v4) = embedded_ipv4(v6)
        {
            write!(f, " (which carries {v4})")?;
        }
        write!(f, " is a {} address", self.class)?;
        if self.cloud_metadata {
            write!(f, " of a cloud metadata service")?;
        }
        match self.opt_in() {
            Some(opt_in) => write!(
                f,
                "; webhooks go to public addresses only: for local development, use {}",
                opt_in.flag()
            ),
            None => write!(
                f,
                "; webhooks are never delivered there, whatever the options"
            ),
        }
    }
}

impl std::error::Error for ForbiddenAddress {}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const LOOPBACK_ONLY: AddressPolicy = AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    };
    const PRIVATE_ONLY: AddressPolicy = AddressPolicy {
        allow_loopback: false,
        allow_private: true,
    };

    #[test]
    fn the_default_allows_public_addresses_only() {
        let policy = AddressPolicy::default();
        assert_eq!(policy, AddressPolicy::public_only());
        for allowed in ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(policy.allows(ip(allowed)), "{allowed}");
        }
        for refused in [
            "127.0.0.1",
            "10.0.0.1",
            "100.64.0.1",
            "fd00::1",
            "169.254.1.1",
            "::",
            "0.0.0.0",
        ] {
            assert!(!policy.allows(ip(refused)), "{refused}");
        }
    }

    #[test]
    fn each_opt_in_unlocks_its_classes_only() {
        for (policy, loopback, private) in [
            (AddressPolicy::default(), false, false),
            (LOOPBACK_ONLY, true, false),
            (PRIVATE_ONLY, false, true),
            (AddressPolicy::local_development(), true, true),
        ] {
            for text in ["127.0.0.1", "::1", "::ffff:127.0.0.1", "64:ff9b::7f00:1"] {
                assert_eq!(policy.allows(ip(text)), loopback, "{text} under {policy:?}");
            }
            for text in [
                "10.1.2.3",
                "172.20.0.1",
                "192.168.0.10",
                "100.64.1.1",
                "fd12::1",
            ] {
                assert_eq!(policy.allows(ip(text)), private, "{text} under {policy:?}");
            }
        }
    }

    #[test]
    fn nothing_unlocks_link_local_metadata_and_the_rest() {
        let open = AddressPolicy::local_development();
        for text in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "169.254.10.10",
            "fe80::1",
            "fd00:ec2::254",   // AWS metadata over IPv6, inside fc00::/7
            "100.100.100.200", // Alibaba metadata, inside 100.64.0.0/10
            "224.0.0.1",
            "ff02::1",
            "0.0.0.0",
            "::",
            "255.255.255.255",
            "192.0.2.1",
            "2001:db8::1",
            "198.18.0.1",
            "240.0.0.1",
        ] {
            let error = open.check(ip(text)).unwrap_err();
            assert_eq!(error.opt_in(), None, "{text}");
            assert!(
                error.to_string().contains("never delivered there"),
                "{error}"
            );
        }
    }

    #[test]
    fn messages_name_the_address_the_class_and_the_opt_in() {
        let policy = AddressPolicy::default();
        let message = |text| policy.check(ip(text)).unwrap_err().to_string();
        assert_eq!(
            message("127.0.0.1"),
            "127.0.0.1 is a loopback address; webhooks go to public addresses only: for local development, use --insecure-localhost"
        );
        assert_eq!(
            message("10.0.0.7"),
            "10.0.0.7 is a private address; webhooks go to public addresses only: for local development, use --allow-private-networks"
        );
        assert_eq!(
            message("169.254.169.254"),
            "169.254.169.254 is a link-local address of a cloud metadata service; webhooks are never delivered there, whatever the options"
        );
        assert_eq!(
            message("::ffff:169.254.169.254"),
            "::ffff:169.254.169.254 (which carries 169.254.169.254) is a link-local address of a cloud metadata service; webhooks are never delivered there, whatever the options"
        );
        assert!(message("100.64.0.1").contains("shared (CGNAT)"));
        assert!(message("fc00::1").contains("unique-local"));
    }
}

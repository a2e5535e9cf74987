//! What kind of address an IP address is, for the sender's address checks (docs/protocol.md §4.2).
//!
//! IPv6 forms that carry an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible
//! `::a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::/96` and 6to4 `2002::/16`) are
//! classified by the IPv4 address they carry: `::ffff:127.0.0.1` is loopback, however it is
//! written.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of an IP address, as far as delivering webhooks to it is concerned.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressClass {
    /// Globally reachable.
    Public,
    /// `127.0.0.0/8`, `::1`.
    Loopback,
    /// RFC 1918: `10.0.0.0/8`, `172.16.0.0/12`, `192.168.0.0/16`.
    Private,
    /// Shared address space for carrier-grade NAT (RFC 6598): `100.64.0.0/10`.
    SharedCgnat,
    /// `169.254.0.0/16` (which holds the cloud metadata address `169.254.169.254`),
    /// `fe80::/10`.
    LinkLocal,
    /// IPv6 unique local addresses (RFC 4193): `fc00::/7`.
    UniqueLocal,
    /// `224.0.0.0/4`, `ff00::/8`.
    Multicast,
    /// `0.0.0.0`, `::` (connecting to it reaches the local host on common systems).
    Unspecified,
    /// Documentation ranges: `192.0.2.0/24`, `198.51.100.0/24`, `203.0.113.0/24`,
    /// `2001:db8::/32`, `3fff::/20`.
    Documentation,
    /// Benchmarking (RFC 2544, RFC 5180): `198.18.0.0/15`, `2001:2::/48`.
    Benchmarking,
    /// Everything else that is not globally reachable: `0.0.0.0/8`, `192.0.0.0/24`,
    /// `192.88.99.0/24`, `240.0.0.0/4`; IPv6 outside `2000::/3`, `100::/64`, `2001::/23`,
    /// `5f00::/16`, `64:ff9b:1::/48`, `fec0::/10`.
    Reserved,
    /// `255.255.255.255`.
    Broadcast,
}

impl AddressClass {
    /// A short lowercase name for messages: `public`, `loopback`, `private`, `shared (CGNAT)`, …
    pub fn as_str(self) -> &'static str {
        match self {
            AddressClass::Public => "public",
            AddressClass::Loopback => "loopback",
            AddressClass::Private => "private",
            AddressClass::SharedCgnat => "shared (CGNAT)",
            AddressClass::LinkLocal => "link-local",
            AddressClass::UniqueLocal => "unique-local",
            AddressClass::Multicast => "multicast",
            AddressClass::Unspecified => "unspecified",
            AddressClass::Documentation => "documentation",
            AddressClass::Benchmarking => "benchmarking",
            AddressClass::Reserved => "reserved",
            AddressClass::Broadcast => "broadcast",
        }
    }

    /// Whether the address is globally reachable.
    pub fn is_public(self) -> bool {
        self == AddressClass::Public
    }
}

impl fmt::Display for AddressClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The class of `ip`, looking through IPv6 forms that carry an IPv4 address.
pub fn classify_ip(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

/// The IPv4 address an IPv6 address carries, if it is IPv4-mapped (`::ffff:0:0/96`),
/// IPv4-compatible (`::/96`, except `::` and `::1`), IPv4-translated (`::ffff:0:0:0/96`), NAT64
/// (`64:ff9b::/96`) or 6to4 (`2002::/16`, the address in bits 16 to 47).
pub fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    let low = Ipv4Addr::from_bits(bits as u32);
    let prefix_96 = bits >> 32;
    match prefix_96 {
        0xffff | 0xffff_0000 | 0x0064_ff9b_0000_0000_0000_0000 => Some(low),
        0 if bits > 1 => Some(low),
        _ if bits >> 112 == 0x2002 => Some(Ipv4Addr::from_bits((bits >> 80) as u32)),
        _ => None,
    }
}

/// Whether `ip` is a cloud instance-metadata or credentials service: AWS, GCP, Azure, Oracle
/// and others at `169.254.169.254`, AWS ECS and EKS at `169.254.170.2` and `169.254.170.23`, AWS
/// over IPv6 at `fd00:ec2::254` and `fd00:ec2::23`, Alibaba Cloud at `100.100.100.200`. Some of
/// these lie in ranges an opt-in unlocks, so they are checked on their own and never allowed.
pub fn is_cloud_metadata(ip: IpAddr) -> bool {
    const V4: [Ipv4Addr; 4] = [
        Ipv4Addr::new(169, 254, 169, 254),
        Ipv4Addr::new(169, 254, 170, 2),
        Ipv4Addr::new(169, 254, 170, 23),
        Ipv4Addr::new(100, 100, 100, 200),
    ];
    const V6: [Ipv6Addr; 2] = [
        Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
        Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
    ];
    match ip {
        IpAddr::V4(v4) => V4.contains(&v4),
        IpAddr::V6(v6) => match embedded_ipv4(v6) {
            Some(v4) => V4.contains(&v4),
            None => V6.contains(&v6),
        },
    }
}

/// Whether `ip` lies in `net/len`.
fn in_v4(ip: Ipv4Addr, net: [u8; 4], len: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
    ip.to_bits() & mask == u32::from_be_bytes(net) & mask
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    use AddressClass::*;
    const RANGES: &[([u8; 4], u32, AddressClass)] = &[
        ([0, 0, 0, 0], 32, Unspecified),
        ([0, 0, 0, 0], 8, Reserved),
        ([10, 0, 0, 0], 8, Private),
        ([100, 64, 0, 0], 10, SharedCgnat),
        ([127, 0, 0, 0], 8, Loopback),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([172, 16, 0, 0], 12, Private),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 0, 2, 0], 24, Documentation),
        ([192, 88, 99, 0], 24, Reserved),
        ([192, 168, 0, 0], 16, Private),
        ([198, 18, 0, 0], 15, Benchmarking),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([224, 0, 0, 0], 4, Multicast),
        ([255, 255, 255, 255], 32, Broadcast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    RANGES
        .iter()
        .find(|(net, len, _)| in_v4(ip, *net, *len))
        .map_or(Public, |(_, _, class)| *class)
}

/// Whether `ip` lies in the prefix made of `net`'s first `len` bits.
fn in_v6(ip: Ipv6Addr, net: u128, len: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
    ip.to_bits() & mask == net & mask
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    use AddressClass::*;
    if ip.is_unspecified() {
        return Unspecified;
    }
    if ip.is_loopback() {
        return Loopback;
    }
    if let Some(v4) = embedded_ipv4(ip) {
        return classify_v4(v4);
    }
    const RANGES: &[(u128, u32, AddressClass)] = &[
        (0x0064_ff9b_0001 << 80, 48, Reserved),
        (0x0100 << 112, 64, Reserved),
        (0x2001_0002 << 96, 48, Benchmarking),
        (0x2001_0db8 << 96, 32, Documentation),
        (0x2001 << 112, 23, Reserved),
        (0x3fff << 112, 20, Documentation),
        (0x5f00 << 112, 16, Reserved),
        (0xfc00 << 112, 7, UniqueLocal),
        (0xfe80 << 112, 10, LinkLocal),
        (0xfec0 << 112, 10, Reserved),
        (0xff00 << 112, 8, Multicast),
    ];
    if let Some((_, _, class)) = RANGES.iter().find(|(net, len, _)| in_v6(ip, *net, *len)) {
        return *class;
    }
    if in_v6(ip, 0x2000 << 112, 3) {
        Public
    } else {
        Reserved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(text: &str) -> AddressClass {
        classify_ip(text.parse().unwrap())
    }

    #[test]
    fn ipv4_ranges() {
        use AddressClass::*;
        for (ip, expected) in [
            ("8.8.8.8", Public),
            ("1.1.1.1", Public),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("10.0.0.1", Private),
            ("10.255.255.255", Private),
            ("100.63.255.255", Public),
            ("100.64.0.0", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("100.128.0.0", Public),
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("169.254.169.254", LinkLocal),
            ("169.254.0.1", LinkLocal),
            ("172.15.255.255", Public),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("172.32.0.0", Public),
            ("192.0.0.8", Reserved),
            ("192.0.2.1", Documentation),
            ("192.88.99.1", Reserved),
            ("192.168.1.1", Private),
            ("198.18.0.1", Benchmarking),
            ("198.19.255.255", Benchmarking),
            ("198.20.0.0", Public),
            ("198.51.100.7", Documentation),
            ("203.0.113.9", Documentation),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("240.0.0.1", Reserved),
            ("255.255.255.254", Reserved),
            ("255.255.255.255", Broadcast),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_ranges() {
        use AddressClass::*;
        for (ip, expected) in [
            ("2606:4700:4700::1111", Public),
            ("2a00:1450:4001:81c::200e", Public),
            ("::", Unspecified),
            ("::1", Loopback),
            ("fc00::1", UniqueLocal),
            ("fd12:3456:789a::1", UniqueLocal),
            ("fe80::1", LinkLocal),
            ("febf:ffff::1", LinkLocal),
            ("fec0::1", Reserved),
            ("ff02::1", Multicast),
            ("2001:db8::1", Documentation),
            ("3fff:0fff::1", Documentation),
            ("3fff:1000::1", Public),
            ("2001:2::1", Benchmarking),
            ("2001::1", Reserved),
            ("2001:1ff::1", Reserved),
            ("2001:200::1", Public),
            ("100::1", Reserved),
            ("5f00::1", Reserved),
            ("64:ff9b:1::1", Reserved),
            ("4000::1", Reserved),
            ("1000::1", Reserved),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
    }

    #[test]
    fn ipv6_forms_carrying_ipv4_are_classified_by_the_ipv4_address() {
        use AddressClass::*;
        for (ip, expected) in [
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:169.254.169.254", LinkLocal),
            ("::ffff:10.1.2.3", Private),
            ("::ffff:8.8.8.8", Public),
            ("::127.0.0.1", Loopback),
            ("::ffff:0:192.168.0.1", Private),
            ("64:ff9b::a9fe:a9fe", LinkLocal), // NAT64 of 169.254.169.254
            ("64:ff9b::7f00:1", Loopback),
            ("64:ff9b::808:808", Public),
            ("2002:7f00:1::", Loopback), // 6to4 of 127.0.0.1
            ("2002:a9fe:a9fe::1", LinkLocal),
            ("2002:0808:0808::1", Public),
            ("::ffff:0.0.0.0", Unspecified),
            ("::ffff:255.255.255.255", Broadcast),
        ] {
            assert_eq!(class(ip), expected, "{ip}");
        }
        assert_eq!(
            embedded_ipv4("64:ff9b::a9fe:a9fe".parse().unwrap()),
            Some(Ipv4Addr::new(169, 254, 169, 254))
        );
        assert_eq!(embedded_ipv4("::1".parse().unwrap()), None);
        assert_eq!(embedded_ipv4("2001:db8::1".parse().unwrap()), None);
    }

    #[test]
    fn the_metadata_address_169_254_169_254_is_known_in_every_form() {
        for ip in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::",
            "fd00:ec2::254",
            "100.100.100.200",
            "169.254.170.2",
        ] {
            assert!(is_cloud_metadata(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["169.254.169.253", "fd00:ec2::255", "8.8.8.8", "::1"] {
            assert!(!is_cloud_metadata(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn class_names() {
        assert_eq!(AddressClass::SharedCgnat.to_string(), "shared (CGNAT)");
        assert!(AddressClass::Public.is_public());
        assert!(!AddressClass::Loopback.is_public());
    }
}

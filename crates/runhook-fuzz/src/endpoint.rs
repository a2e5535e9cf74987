//! `retry_after` and `webhook_url`: the sender's header parse, the webhook URL rules and the
//! address rules.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use runhook::delivery::parse_retry_after;
use runhook::endpoint::{AddressClass, AddressPolicy, WebhookUrl, classify_ip};

/// The four address policies: none, each and both opt-ins.
const POLICIES: [AddressPolicy; 4] = [
    AddressPolicy {
        allow_loopback: false,
        allow_private: false,
    },
    AddressPolicy {
        allow_loopback: true,
        allow_private: false,
    },
    AddressPolicy {
        allow_loopback: false,
        allow_private: true,
    },
    AddressPolicy {
        allow_loopback: true,
        allow_private: true,
    },
];

/// Parses `data` (as text, lossily) as a `Retry-After` value at two different instants, and
/// checks: a delay in seconds does not depend on the instant; a date gives a delay that shrinks
/// by as much as the clock moved (down to zero).
pub fn retry_after(data: &[u8]) {
    let value = String::from_utf8_lossy(data);
    let early = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
    let late = early + Duration::from_secs(90);
    let at_early = parse_retry_after(&value, early);
    let at_late = parse_retry_after(&value, late);
    assert_eq!(at_early.is_some(), at_late.is_some());
    let (Some(at_early), Some(at_late)) = (at_early, at_late) else {
        return;
    };
    let seconds = value.trim_matches([' ', '\t']);
    if seconds.bytes().all(|b| b.is_ascii_digit()) {
        assert_eq!(at_early, at_late, "a delay in seconds moved with the clock");
    } else {
        assert_eq!(
            at_late,
            at_early.saturating_sub(Duration::from_secs(90)),
            "a date's delay did not follow the clock"
        );
    }
    let _ = parse_retry_after(&value, SystemTime::UNIX_EPOCH);
}

/// Parses `data` (as text, lossily) as a webhook URL under each [`AddressPolicy`], and checks
/// what an accepted URL promises: at most [`WebhookUrl::MAX_LEN`] bytes, no user-info, `https`
/// (or `http` to a loopback host with the loopback opt-in), an IP-literal host the policy
/// allows, and the same URL when its normalised form is parsed again; and that an opt-in never
/// refuses what the default accepts. The first 16 bytes, as an IPv4 and an IPv6 address, go
/// through the address rules: an IPv4-mapped IPv6 address is classified and checked as its
/// IPv4 address.
pub fn webhook_url(data: &[u8]) {
    let input = String::from_utf8_lossy(data);
    let mut accepted = [false; 4];
    for (policy, accepted) in POLICIES.iter().zip(&mut accepted) {
        let Ok(url) = WebhookUrl::parse_with(&input, policy) else {
            continue;
        };
        *accepted = true;
        assert!(url.as_str().len() <= WebhookUrl::MAX_LEN);
        assert!(url.as_url().username().is_empty() && url.as_url().password().is_none());
        let ip = url.ip();
        if !url.is_https() {
            assert_eq!(url.as_url().scheme(), "http");
            assert!(policy.allow_loopback, "plain http without the opt-in");
            if let Some(ip) = ip {
                assert_eq!(
                    classify_ip(ip),
                    AddressClass::Loopback,
                    "plain http to {ip}"
                );
            }
        }
        if let Some(ip) = ip {
            assert!(policy.allows(ip), "an IP literal the policy refuses: {ip}");
        }
        match WebhookUrl::parse_with(url.as_str(), policy) {
            Ok(again) => assert_eq!(again, url, "the normalised URL reads as another"),
            Err(error) => panic!("the normalised URL {url} is refused: {error}"),
        }
    }
    // The default accepts nothing an opt-in refuses.
    if accepted[0] {
        assert!(
            accepted.iter().all(|&a| a),
            "an opt-in refused a public URL"
        );
    }
    addresses(data);
}

/// The address rules on the first bytes of `data`.
fn addresses(data: &[u8]) {
    let mut octets = [0u8; 16];
    for (octet, byte) in octets.iter_mut().zip(data) {
        *octet = *byte;
    }
    let v4 = Ipv4Addr::new(octets[0], octets[1], octets[2], octets[3]);
    let v6 = Ipv6Addr::from(octets);
    let mapped = v4.to_ipv6_mapped();
    assert_eq!(
        classify_ip(IpAddr::V4(v4)),
        classify_ip(IpAddr::V6(mapped)),
        "{v4} and {mapped} are classified apart"
    );
    for policy in POLICIES {
        assert_eq!(
            policy.allows(IpAddr::V4(v4)),
            policy.allows(IpAddr::V6(mapped)),
            "{v4} and {mapped} are checked apart"
        );
        let _ = policy.check(IpAddr::V6(v6));
    }
}

//! Webhook URL rules and address checks (docs/protocol.md §4.2), through the public API.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::net::IpAddr;

use proptest::prelude::*;
use runhook::endpoint::{
    AddressClass, AddressPolicy, OptIn, UrlError, WebhookUrl, classify_ip, embedded_ipv4,
};

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

const LOOPBACK_ONLY: AddressPolicy = AddressPolicy {
    allow_loopback: true,
    allow_private: false,
};

#[test]
fn https_urls_are_accepted_and_normalised() {
    let url = WebhookUrl::parse("HTTPS://Hooks.Example.COM:8443/tinyfish?x=1").unwrap();
    assert_eq!(url.as_str(), "https://hooks.example.com:8443/tinyfish?x=1");
    assert_eq!(url.host(), "hooks.example.com");
    assert_eq!(url.port(), 8443);
    assert!(url.is_https());
    assert!(!url.is_ip_literal());
    assert_eq!(url.ip(), None);
    let default_port = WebhookUrl::parse("https://example.com").unwrap();
    assert_eq!(
        (default_port.port(), default_port.as_str()),
        (443, "https://example.com/")
    );
    let literal: WebhookUrl = "https://8.8.8.8/hook".parse().unwrap();
    assert_eq!(literal.ip(), Some(ip("8.8.8.8")));
    let v6 = WebhookUrl::parse("https://[2606:4700:4700::1111]/hook").unwrap();
    assert_eq!(v6.host(), "[2606:4700:4700::1111]");
    assert_eq!(v6.ip(), Some(ip("2606:4700:4700::1111")));
}

#[test]
fn plain_http_is_refused_with_the_opt_in_hint() {
    for input in [
        "http://example.com/hook",
        "http://localhost:3000/hook",
        "http://127.0.0.1/",
    ] {
        let error = WebhookUrl::parse(input).unwrap_err();
        assert_eq!(error, UrlError::InsecureScheme, "{input}");
        assert!(
            error.to_string().contains(OptIn::InsecureLocalhost.flag()),
            "{error}"
        );
    }
}

#[test]
fn http_needs_the_opt_in_and_a_loopback_host() {
    for input in [
        "http://localhost:3000/hook",
        "http://app.localhost/hook",
        "http://127.0.0.1:8080/",
        "http://127.9.9.9/",
        "http://[::1]:8080/",
    ] {
        let url = WebhookUrl::parse_with(input, &LOOPBACK_ONLY).unwrap();
        assert!(!url.is_https(), "{input}");
    }
    for (input, host) in [
        ("http://example.com/", "example.com"),
        ("http://10.0.0.1/", "10.0.0.1"),
        ("http://8.8.8.8/", "8.8.8.8"),
    ] {
        let error = WebhookUrl::parse_with(input, &AddressPolicy::local_development()).unwrap_err();
        assert_eq!(
            error,
            UrlError::InsecureRemoteHost { host: host.into() },
            "{input}"
        );
        assert!(error.to_string().contains("use https"), "{error}");
    }
}

#[test]
fn other_schemes_are_refused() {
    for (input, scheme) in [
        ("ftp://example.com/", "ftp"),
        ("ws://example.com/", "ws"),
        ("file:///etc/passwd", "file"),
        ("mailto:hooks@example.com", "mailto"),
        ("javascript:alert(1)", "javascript"),
    ] {
        assert_eq!(
            WebhookUrl::parse(input),
            Err(UrlError::UnsupportedScheme {
                scheme: scheme.into()
            }),
            "{input}"
        );
    }
}

#[test]
fn user_info_is_refused_without_echoing_the_password() {
    for input in [
        "https://user:hunter2@example.com/hook",
        "https://user@example.com/hook",
        "https://:hunter2@example.com/hook",
    ] {
        let error = WebhookUrl::parse(input).unwrap_err();
        assert_eq!(error, UrlError::UserInfo, "{input}");
        assert!(!error.to_string().contains("hunter2"));
    }
}

#[test]
fn a_host_is_required() {
    for input in ["https://", "https:///", "https://:443/hook", "https://?q=1"] {
        assert_eq!(
            WebhookUrl::parse(input),
            Err(UrlError::MissingHost),
            "{input}"
        );
    }
    assert!(matches!(
        WebhookUrl::parse("/relative/path"),
        Err(UrlError::Invalid(_))
    ));
    assert!(matches!(
        WebhookUrl::parse("https://exa mple.com/"),
        Err(UrlError::Invalid(_))
    ));
}

#[test]
fn at_most_2048_bytes() {
    let prefix = "https://example.com/";
    let exactly = format!("{prefix}{}", "a".repeat(2048 - prefix.len()));
    assert_eq!(exactly.len(), 2048);
    assert!(WebhookUrl::parse(&exactly).is_ok());
    let over = format!("{exactly}a");
    assert_eq!(over.len(), 2049);
    assert_eq!(
        WebhookUrl::parse(&over),
        Err(UrlError::TooLong { len: 2049 })
    );
    // Short as written, too long once percent-encoded.
    let spaces = format!("{prefix}{}", " x".repeat(700));
    assert!(spaces.len() <= 2048);
    assert!(matches!(
        WebhookUrl::parse(&spaces),
        Err(UrlError::TooLong { len }) if len > 2048
    ));
}

#[test]
fn ip_literal_hosts_are_checked_against_the_policy() {
    for (input, class, opt_in) in [
        (
            "https://127.0.0.1/",
            AddressClass::Loopback,
            Some(OptIn::InsecureLocalhost),
        ),
        (
            "https://[::1]/",
            AddressClass::Loopback,
            Some(OptIn::InsecureLocalhost),
        ),
        (
            "https://[::ffff:127.0.0.1]/",
            AddressClass::Loopback,
            Some(OptIn::InsecureLocalhost),
        ),
        (
            "https://10.1.2.3/",
            AddressClass::Private,
            Some(OptIn::AllowPrivateNetworks),
        ),
        (
            "https://100.64.0.1/",
            AddressClass::SharedCgnat,
            Some(OptIn::AllowPrivateNetworks),
        ),
        (
            "https://[fd00::1]/",
            AddressClass::UniqueLocal,
            Some(OptIn::AllowPrivateNetworks),
        ),
        (
            "https://169.254.169.254/latest/meta-data/",
            AddressClass::LinkLocal,
            None,
        ),
        ("https://[fe80::1]/", AddressClass::LinkLocal, None),
        ("https://192.0.2.1/", AddressClass::Documentation, None),
        ("https://0.0.0.0/", AddressClass::Unspecified, None),
    ] {
        let error = WebhookUrl::parse(input).unwrap_err();
        let UrlError::Forbidden(forbidden) = &error else {
            panic!("{input}: {error:?}");
        };
        assert_eq!(
            (forbidden.class, forbidden.opt_in()),
            (class, opt_in),
            "{input}"
        );
        let message = error.to_string();
        assert!(message.contains(class.as_str()), "{message}");
        match opt_in {
            Some(opt_in) => assert!(message.contains(opt_in.flag()), "{message}"),
            None => assert!(message.contains("never"), "{message}"),
        }
    }
}

#[test]
fn localhost_names_need_the_loopback_opt_in() {
    for input in [
        "https://localhost/",
        "https://LOCALHOST:8443/",
        "https://api.localhost/",
    ] {
        let error = WebhookUrl::parse(input).unwrap_err();
        assert!(matches!(error, UrlError::LoopbackName { .. }), "{input}");
        assert!(error.to_string().contains("--insecure-localhost"));
        assert!(
            WebhookUrl::parse_with(input, &LOOPBACK_ONLY).is_ok(),
            "{input}"
        );
    }
    assert!(WebhookUrl::parse("https://localhost.example.com/").is_ok());
}

#[test]
fn the_opt_ins_unlock_what_they_say() {
    let dev = AddressPolicy::local_development();
    assert!(WebhookUrl::parse_with("https://127.0.0.1:8443/", &dev).is_ok());
    assert!(WebhookUrl::parse_with("https://192.168.1.20/", &dev).is_ok());
    assert!(WebhookUrl::parse_with("https://[fd12::5]/", &dev).is_ok());
    assert!(WebhookUrl::parse_with("https://192.168.1.20/", &LOOPBACK_ONLY).is_err());
}

#[test]
fn the_metadata_address_169_254_169_254_stays_forbidden_with_every_opt_in() {
    let dev = AddressPolicy::local_development();
    for address in [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",
        "fd00:ec2::254",
    ] {
        let error = dev.check(ip(address)).unwrap_err();
        assert!(error.cloud_metadata, "{address}");
        assert_eq!(error.opt_in(), None, "{address}");
        assert!(error.to_string().contains("cloud metadata"), "{error}");
    }
    for input in [
        "https://169.254.169.254/latest/meta-data/",
        "https://[::ffff:169.254.169.254]/",
        "https://[64:ff9b::a9fe:a9fe]/",
        "https://2852039166/", // 169.254.169.254 as one number
    ] {
        assert!(
            matches!(
                WebhookUrl::parse_with(input, &dev),
                Err(UrlError::Forbidden(_))
            ),
            "{input}"
        );
    }
    assert_eq!(classify_ip(ip("169.254.169.254")), AddressClass::LinkLocal);
}

#[test]
fn ip_classes_v4() {
    for (address, class) in [
        ("93.184.216.34", AddressClass::Public),
        ("127.0.0.1", AddressClass::Loopback),
        ("10.0.0.1", AddressClass::Private),
        ("172.16.5.4", AddressClass::Private),
        ("192.168.0.1", AddressClass::Private),
        ("100.64.0.0", AddressClass::SharedCgnat),
        ("100.127.255.255", AddressClass::SharedCgnat),
        ("169.254.169.254", AddressClass::LinkLocal),
        ("224.0.0.251", AddressClass::Multicast),
        ("0.0.0.0", AddressClass::Unspecified),
        ("192.0.2.10", AddressClass::Documentation),
        ("198.51.100.10", AddressClass::Documentation),
        ("203.0.113.10", AddressClass::Documentation),
        ("198.18.0.1", AddressClass::Benchmarking),
        ("240.0.0.1", AddressClass::Reserved),
        ("255.255.255.255", AddressClass::Broadcast),
    ] {
        assert_eq!(classify_ip(ip(address)), class, "{address}");
    }
}

#[test]
fn ip_classes_v6_and_mapped_forms() {
    for (address, class) in [
        ("2606:4700:4700::1111", AddressClass::Public),
        ("::1", AddressClass::Loopback),
        ("::", AddressClass::Unspecified),
        ("fc00::1", AddressClass::UniqueLocal),
        ("fdff:ffff::1", AddressClass::UniqueLocal),
        ("fe80::1", AddressClass::LinkLocal),
        ("ff02::fb", AddressClass::Multicast),
        ("2001:db8::1", AddressClass::Documentation),
        ("::ffff:127.0.0.1", AddressClass::Loopback),
        ("::ffff:169.254.169.254", AddressClass::LinkLocal),
        ("::ffff:10.0.0.1", AddressClass::Private),
        ("::ffff:100.64.0.1", AddressClass::SharedCgnat),
        ("64:ff9b::a9fe:a9fe", AddressClass::LinkLocal),
        ("64:ff9b::c000:201", AddressClass::Documentation),
        ("::127.0.0.1", AddressClass::Loopback),
        ("2002:c0a8:0101::1", AddressClass::Private), // 6to4 of 192.168.1.1
    ] {
        assert_eq!(classify_ip(ip(address)), class, "{address}");
    }
}

proptest! {
    /// Every IPv4 address and each IPv6 form that carries it are classified alike, and checked
    /// alike by every policy.
    #[test]
    fn ipv6_forms_are_classified_like_the_ipv4_they_carry(bits in any::<u32>()) {
        let v4 = std::net::Ipv4Addr::from_bits(bits);
        let class = classify_ip(IpAddr::V4(v4));
        let v4_bits = u128::from(bits);
        let forms = [
            (0xffffu128 << 32) | v4_bits,               // ::ffff:a.b.c.d
            (0xffff_0000u128 << 32) | v4_bits,          // ::ffff:0:a.b.c.d
            (0x0064_ff9bu128 << 96) | v4_bits,          // 64:ff9b::a.b.c.d
            (0x2002u128 << 112) | (v4_bits << 80) | 1,  // 2002:aabb:ccdd::1
        ];
        for form in forms {
            let v6 = std::net::Ipv6Addr::from_bits(form);
            prop_assert_eq!(embedded_ipv4(v6), Some(v4));
            prop_assert_eq!(classify_ip(IpAddr::V6(v6)), class, "{}", v6);
            for policy in [AddressPolicy::default(), LOOPBACK_ONLY, AddressPolicy::local_development()] {
                prop_assert_eq!(policy.allows(IpAddr::V6(v6)), policy.allows(IpAddr::V4(v4)));
            }
        }
    }

    /// No input makes the URL parser panic, and what it accepts keeps its promises.
    #[test]
    fn urls_never_panic_and_accepted_ones_keep_the_rules(
        input in prop_oneof![
            ".{0,40}",
            "(https?|ftp)://[a-z0-9.:@\\[\\]%-]{0,30}(/[a-z]{0,5})?",
        ],
        loopback in any::<bool>(),
        private in any::<bool>(),
    ) {
        let policy = AddressPolicy { allow_loopback: loopback, allow_private: private };
        if let Ok(url) = WebhookUrl::parse_with(&input, &policy) {
            prop_assert!(url.as_str().len() <= WebhookUrl::MAX_LEN);
            prop_assert!(url.is_https() || loopback);
            prop_assert!(!url.host().is_empty());
            prop_assert!(url.as_url().username().is_empty() && url.as_url().password().is_none());
            if let Some(address) = url.ip() {
                prop_assert!(policy.allows(address));
            }
        }
    }
}

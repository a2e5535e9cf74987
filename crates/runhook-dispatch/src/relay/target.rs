//! Whether a forward target is the relay itself: a relay that forwards to its own address and
//! path would mark each row done on its own duplicate answer, and no app would ever see the
//! event.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};

use crate::sender::Target;

/// Whether `target` is the relay listening on `listening` at `path` (a path with a leading
/// slash): a plain `http` target on the same port and path, whose host is the listening address
/// (for an unspecified listening address such as `0.0.0.0`, any loopback address). A host name
/// is resolved with the system's resolver (a blocking lookup: call it before serving); a name
/// that does not resolve is not the relay. Port 0 (chosen when binding) never matches.
///
/// An `https` target is never the relay, which serves plain HTTP: its TLS handshake fails
/// instead, and rows are retried.
pub fn forwards_to_itself(target: &Target, listening: SocketAddr, path: &str) -> bool {
    if !target.is_plain_http()
        || listening.port() == 0
        || target.port() != listening.port()
        || target.path() != path
    {
        return false;
    }
    let addresses: Vec<IpAddr> = match target.ip() {
        Some(ip) => vec![ip],
        None => (target.host(), target.port())
            .to_socket_addrs()
            .map(|found| found.map(|addr| addr.ip()).collect())
            .unwrap_or_default(),
    };
    let listening = listening.ip().to_canonical();
    addresses.into_iter().any(|ip| {
        let ip = ip.to_canonical();
        ip == listening || (listening.is_unspecified() && ip.is_loopback())
    })
}

#[cfg(test)]
mod tests {
    use runhook::AddressPolicy;

    use super::*;

    fn target(url: &str) -> Target {
        let policy = AddressPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        Target::check(url, policy).unwrap()
    }

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn same_address_port_and_path_is_itself() {
        let path = "/webhooks/tinyfish";
        let own = target("http://127.0.0.1:8080/webhooks/tinyfish");
        assert!(forwards_to_itself(&own, addr("127.0.0.1:8080"), path));
        assert!(forwards_to_itself(&own, addr("0.0.0.0:8080"), path));
        assert!(forwards_to_itself(
            &target("http://[::1]:8080/webhooks/tinyfish"),
            addr("[::]:8080"),
            path
        ));
        assert!(forwards_to_itself(
            &target("http://127.0.0.1:8080/webhooks/tinyfish?token=x"),
            addr("127.0.0.1:8080"),
            path
        ));
        for other in [
            "http://127.0.0.1:8081/webhooks/tinyfish",
            "http://127.0.0.1:8080/app",
            "http://127.0.0.2:8080/webhooks/tinyfish",
            "https://127.0.0.1:8080/webhooks/tinyfish",
        ] {
            assert!(
                !forwards_to_itself(&target(other), addr("127.0.0.1:8080"), path),
                "{other}"
            );
        }
        assert!(!forwards_to_itself(&own, addr("127.0.0.1:0"), path));
    }
}

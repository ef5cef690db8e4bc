//! The SSRF guard: unless allowed, callbacks never reach private, loopback, link-local,
//! unspecified, multicast, CGNAT or IPv6 unique-local/link-local addresses.
//!
//! Names are checked where they are resolved ([`GuardedResolver`] is the HTTP client's DNS
//! resolver), so the addresses checked are the addresses connected to: DNS rebinding between a
//! check and the connect cannot bypass it. Literal IP hosts never reach a resolver, so
//! [`check_url`] checks them before any request is made.

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Why a callback address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("refused: callback host {host} resolves to {kind} address {ip}")]
    Address {
        host: String,
        ip: IpAddr,
        kind: &'static str,
    },
    #[error("refused: callback URL scheme must be http or https")]
    Scheme,
    #[error("refused: callback URL has no host")]
    NoHost,
}

/// What kind of non-public address `ip` is, or `None` for a public one.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_kind(v4),
        IpAddr::V6(v6) => v6_kind(v6),
    }
}

fn v4_kind(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        _ if ip.is_link_local() => "link-local",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_multicast() => "multicast",
        _ if ip.is_broadcast() || a >= 240 => "reserved",
        (100, 64..=127, _) => "CGNAT",
        (192, 0, 0) => "reserved",
        (198, 18..=19, _) => "benchmarking",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        _ => return None,
    })
}

fn v6_kind(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return v4_kind(v4);
    }
    let first = ip.segments()[0];
    Some(match first {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_multicast() => "multicast",
        f if f & 0xfe00 == 0xfc00 => "unique-local",
        f if f & 0xffc0 == 0xfe80 => "link-local",
        f if f & 0xffc0 == 0xfec0 => "site-local",
        _ if ip.segments()[..2] == [0x2001, 0x0db8] => "documentation",
        // RFC 8215's local-use NAT64 prefix: a translator of the operator's own, at a prefix
        // length of its choosing, so where the IPv4 address sits is not known.
        _ if ip.segments()[..3] == [0x64, 0xff9b, 1] => "NAT64 local-use",
        _ => return None,
    })
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-translated
/// (`::ffff:0:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64 (`64:ff9b::/96`) or 6to4 (`2002::/16`) address: each reaches that IPv4 host.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(tail),
        // IPv4-translated (`::ffff:0:a.b.c.d`, RFC 2765).
        [0, 0, 0, 0, 0xffff, 0, _, _] => Some(tail),
        [0, 0, 0, 0, 0, 0, _, _] if !ip.is_loopback() && !ip.is_unspecified() => Some(tail),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(tail),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::new(
            (hi >> 8) as u8,
            hi as u8,
            (lo >> 8) as u8,
            lo as u8,
        )),
        _ => None,
    }
}

fn check_ip(host: &str, ip: IpAddr) -> Result<(), Refused> {
    match forbidden_kind(ip) {
        Some(kind) => Err(Refused::Address {
            host: host.to_string(),
            ip,
            kind,
        }),
        None => Ok(()),
    }
}

/// Checks what can be checked before connecting: the scheme, and a literal IP host.
pub fn check_url(url: &Url) -> Result<(), Refused> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refused::Scheme);
    }
    let host = url.host_str().ok_or(Refused::NoHost)?;
    // IPv6 literals come bracketed; the URL parser has already normalised IPv4 forms (127.1).
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => check_ip(bare, ip),
        Err(_) => Ok(()),
    }
}

/// A DNS resolver that refuses names resolving to any non-public address.
#[derive(Debug, Default)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            for a in &addrs {
                check_ip(&host, a.ip())?;
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(text: &str) -> Option<&'static str> {
        forbidden_kind(text.parse().expect("ip"))
    }

    #[test]
    fn non_public_addresses_are_forbidden() {
        for (ip, k) in [
            ("127.0.0.1", "loopback"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("192.168.1.1", "private"),
            ("169.254.169.254", "link-local"),
            ("0.0.0.0", "unspecified"),
            ("224.0.0.1", "multicast"),
            ("100.64.0.1", "CGNAT"),
            ("100.127.255.255", "CGNAT"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("fd00::1", "unique-local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:10.0.0.1", "private"),
            ("64:ff9b::a9fe:a9fe", "link-local"),
            ("2002:c0a8:0101::1", "private"),
            ("::ffff:0:7f00:1", "loopback"),
            ("::ffff:0:a9fe:a9fe", "link-local"),
            ("64:ff9b:1::a9fe:a9fe", "NAT64 local-use"),
            ("64:ff9b:1:a9fe:a9fe::", "NAT64 local-use"),
        ] {
            assert_eq!(kind(ip), Some(k), "{ip}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(kind(ip), None, "{ip}");
        }
    }

    #[test]
    fn literal_hosts_and_schemes_are_checked_before_connecting() {
        let url = |s: &str| Url::parse(s).expect("url");
        assert!(check_url(&url("http://127.1:8080/cb")).is_err());
        assert!(check_url(&url("http://[::1]/cb")).is_err());
        assert!(check_url(&url("http://0x7f000001/cb")).is_err());
        assert_eq!(check_url(&url("file:///etc/passwd")), Err(Refused::Scheme));
        assert!(check_url(&url("https://merchant.example/cb")).is_ok());
        assert!(check_url(&url("http://8.8.8.8/cb")).is_ok());
    }
}

//! Which addresses an article may be fetched from. Article links come from feed content,
//! which anyone who controls a feed writes, so a link must never make the bot a way into the
//! machine or network it runs on: loopback, private, link-local (cloud metadata at
//! 169.254.169.254), shared, multicast, documentation and reserved ranges are refused, in
//! IPv4 and IPv6 (IPv4-mapped and NAT64 addresses by the address they carry).
//!
//! The check runs where the connection is made: [`PublicOnly`] is the HTTP client's resolver,
//! so the address checked is the address connected to (a name that resolves to a public
//! address for a check and to 127.0.0.1 for the connection gets nowhere), on every redirect.
//! A URL whose host is an address literal never reaches a resolver; [`Policy::check_url`] refuses it
//! before the request and on every redirect. `allowed` networks (off by default) let tests and
//! intranets through.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// Why a link is not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("{0:?} is not an http(s) link")]
    Scheme(String),
    #[error("the link has no host")]
    NoHost,
    #[error("{0} is not a public address")]
    NotPublic(IpAddr),
    #[error("{host} resolves to no public address")]
    NoPublicAddress { host: String },
}

/// Whether `ip` is an address of the public internet.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || a >= 240
        // Shared address space (carrier-grade NAT; some clouds' metadata).
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, and benchmarking.
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b)))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    // NAT64 (64:ff9b::/96) carries an IPv4 address.
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local (fc00::/7), link-local (fe80::/10), site-local (fec0::/10).
        || (s[0] & 0xfe00) == 0xfc00
        || (s[0] & 0xffc0) == 0xfe80
        || (s[0] & 0xffc0) == 0xfec0
        // Documentation (2001:db8::/32), and the old IPv4-compatible ::a.b.c.d.
        || (s[0] == 0x2001 && s[1] == 0x0db8)
        || s[..6] == [0, 0, 0, 0, 0, 0])
}

/// The addresses a fetch may reach: public ones, and the networks an operator allowed.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    allowed: Arc<[IpNet]>,
}

impl Policy {
    pub fn new(allowed: Vec<IpNet>) -> Policy {
        Policy {
            allowed: allowed.into(),
        }
    }

    pub fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.iter().any(|n| n.contains(&ip))
    }

    /// Refuses a link that is not http(s), has no host, or names a refused address.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme(url.scheme().to_string()));
        }
        match url.host() {
            None => Err(Refused::NoHost),
            Some(url::Host::Ipv4(ip)) => self.literal(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.literal(IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
        }
    }

    fn literal(&self, ip: IpAddr) -> Result<(), Refused> {
        if self.permits(ip) {
            Ok(())
        } else {
            Err(Refused::NotPublic(ip))
        }
    }
}

/// The HTTP client's resolver: the system's answers, less every address the policy refuses.
#[derive(Debug, Clone)]
pub struct PublicOnly(pub Policy);

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.permits(a.ip()))
                .collect();
            if found.is_empty() {
                return Err(Box::new(Refused::NoPublicAddress { host }) as _);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn links_are_refused_by_scheme_and_by_address_literal() {
        let p = Policy::default();
        let url = |s: &str| url::Url::parse(s).unwrap();
        assert!(p.check_url(&url("https://news.example/a")).is_ok());
        assert_eq!(
            p.check_url(&url("file:///etc/passwd")),
            Err(Refused::Scheme("file".into()))
        );
        assert!(p.check_url(&url("gopher://x.example/")).is_err());
        assert!(p.check_url(&url("http://127.0.0.1:8080/")).is_err());
        assert!(p.check_url(&url("http://[::1]/")).is_err());
        assert!(p
            .check_url(&url("http://169.254.169.254/latest/meta-data/"))
            .is_err());
        // The URL parser reads the other spellings of an address as the address.
        assert!(p.check_url(&url("http://2130706433/")).is_err());
        assert!(p.check_url(&url("http://0x7f.1/")).is_err());
        let allowed = Policy::new(vec!["127.0.0.1/32".parse().unwrap()]);
        assert!(allowed.check_url(&url("http://127.0.0.1:8080/")).is_ok());
        assert!(allowed.check_url(&url("http://127.0.0.2:8080/")).is_err());
    }
}

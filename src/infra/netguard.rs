//! Which addresses an untrusted URL may reach, and the DNS resolver that
//! enforces it at connect time.
//!
//! Addresses learned from the network (article links from feeds, remote
//! actors and inboxes) must not reach this machine or its neighbours. The
//! check runs inside the HTTP client's resolver, on the very addresses the
//! connection will use, so a name cannot resolve to a public address for the
//! check and to a private one for the connect (DNS rebinding).

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::{Ipv4Net, Ipv6Net};

/// IPv4 blocks that are not globally reachable unicast: the IANA IPv4
/// Special-Purpose Address Registry
/// (<https://www.iana.org/assignments/iana-ipv4-special-registry/>) entries
/// whose "Globally Reachable" is False or N/A, plus multicast (RFC 5771).
/// Blocks the registry marks globally reachable (AS112, AMT) are left out.
const V4_BLOCKED: &[Ipv4Net] = &[
    Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8), // "this network", RFC 791
    Ipv4Net::new_assert(Ipv4Addr::new(10, 0, 0, 0), 8), // private, RFC 1918
    Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10), // shared address space (CGNAT), RFC 6598
    Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8), // loopback, RFC 1122
    Ipv4Net::new_assert(Ipv4Addr::new(169, 254, 0, 0), 16), // link local, RFC 3927
    Ipv4Net::new_assert(Ipv4Addr::new(172, 16, 0, 0), 12), // private, RFC 1918
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 0, 0), 24), // IETF protocol assignments, RFC 6890
    Ipv4Net::new_assert(Ipv4Addr::new(192, 0, 2, 0), 24), // documentation TEST-NET-1, RFC 5737
    Ipv4Net::new_assert(Ipv4Addr::new(192, 88, 99, 0), 24), // 6to4 relay anycast (deprecated), RFC 7526
    Ipv4Net::new_assert(Ipv4Addr::new(192, 168, 0, 0), 16), // private, RFC 1918
    Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15),  // benchmarking, RFC 2544
    Ipv4Net::new_assert(Ipv4Addr::new(198, 51, 100, 0), 24), // documentation TEST-NET-2, RFC 5737
    Ipv4Net::new_assert(Ipv4Addr::new(203, 0, 113, 0), 24), // documentation TEST-NET-3, RFC 5737
    Ipv4Net::new_assert(Ipv4Addr::new(224, 0, 0, 0), 4),    // multicast, RFC 5771
    Ipv4Net::new_assert(Ipv4Addr::new(240, 0, 0, 0), 4),    // reserved, RFC 1112 (incl. broadcast)
];

/// IPv6 blocks that are not globally reachable unicast: the IANA IPv6
/// Special-Purpose Address Registry
/// (<https://www.iana.org/assignments/iana-ipv6-special-registry/>), plus
/// deprecated site-local (RFC 3879) and multicast (RFC 4291). The blocks that
/// embed an IPv4 address (mapped, NAT64, 6to4) are judged by that address in
/// [`is_public_v6`] instead.
const V6_BLOCKED: &[Ipv6Net] = &[
    Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96), // ::/128, ::1/128 and IPv4-compatible ::a.b.c.d (deprecated, RFC 4291)
    Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48), // local-use IPv4/IPv6 translation, RFC 8215
    Ipv6Net::new_assert(Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64), // discard-only, RFC 6666
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments (Teredo, ORCHID…), RFC 2928
    Ipv6Net::new_assert(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation, RFC 3849
    Ipv6Net::new_assert(Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation, RFC 9637
    Ipv6Net::new_assert(Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16), // segment routing SIDs, RFC 9602
    Ipv6Net::new_assert(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7),  // unique local, RFC 4193
    Ipv6Net::new_assert(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10), // link local, RFC 4291
    Ipv6Net::new_assert(Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10), // site local (deprecated), RFC 3879
    Ipv6Net::new_assert(Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8),  // multicast, RFC 4291
];

const V4_MAPPED: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0, 0, 0, 0, 0, 0xffff, 0, 0), 96);
const NAT64: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96);
const SIX_TO_FOUR: Ipv6Net = Ipv6Net::new_assert(Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16);

/// Whether an address is globally reachable unicast.
pub fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(*v4),
        IpAddr::V6(v6) => is_public_v6(*v6),
    }
}

pub fn is_public_v4(ip: Ipv4Addr) -> bool {
    !V4_BLOCKED.iter().any(|n| n.contains(&ip))
}

pub fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // Addresses that carry an IPv4 address reach that address.
    if V4_MAPPED.contains(&ip) || NAT64.contains(&ip) {
        return is_public_v4(Ipv4Addr::new(
            (s[6] >> 8) as u8,
            s[6] as u8,
            (s[7] >> 8) as u8,
            s[7] as u8,
        ));
    }
    if SIX_TO_FOUR.contains(&ip) {
        return is_public_v4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        ));
    }
    !V6_BLOCKED.iter().any(|n| n.contains(&ip))
}

/// A DNS resolver for clients that fetch untrusted URLs: it resolves with
/// the system resolver and refuses a name any of whose addresses is not
/// public, unless `validate` is off (local test setups). Fixed answers can
/// be given for names (tests map a public-looking name to 127.0.0.1); they
/// are checked like any other answer.
#[derive(Debug, Clone, Default)]
pub struct GuardedResolver {
    validate: bool,
    /// name -> (addresses, exempt from the check)
    fixed: Arc<HashMap<String, (Vec<IpAddr>, bool)>>,
}

/// A name that resolved to an address the guard refuses.
#[derive(Debug, thiserror::Error)]
#[error("refusing {host}: it resolves to the non-public address {ip}")]
pub struct NonPublic {
    pub host: String,
    pub ip: IpAddr,
}

impl GuardedResolver {
    pub fn new(validate: bool) -> GuardedResolver {
        GuardedResolver {
            validate,
            fixed: Arc::new(HashMap::new()),
        }
    }

    /// The same resolver answering `name` with `addrs` instead of asking DNS;
    /// the answer is checked like a DNS answer.
    pub fn with_fixed(mut self, name: &str, addrs: Vec<IpAddr>) -> GuardedResolver {
        Arc::make_mut(&mut self.fixed)
            .insert(name.trim_end_matches('.').to_lowercase(), (addrs, false));
        self
    }

    /// The same resolver answering `name` with `addrs`, exempt from the
    /// check (an operator's allow-list entry; tests use it for a first hop).
    pub fn with_trusted(mut self, name: &str, addrs: Vec<IpAddr>) -> GuardedResolver {
        Arc::make_mut(&mut self.fixed)
            .insert(name.trim_end_matches('.').to_lowercase(), (addrs, true));
        self
    }

    pub fn validates(&self) -> bool {
        self.validate
    }

    /// The addresses for `host`, all of them checked when validating.
    pub async fn lookup(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, LookupError> {
        let key = host.trim_end_matches('.').to_lowercase();
        let mut trusted = false;
        let addrs: Vec<SocketAddr> = match self.fixed.get(&key) {
            Some((ips, exempt)) => {
                trusted = *exempt;
                ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect()
            }
            None => match key.parse::<IpAddr>() {
                Ok(ip) => vec![SocketAddr::new(ip, port)],
                Err(_) => tokio::net::lookup_host((key.as_str(), port))
                    .await
                    .map_err(|e| LookupError::Dns(format!("{host}: {e}")))?
                    .collect(),
            },
        };
        if self.validate && !trusted {
            if let Some(a) = addrs.iter().find(|a| !is_public(&a.ip())) {
                return Err(LookupError::NonPublic(NonPublic {
                    host: host.to_string(),
                    ip: a.ip(),
                }));
            }
        }
        Ok(addrs)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("DNS: {0}")]
    Dns(String),
    #[error(transparent)]
    NonPublic(NonPublic),
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let this = self.clone();
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = this.lookup(&host, 0).await?;
            let iter: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(iter)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(&s.parse().expect("test input"))
    }

    #[test]
    fn special_purpose_v4_ranges_are_refused() {
        for a in [
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!public(a), "{a} must be refused");
        }
        for a in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "198.17.255.255",
            "198.20.0.0",
            "192.0.1.1",
        ] {
            assert!(public(a), "{a} is public");
        }
    }

    #[test]
    fn special_purpose_v6_ranges_and_embedded_v4_are_refused() {
        for a in [
            "::",
            "::1",
            "::127.0.0.1",
            "::8.8.8.8", // IPv4-compatible: deprecated, never reachable
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:1::1",   // 6to4 of 127.0.0.1
            "2002:c0a8:101::1", // 6to4 of 192.168.1.1
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!public(a), "{a} must be refused");
        }
        for a in [
            "2606:4700::1111",
            "2a00:1450:4001::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(public(a), "{a} is public");
        }
    }

    #[tokio::test]
    async fn fixed_answers_are_checked_like_dns_answers() {
        let r = GuardedResolver::new(true)
            .with_fixed("news.example.com", vec!["127.0.0.1".parse().expect("ip")]);
        assert!(matches!(
            r.lookup("news.example.com", 80).await,
            Err(LookupError::NonPublic(_))
        ));
        let open = GuardedResolver::new(false)
            .with_fixed("news.example.com", vec!["127.0.0.1".parse().expect("ip")]);
        assert_eq!(
            open.lookup("News.Example.com.", 80).await.expect("allowed"),
            vec!["127.0.0.1:80".parse::<SocketAddr>().expect("addr")]
        );
    }
}

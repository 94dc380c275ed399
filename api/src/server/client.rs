//! Who is on the other end of a request: the client's address (the peer's own, or — when the
//! peer is a reverse proxy listed in `trusted_proxies` — the address it forwarded in
//! `X-Forwarded-For`), and the limit on failed authentications per address: tokens are too
//! long to guess, but nothing should be free to hammer.

use std::{
    collections::HashMap,
    net::{IpAddr, SocketAddr},
    sync::Mutex,
    time::{Duration, Instant},
};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The window failed authentications are counted in.
pub const AUTH_FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses whose failures are remembered at once; older windows are dropped first.
pub const MAX_TRACKED_ADDRESSES: usize = 100_000;

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses (`10.0.0.5`, `::1`) or networks (`10.0.0.0/8`); an error names the entry.
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        entries
            .iter()
            .map(|entry| {
                let entry = entry.trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is neither an IP address nor a network"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|net| net.contains(&ip))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// An address as IPv4 where it is an IPv4 address mapped into IPv6.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the nearest
/// address in `X-Forwarded-For` (read from the right) that is not a trusted proxy itself.
pub fn client_ip(peer: SocketAddr, headers: &HeaderMap, trusted: &TrustedProxies) -> IpAddr {
    let peer_ip = canonical(peer.ip());
    if trusted.is_empty() || !trusted.contains(peer_ip) {
        return peer_ip;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|entry| {
            let entry = entry.trim();
            entry
                .parse::<IpAddr>()
                .or_else(|_| entry.parse::<SocketAddr>().map(|s| s.ip()))
                .ok()
                .map(canonical)
        })
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !trusted.contains(**ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer_ip)
}

/// What failures are counted by: an IPv4 address, or an IPv6 /64 (one subscriber's
/// network: its addresses are free to the one who holds it).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
enum Key {
    V4(u32),
    V6Prefix(u64),
}

impl From<IpAddr> for Key {
    fn from(ip: IpAddr) -> Self {
        match canonical(ip) {
            IpAddr::V4(v4) => Key::V4(u32::from(v4)),
            IpAddr::V6(v6) => Key::V6Prefix((u128::from(v6) >> 64) as u64),
        }
    }
}

/// Failed authentications per address: after `limit` in [`AUTH_FAILURE_WINDOW`], the
/// address is refused (429) until its window ends.
#[derive(Debug)]
pub struct AuthFailures {
    limit: u32,
    windows: Mutex<HashMap<Key, (Instant, u32)>>,
}

impl AuthFailures {
    /// `limit` failures per minute and address (0: no limit).
    pub fn new(limit: u32) -> Self {
        Self {
            limit,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Err(wait) when the address has failed too often and must wait before trying again.
    pub fn check(&self, ip: IpAddr) -> Result<(), Duration> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        match windows.get(&Key::from(ip)) {
            Some((started, count)) if *count >= self.limit => {
                let ends = *started + AUTH_FAILURE_WINDOW;
                if now < ends { Err(ends - now) } else { Ok(()) }
            }
            _ => Ok(()),
        }
    }

    /// Counts one failed authentication from the address.
    pub fn record(&self, ip: IpAddr) {
        self.record_at(ip, Instant::now());
    }

    fn record_at(&self, ip: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut windows = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if windows.len() >= MAX_TRACKED_ADDRESSES {
            windows.retain(|_, (started, _)| now.duration_since(*started) < AUTH_FAILURE_WINDOW);
            if windows.len() >= MAX_TRACKED_ADDRESSES {
                // Still full of live windows: forget the oldest tenth.
                let mut starts: Vec<Instant> = windows.values().map(|(s, _)| *s).collect();
                starts.sort_unstable();
                let cut = starts[starts.len() / 10];
                windows.retain(|_, (started, _)| *started > cut);
            }
        }
        let entry = windows.entry(Key::from(ip)).or_insert((now, 0));
        if now.duration_since(entry.0) >= AUTH_FAILURE_WINDOW {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// Addresses with a window open (for `/metrics`).
    pub fn tracked(&self) -> usize {
        self.windows.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", forwarded.parse().unwrap());
        headers
    }

    #[test]
    fn forwarded_addresses_count_only_from_trusted_proxies() {
        let peer: SocketAddr = "10.0.0.5:40000".parse().unwrap();
        let none = TrustedProxies::default();
        let proxies = TrustedProxies::parse(&["10.0.0.0/8".into(), "192.168.1.1".into()]).unwrap();
        let spoofed = headers("6.6.6.6");
        assert_eq!(
            client_ip(peer, &spoofed, &none),
            "10.0.0.5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip(peer, &spoofed, &proxies),
            "6.6.6.6".parse::<IpAddr>().unwrap()
        );
        // The client's own claim on the left is not believed past the first untrusted hop.
        let chain = headers("1.1.1.1, 203.0.113.9, 192.168.1.1");
        assert_eq!(
            client_ip(peer, &chain, &proxies),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        let stranger: SocketAddr = "203.0.113.50:1".parse().unwrap();
        assert_eq!(
            client_ip(stranger, &chain, &proxies),
            "203.0.113.50".parse::<IpAddr>().unwrap()
        );
        assert!(TrustedProxies::parse(&["not-an-ip".into()]).is_err());
    }

    #[test]
    fn failures_block_an_address_for_the_rest_of_its_window() {
        let failures = AuthFailures::new(3);
        let start = Instant::now();
        let ip: IpAddr = "198.51.100.7".parse().unwrap();
        let other: IpAddr = "198.51.100.8".parse().unwrap();
        for _ in 0..3 {
            assert!(failures.check_at(ip, start).is_ok());
            failures.record_at(ip, start);
        }
        let wait = failures
            .check_at(ip, start + Duration::from_secs(10))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(50));
        assert!(failures.check_at(other, start).is_ok());
        assert!(failures.check_at(ip, start + AUTH_FAILURE_WINDOW).is_ok());
        // IPv6 addresses of one /64 share a window.
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        for _ in 0..3 {
            failures.record_at(a, start);
        }
        assert!(failures.check_at(b, start).is_err());
    }

    #[test]
    fn the_table_stays_bounded() {
        let failures = AuthFailures::new(5);
        let start = Instant::now();
        for i in 0..(MAX_TRACKED_ADDRESSES as u32 + 1_000) {
            failures.record_at(IpAddr::from(i.to_be_bytes()), start);
        }
        assert!(failures.tracked() <= MAX_TRACKED_ADDRESSES);
    }
}

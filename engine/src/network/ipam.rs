//! IP address management as pure policy: which subnet a new network gets, which address a
//! container gets on it, and its MAC. No syscalls and no database here (the store takes the
//! lease in one transaction around [`pick_address`]), so the rules are unit-tested without
//! root: the network and broadcast addresses and the gateway are never handed out, a
//! `--ip` must be free and inside the subnet, and a subnet never overlaps a host route,
//! docker's `172.17.0.0/16`, another berth network or another state root's claim.
use std::collections::HashSet;
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;

use crate::error::{EngineError, Result};

/// Where berth looks for free /24s (podman's pool for its networks; docker takes 172.17+
/// and 192.168 for its own).
pub const POOL: &str = "10.89.0.0/16";

/// dockerd's default bridge: never given out, even while docker0 is down.
pub const DOCKER_DEFAULT: &str = "172.17.0.0/16";

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first /24 of [`POOL`] that overlaps nothing in `taken`.
pub fn pick_subnet(taken: &[Ipv4Net]) -> Result<Ipv4Net> {
    let pool: Ipv4Net = POOL.parse().expect("pool");
    let docker: Ipv4Net = DOCKER_DEFAULT.parse().expect("docker subnet");
    pool.subnets(24)
        .map_err(|e| EngineError::Other(e.to_string()))?
        .find(|s| !overlaps(s, &docker) && !taken.iter().any(|t| overlaps(s, t)))
        .ok_or_else(|| {
            EngineError::Conflict(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
            )
        })
}

/// Check a user's `--subnet`/`--gateway`/`--ip-range` and fill in the gateway (the first
/// host address, as docker does).
pub fn check_subnet(subnet: Ipv4Net, gateway: Option<Ipv4Addr>, ip_range: Option<Ipv4Net>, taken: &[Ipv4Net]) -> Result<Ipv4Addr> {
    if subnet != subnet.trunc() {
        return Err(EngineError::InvalidArgument(format!("invalid subnet {subnet}: it should be {}", subnet.trunc())));
    }
    if subnet.prefix_len() > 30 {
        return Err(EngineError::InvalidArgument(format!("invalid subnet {subnet}: too small for a gateway and a container")));
    }
    if let Some(t) = taken.iter().find(|t| overlaps(&subnet, t)) {
        return Err(EngineError::Conflict(format!("Pool overlaps with other one on this address space ({subnet} overlaps {t})")));
    }
    let gw = gateway.unwrap_or_else(|| first_host(subnet));
    if !subnet.contains(&gw) || gw == subnet.network() || gw == subnet.broadcast() {
        return Err(EngineError::InvalidArgument(format!("no matching subnet for gateway {gw}")));
    }
    if let Some(r) = ip_range
        && (!subnet.contains(&r.network()) || !subnet.contains(&r.broadcast()) || r != r.trunc())
    {
        return Err(EngineError::InvalidArgument(format!("invalid ip-range {r}: it must lie within the subnet {subnet}")));
    }
    Ok(gw)
}

fn first_host(n: Ipv4Net) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(n.network()) + 1)
}

/// The address a container gets: `requested` if it is free and in the subnet, else the
/// lowest free one of `ip_range` (or the subnet), skipping the network and broadcast
/// addresses and the gateway.
pub fn pick_address(
    subnet: Ipv4Net,
    gateway: Ipv4Addr,
    ip_range: Option<Ipv4Net>,
    used: &HashSet<Ipv4Addr>,
    requested: Option<Ipv4Addr>,
) -> Result<Ipv4Addr> {
    let reserved = |ip: Ipv4Addr| ip == subnet.network() || ip == subnet.broadcast() || ip == gateway;
    if let Some(ip) = requested {
        if !subnet.contains(&ip) || reserved(ip) {
            return Err(EngineError::InvalidArgument(format!(
                "invalid address {ip}: it does not belong to any of this network's subnets ({subnet})"
            )));
        }
        if used.contains(&ip) {
            return Err(EngineError::Conflict(format!("Address already in use: {ip}")));
        }
        return Ok(ip);
    }
    let range = ip_range.unwrap_or(subnet);
    let (lo, hi) = (u32::from(range.network()), u32::from(range.broadcast()));
    (lo..=hi)
        .map(Ipv4Addr::from)
        .find(|ip| !reserved(*ip) && !used.contains(ip))
        .ok_or_else(|| EngineError::Conflict(format!("no available IPv4 addresses on this network's address pools ({range})")))
}

/// docker's MAC for an address: `02:42` and the four bytes of the IP (unique per network).
pub fn mac_for(ip: Ipv4Addr) -> String {
    let o = ip.octets();
    format!("02:42:{:02x}:{:02x}:{:02x}:{:02x}", o[0], o[1], o[2], o[3])
}

/// The host's IPv4 routes (`/proc/net/route`), default routes left out: a new subnet must
/// not shadow any of them.
pub fn parse_routes(text: &str) -> Vec<Ipv4Net> {
    let mut out = Vec::new();
    for l in text.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let (Ok(dst), Ok(mask)) = (u32::from_str_radix(f[1], 16), u32::from_str_radix(f[7], 16)) else { continue };
        // The file holds them in host (little-endian) byte order.
        let (dst, mask) = (Ipv4Addr::from(u32::from_be(dst)), u32::from_be(mask));
        let prefix = mask.count_ones() as u8;
        if prefix == 0 {
            continue;
        }
        if let Ok(n) = Ipv4Net::new(dst, prefix) {
            out.push(n.trunc());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv4Net {
        s.parse().unwrap()
    }

    #[test]
    fn subnets_avoid_routes_docker_and_each_other() {
        assert_eq!(pick_subnet(&[]).unwrap(), net("10.89.0.0/24"));
        assert_eq!(pick_subnet(&[net("10.89.0.0/24"), net("10.89.1.0/25")]).unwrap(), net("10.89.2.0/24"));
        // A wide host route covering the pool's start pushes past it.
        assert_eq!(pick_subnet(&[net("10.89.0.0/20")]).unwrap(), net("10.89.16.0/24"));
        assert!(pick_subnet(&[net("10.0.0.0/8")]).is_err());
        assert_eq!(check_subnet(net("10.90.0.0/24"), None, None, &[]).unwrap(), Ipv4Addr::new(10, 90, 0, 1));
        assert!(matches!(check_subnet(net("10.90.0.0/24"), None, None, &[net("10.90.0.128/25")]), Err(EngineError::Conflict(_))));
        assert!(check_subnet(net("10.90.0.1/24"), None, None, &[]).is_err(), "host bits set");
        assert!(check_subnet(net("10.90.0.0/24"), Some(Ipv4Addr::new(10, 91, 0, 1)), None, &[]).is_err());
        assert!(check_subnet(net("10.90.0.0/24"), None, Some(net("10.90.1.0/28")), &[]).is_err());
        assert!(check_subnet(net("10.90.0.0/24"), None, Some(net("10.90.0.16/28")), &[]).is_ok());
        assert!(check_subnet(net("10.90.0.0/31"), None, None, &[]).is_err());
    }

    #[test]
    fn addresses_skip_reserved_and_used() {
        let s = net("10.89.3.0/29");
        let gw = Ipv4Addr::new(10, 89, 3, 1);
        let mut used = HashSet::new();
        let mut got = Vec::new();
        while let Ok(ip) = pick_address(s, gw, None, &used, None) {
            used.insert(ip);
            got.push(ip.octets()[3]);
        }
        assert_eq!(got, [2, 3, 4, 5, 6], "network .0, gateway .1 and broadcast .7 are never given out");
        used.remove(&Ipv4Addr::new(10, 89, 3, 4));
        assert_eq!(pick_address(s, gw, None, &used, None).unwrap(), Ipv4Addr::new(10, 89, 3, 4), "a released address is reused");
        let e = pick_address(s, gw, None, &used, Some(Ipv4Addr::new(10, 89, 3, 5))).unwrap_err();
        assert!(e.to_string().contains("already in use"), "{e}");
        assert!(pick_address(s, gw, None, &used, Some(Ipv4Addr::new(10, 89, 4, 2))).is_err());
        assert!(pick_address(s, gw, None, &used, Some(gw)).is_err());
        let r = pick_address(net("10.89.5.0/24"), Ipv4Addr::new(10, 89, 5, 1), Some(net("10.89.5.128/25")), &HashSet::new(), None);
        assert_eq!(r.unwrap(), Ipv4Addr::new(10, 89, 5, 128));
        assert_eq!(mac_for(Ipv4Addr::new(10, 89, 0, 2)), "02:42:0a:59:00:02");
    }

    #[test]
    fn routes_are_read_from_proc() {
        let t = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
                 eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
                 docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n\
                 eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
        assert_eq!(parse_routes(t), vec![net("172.17.0.0/16"), net("192.0.2.0/24")]);
    }
}

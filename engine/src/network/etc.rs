//! The container's `/etc/hostname`, `/etc/hosts` and `/etc/resolv.conf`, written into its
//! directory and bind-mounted into it, as docker writes them: on a bridge network the hosts
//! file names the container's own address, `--add-host` entries come before it, and the
//! resolver is aardvark-dns on the gateway for networks with DNS (user networks) or the
//! host's (without loopback resolvers a private namespace cannot reach) otherwise, with
//! `--dns`, `--dns-search` and `--dns-option` replacing the host's lines of that kind.
//! The text is built by pure functions (unit-tested); [`write`] only writes it.
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use crate::api::{ExtraHost, HostAddr};
use crate::error::{IoResultExt, Result};
use crate::store::containers::RunConfig;

/// What the network set-up decided that the files mention.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EtcContext {
    /// The host's network (`--network host`): its files as they are.
    pub host: bool,
    /// No network at all (`--network none`): no resolver.
    pub none: bool,
    /// The container's address on its primary network.
    pub ip: Option<Ipv4Addr>,
    /// The primary network's gateway (`host-gateway`).
    pub gateway: Option<Ipv4Addr>,
    /// Resolvers on the container's networks (aardvark-dns on each DNS network's gateway).
    pub nameservers: Vec<IpAddr>,
}

const LOCAL: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\n\
                     ff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

pub fn hosts(cfg: &RunConfig, ctx: &EtcContext, host_hosts: &str) -> String {
    let mut out = if ctx.host { host_hosts.to_string() } else { LOCAL.to_string() };
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for h in &cfg.extra_hosts {
        if let Some(line) = extra_line(h, ctx) {
            out.push_str(&line);
        }
    }
    if !ctx.host {
        match ctx.ip {
            Some(ip) => out.push_str(&format!("{ip}\t{}\n", cfg.hostname)),
            None => out.push_str(&format!("127.0.1.1\t{}\n", cfg.hostname)),
        }
    }
    out
}

fn extra_line(h: &ExtraHost, ctx: &EtcContext) -> Option<String> {
    let ip = match h.addr {
        HostAddr::Ip(ip) => ip,
        // The host as the container reaches it: its network's gateway; on the host's own
        // network, the host itself.
        HostAddr::HostGateway => match ctx.gateway {
            Some(g) => IpAddr::V4(g),
            None if ctx.host => IpAddr::V4(Ipv4Addr::LOCALHOST),
            None => return None,
        },
    };
    Some(format!("{ip}\t{}\n", h.name))
}

pub fn resolv(cfg: &RunConfig, ctx: &EtcContext, host_resolv: &str) -> String {
    let mut servers: Vec<String> = Vec::new();
    let mut search: Vec<String> = Vec::new();
    let mut options: Vec<String> = Vec::new();
    let mut other: Vec<String> = Vec::new();
    for l in host_resolv.lines() {
        let t = l.trim();
        let mut f = t.split_whitespace();
        match f.next() {
            Some("nameserver") => {
                if let Some(s) = f.next() {
                    let loopback = s.parse::<IpAddr>().map(|i| i.is_loopback()).unwrap_or(false);
                    if ctx.host || !loopback {
                        servers.push(s.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => search = f.map(String::from).collect(),
            Some("options") => options.extend(f.map(String::from)),
            Some(_) if !t.starts_with('#') && !t.starts_with(';') => other.push(t.to_string()),
            _ => {}
        }
    }
    if !ctx.nameservers.is_empty() {
        // aardvark-dns answers names on the network and forwards the rest (to `--dns`
        // servers when given, else to the host's resolvers).
        servers = ctx.nameservers.iter().map(|s| s.to_string()).collect();
    } else if !cfg.dns.is_empty() {
        servers = cfg.dns.iter().map(|s| s.to_string()).collect();
    } else if servers.is_empty() && !ctx.none {
        servers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    if ctx.none && cfg.dns.is_empty() {
        servers.clear();
    }
    if !cfg.dns_search.is_empty() {
        search = cfg.dns_search.iter().filter(|s| s.as_str() != ".").cloned().collect();
    }
    if !cfg.dns_options.is_empty() {
        options = cfg.dns_options.clone();
    }
    let mut out = String::new();
    for s in &servers {
        out.push_str(&format!("nameserver {s}\n"));
    }
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    for o in other {
        out.push_str(&o);
        out.push('\n');
    }
    out
}

/// Write `hostname`, `hosts` and `resolv.conf` into the container's directory.
pub fn write(dir: &Path, cfg: &RunConfig, ctx: &EtcContext) -> Result<()> {
    let put = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).at(&p)
    };
    put("hostname", format!("{}\n", cfg.hostname))?;
    put("hosts", hosts(cfg, ctx, &std::fs::read_to_string("/etc/hosts").unwrap_or_default()))?;
    put("resolv.conf", resolv(cfg, ctx, &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> RunConfig {
        RunConfig { hostname: "web".into(), ..Default::default() }
    }

    const HOST: &str = "# generated\nnameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.test\noptions edns0\n";

    #[test]
    fn hosts_name_the_container_and_extra_hosts() {
        let mut c = cfg();
        c.extra_hosts = vec![ExtraHost::parse("db:10.0.0.5").unwrap(), ExtraHost::parse("gw:host-gateway").unwrap()];
        let ctx = EtcContext { ip: Some(Ipv4Addr::new(10, 89, 0, 2)), gateway: Some(Ipv4Addr::new(10, 89, 0, 1)), ..Default::default() };
        let h = hosts(&c, &ctx, "");
        assert!(h.starts_with("127.0.0.1\tlocalhost\n"));
        assert!(h.ends_with("10.0.0.5\tdb\n10.89.0.1\tgw\n10.89.0.2\tweb\n"), "{h}");
        let none = hosts(&cfg(), &EtcContext { none: true, ..Default::default() }, "");
        assert!(none.ends_with("127.0.1.1\tweb\n"));
        let host = hosts(&c, &EtcContext { host: true, ..Default::default() }, "127.0.0.1 localhost\n10.0.0.1 box");
        assert_eq!(host, "127.0.0.1 localhost\n10.0.0.1 box\n10.0.0.5\tdb\n127.0.0.1\tgw\n");
    }

    #[test]
    fn resolv_follows_the_network() {
        // The default bridge: the host's, without loopback resolvers.
        assert_eq!(resolv(&cfg(), &EtcContext::default(), HOST), "nameserver 192.0.2.53\nsearch example.test\noptions edns0\n");
        // A user network: aardvark-dns on the gateway.
        let ctx = EtcContext { nameservers: vec!["10.89.1.1".parse().unwrap()], ..Default::default() };
        assert_eq!(resolv(&cfg(), &ctx, HOST), "nameserver 10.89.1.1\nsearch example.test\noptions edns0\n");
        // --dns, --dns-search, --dns-option replace the host's.
        let mut c = cfg();
        c.dns = vec!["192.0.2.1".parse().unwrap()];
        c.dns_search = vec!["a.test".into(), "b.test".into()];
        c.dns_options = vec!["ndots:2".into()];
        assert_eq!(resolv(&c, &EtcContext::default(), HOST), "nameserver 192.0.2.1\nsearch a.test b.test\noptions ndots:2\n");
        // Only loopback resolvers: docker's fallback.
        assert!(resolv(&cfg(), &EtcContext::default(), "nameserver 127.0.0.53\n").starts_with("nameserver 8.8.8.8\n"));
        assert_eq!(resolv(&cfg(), &EtcContext { none: true, ..Default::default() }, "nameserver 127.0.0.53\n"), "");
        assert!(resolv(&cfg(), &EtcContext { host: true, ..Default::default() }, HOST).starts_with("nameserver 127.0.0.53\n"));
    }
}

//! Networks and published ports, as docker's `/networks` endpoints, `network inspect` and
//! `run -p` spell them. What a user types (`-p 127.0.0.1:8080:80/udp`, `--expose 8000-8010`,
//! `--add-host db:10.0.0.5`, `--mac-address`) is parsed here once, at the edge, into typed
//! values that the backends take as they are.
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::*;

/// A transport protocol of a published or exposed port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "" | "tcp" => Ok(Protocol::Tcp),
            "udp" => Ok(Protocol::Udp),
            "sctp" => Ok(Protocol::Sctp),
            _ => Err(EngineError::InvalidArgument(format!("invalid proto: {s}"))),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `80` or `8000-8010` (inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

impl PortRange {
    pub fn single(p: u16) -> Self {
        PortRange { start: p, end: p }
    }
    pub fn len(self) -> u32 {
        u32::from(self.end) - u32::from(self.start) + 1
    }
    pub fn is_empty(self) -> bool {
        false
    }
    pub fn iter(self) -> impl Iterator<Item = u16> {
        self.start..=self.end
    }
    /// docker's `nat.ParsePortRange`: `80`, `8000-8010`; 0 is refused unless `allow_zero`.
    pub fn parse(s: &str, what: &str) -> Result<Self> {
        let bad = || EngineError::InvalidArgument(format!("invalid {what}: {s}"));
        let num = |x: &str| x.trim().parse::<u16>().map_err(|_| bad());
        let r = match s.split_once('-') {
            Some((a, b)) => PortRange { start: num(a)?, end: num(b)? },
            None => PortRange::single(num(s)?),
        };
        if r.start == 0 || r.end < r.start {
            return Err(bad());
        }
        Ok(r)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.start == self.end { write!(f, "{}", self.start) } else { write!(f, "{}-{}", self.start, self.end) }
    }
}

/// One `-p/--publish` value: `[IP:][HOST[-HOST]:]CTR[-CTR][/PROTO]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// The host address to bind (None: every IPv4 address, docker's `0.0.0.0`).
    pub host_ip: Option<IpAddr>,
    /// None: a free port the kernel picks. A range as long as `container_ports` maps one to
    /// one; a range with a single container port means "any free one of these".
    pub host_ports: Option<PortRange>,
    pub container_ports: PortRange,
    pub protocol: Protocol,
}

impl PortSpec {
    /// Parse docker's `-p` syntax; a bad spec is one error naming it.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = |why: &str| EngineError::InvalidArgument(format!("invalid port spec {s:?}: {why}"));
        let (rest, proto) = match s.rsplit_once('/') {
            Some((r, p)) => (r, Protocol::parse(p).map_err(|_| bad(&format!("invalid proto {p:?}")))?),
            None => (s, Protocol::Tcp),
        };
        // The IP may be IPv6 in brackets: `[::1]:8080:80`.
        let (ip, rest) = if let Some(r) = rest.strip_prefix('[') {
            let (ip, after) = r.split_once(']').ok_or_else(|| bad("unterminated IPv6 address"))?;
            let after = after.strip_prefix(':').ok_or_else(|| bad("expected ':' after the IP address"))?;
            (Some(ip), after)
        } else {
            match rest.matches(':').count() {
                0 | 1 => (None, rest),
                2 => {
                    let (ip, r) = rest.split_once(':').unwrap_or(("", rest));
                    (Some(ip), r)
                }
                _ => return Err(bad("too many colons (put an IPv6 address in brackets)")),
            }
        };
        let host_ip = match ip {
            None | Some("") => None,
            Some(a) => Some(a.parse::<IpAddr>().map_err(|_| bad(&format!("invalid IP address {a:?}")))?),
        };
        let (host, ctr) = match rest.split_once(':') {
            Some((h, c)) => (Some(h), c),
            None => (None, rest),
        };
        if ctr.is_empty() {
            return Err(bad("no container port"));
        }
        let container_ports = PortRange::parse(ctr, "containerPort").map_err(|e| bad(&e.to_string().replace("invalid argument: ", "")))?;
        let host_ports = match host {
            None | Some("") => None,
            Some(h) => Some(PortRange::parse(h, "hostPort").map_err(|e| bad(&e.to_string().replace("invalid argument: ", "")))?),
        };
        if let Some(h) = host_ports
            && container_ports.len() > 1
            && h.len() != container_ports.len()
        {
            return Err(bad("the host and container port ranges differ in size"));
        }
        Ok(PortSpec { host_ip, host_ports, container_ports, protocol: proto })
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host_ip {
            Some(IpAddr::V6(ip)) => write!(f, "[{ip}]:")?,
            Some(ip) => write!(f, "{ip}:")?,
            None => {}
        }
        match self.host_ports {
            Some(h) => write!(f, "{h}:")?,
            None if self.host_ip.is_some() => f.write_str(":")?,
            None => {}
        }
        write!(f, "{}/{}", self.container_ports, self.protocol)
    }
}

/// `--expose` and the image's `EXPOSE`: `80`, `8000-8010/udp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExposedPort {
    pub ports: PortRange,
    pub protocol: Protocol,
}

impl ExposedPort {
    pub fn parse(s: &str) -> Result<Self> {
        let (p, proto) = s.split_once('/').unwrap_or((s, "tcp"));
        let protocol = Protocol::parse(proto)?;
        let ports =
            PortRange::parse(p, "port").map_err(|_| EngineError::InvalidArgument(format!("invalid range format for --expose: {s}")))?;
        Ok(ExposedPort { ports, protocol })
    }
}

impl fmt::Display for ExposedPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.ports, self.protocol)
    }
}

/// The address of an `--add-host` entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum HostAddr {
    Ip(IpAddr),
    /// docker's `host-gateway`: the host as the container reaches it (its network's gateway).
    HostGateway,
}

/// `--add-host NAME:IP` (or `NAME=IP`, `NAME:host-gateway`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtraHost {
    pub name: String,
    pub addr: HostAddr,
}

impl ExtraHost {
    pub fn parse(s: &str) -> Result<Self> {
        let bad =
            || EngineError::InvalidArgument(format!("invalid argument {s:?} for \"--add-host\" flag: bad format for add-host: {s:?}"));
        let (name, addr) = match s.split_once('=') {
            Some(x) => x,
            None => s.split_once(':').ok_or_else(bad)?,
        };
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(bad());
        }
        let addr = match addr {
            "host-gateway" => HostAddr::HostGateway,
            a => HostAddr::Ip(a.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
                EngineError::InvalidArgument(format!(
                    "invalid argument {s:?} for \"--add-host\" flag: invalid IP address in add-host: {a:?}"
                ))
            })?),
        };
        Ok(ExtraHost { name: name.to_string(), addr })
    }
}

impl fmt::Display for ExtraHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            HostAddr::Ip(ip) => write!(f, "{}:{ip}", self.name),
            HostAddr::HostGateway => write!(f, "{}:host-gateway", self.name),
        }
    }
}

/// A MAC address (`--mac-address 02:42:ac:11:00:02`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct MacAddress(pub [u8; 6]);

impl MacAddress {
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || EngineError::InvalidArgument(format!("{s} is not a valid mac address"));
        let parts: Vec<&str> = s.split([':', '-']).collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if out[0] & 1 == 1 {
            return Err(EngineError::InvalidArgument(format!("{s} is a multicast mac address")));
        }
        Ok(MacAddress(out))
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

impl From<MacAddress> for String {
    fn from(m: MacAddress) -> String {
        m.to_string()
    }
}

impl TryFrom<String> for MacAddress {
    type Error = EngineError;
    fn try_from(s: String) -> Result<Self> {
        MacAddress::parse(&s)
    }
}

/// One port of a `ps` row, as docker's `types.Port`: published (`ip` and `public_port`
/// set) or only exposed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerPort {
    #[serde(rename = "IP", default, skip_serializing_if = "String::is_empty")]
    pub ip: String,
    pub private_port: u16,
    #[serde(default)]
    pub public_port: u16,
    #[serde(rename = "Type")]
    pub protocol: String,
}

/// docker's `PORTS` column (`DisplayablePorts` of the docker CLI): sorted, consecutive
/// ports grouped into ranges, `0.0.0.0:8080->80/tcp, [::]:8080->80/tcp, 9000/udp`.
pub fn format_ports(ports: &[ContainerPort]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_by(|a, b| (a.private_port, &a.ip, a.public_port, &a.protocol).cmp(&(b.private_port, &b.ip, b.public_port, &b.protocol)));
    let mut groups: Vec<(String, u16, u16)> = Vec::new();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut result = Vec::new();
    let mut host_mappings = Vec::new();
    for p in &ports {
        let mut key = p.protocol.clone();
        if !p.ip.is_empty() {
            if p.public_port != p.private_port {
                let host = if p.ip.contains(':') { format!("[{}]", p.ip) } else { p.ip.clone() };
                host_mappings.push(format!("{host}:{}->{}/{}", p.public_port, p.private_port, p.protocol));
                continue;
            }
            key = format!("{}/{}", p.ip, p.protocol);
        }
        match open.get(&key) {
            None => {
                open.insert(key.clone(), groups.len());
                groups.push((key, p.private_port, p.private_port));
            }
            Some(&i) if groups[i].2.checked_add(1) == Some(p.private_port) => groups[i].2 = p.private_port,
            Some(&i) => {
                result.push(form_group(&groups[i].0, groups[i].1, groups[i].2));
                groups[i].1 = p.private_port;
                groups[i].2 = p.private_port;
            }
        }
    }
    for (k, first, last) in &groups {
        result.push(form_group(k, *first, *last));
    }
    result.extend(host_mappings);
    result.join(", ")
}

fn form_group(key: &str, first: u16, last: u16) -> String {
    let (ip, proto) = match key.rsplit_once('/') {
        Some((ip, p)) => (ip, p),
        None => ("", key),
    };
    let mut group = first.to_string();
    if first != last {
        group = format!("{group}-{last}");
    }
    if !ip.is_empty() {
        group = format!("{ip}:{group}->{group}");
    }
    format!("{group}/{proto}")
}

/// A network, as docker's `network inspect` spells it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Network {
    pub name: String,
    pub id: String,
    /// RFC 3339.
    pub created: String,
    pub scope: String,
    pub driver: String,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: NetworkIpam,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    /// Containers attached (running ones, as docker lists endpoints), by container ID.
    #[serde(deserialize_with = "null_default")]
    pub containers: BTreeMap<String, NetworkContainer>,
    #[serde(deserialize_with = "null_default")]
    pub options: BTreeMap<String, String>,
    #[serde(deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    /// Names of every container connected to it, running or not, sorted (the dashboard's
    /// CONTAINERS column). Not part of docker's JSON.
    #[serde(skip)]
    pub users: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkIpam {
    pub driver: String,
    pub options: Option<BTreeMap<String, String>>,
    #[serde(deserialize_with = "null_default")]
    pub config: Vec<IpamConfig>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct IpamConfig {
    pub subnet: String,
    #[serde(rename = "IPRange", skip_serializing_if = "String::is_empty")]
    pub ip_range: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
}

/// One attached container in `network inspect`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkContainer {
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub mac_address: String,
    /// `10.89.0.2/24`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

/// `network create`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkCreate {
    pub name: String,
    /// `bridge` (the only driver berth has; Docker endpoints take any they know).
    pub driver: Option<String>,
    /// `10.90.0.0/24`: a free one is picked when None.
    pub subnet: Option<ipnet::Ipv4Net>,
    pub gateway: Option<std::net::Ipv4Addr>,
    /// Containers get addresses from this part of the subnet only.
    pub ip_range: Option<ipnet::Ipv4Net>,
    /// No route out: containers reach only each other.
    pub internal: bool,
    pub labels: BTreeMap<String, String>,
    /// `-o` driver options (`com.docker.network.bridge.name`...).
    pub options: BTreeMap<String, String>,
}

/// `network connect`: join a container to a network (a running one at once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NetworkConnect {
    pub container: String,
    pub aliases: Vec<String>,
    pub ipv4: Option<std::net::Ipv4Addr>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetworkPruneReport {
    /// Names of the networks removed.
    pub removed: Vec<String>,
}

/// docker's rule for network names (the same as for containers, without the length limit).
pub fn valid_network_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty() && b[0].is_ascii_alphanumeric() && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(s: &str) -> PortSpec {
        PortSpec::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn port_specs_parse_like_docker() {
        let p = spec("80");
        assert_eq!((p.host_ip, p.host_ports, p.container_ports, p.protocol), (None, None, PortRange::single(80), Protocol::Tcp));
        let p = spec("8080:80/udp");
        assert_eq!((p.host_ports, p.protocol), (Some(PortRange::single(8080)), Protocol::Udp));
        let p = spec("127.0.0.1:8080:80");
        assert_eq!(p.host_ip, Some("127.0.0.1".parse().unwrap()));
        let p = spec("127.0.0.1::80");
        assert_eq!((p.host_ports, p.container_ports.start), (None, 80));
        let p = spec("[::1]:8080:80/tcp");
        assert_eq!(p.host_ip, Some("::1".parse().unwrap()));
        let p = spec("8000-8001:80-81");
        assert_eq!((p.host_ports.unwrap().len(), p.container_ports.len()), (2, 2));
        let p = spec("8000-8010:80");
        assert_eq!((p.host_ports.unwrap().len(), p.container_ports.len()), (11, 1));
        assert_eq!(spec("127.0.0.1:8080:80/udp").to_string(), "127.0.0.1:8080:80/udp");
        assert_eq!(spec("127.0.0.1::80").to_string(), "127.0.0.1::80/tcp");
        for bad in
            ["", "abc", "80/xyz", "0:80", "8080:0", "70000:80", "1.2.3:80:80", "8000-8002:80-81", "9-8:80", "1:2:3:4", "[::1:80:80", ":"]
        {
            let e = PortSpec::parse(bad).unwrap_err().to_string();
            assert!(e.contains("invalid port spec"), "{bad}: {e}");
        }
    }

    #[test]
    fn other_flags_parse() {
        assert_eq!(ExposedPort::parse("8000-8002/udp").unwrap().to_string(), "8000-8002/udp");
        assert!(ExposedPort::parse("x").is_err());
        assert_eq!(ExtraHost::parse("db:10.0.0.5").unwrap().addr, HostAddr::Ip("10.0.0.5".parse().unwrap()));
        assert_eq!(ExtraHost::parse("gw:host-gateway").unwrap().addr, HostAddr::HostGateway);
        assert_eq!(ExtraHost::parse("v6:::1").unwrap().addr, HostAddr::Ip("::1".parse().unwrap()));
        assert!(ExtraHost::parse("nocolon").is_err() && ExtraHost::parse("h:notanip").is_err());
        assert_eq!(MacAddress::parse("02:42:AC:11:00:02").unwrap().to_string(), "02:42:ac:11:00:02");
        assert!(MacAddress::parse("01:00:00:00:00:00").is_err() && MacAddress::parse("02:42").is_err());
        assert!(valid_network_name("my-net_1.x") && !valid_network_name("-x") && !valid_network_name("a b"));
    }

    #[test]
    fn ports_column_is_dockers() {
        let p = |ip: &str, public: u16, private: u16, proto: &str| ContainerPort {
            ip: ip.into(),
            public_port: public,
            private_port: private,
            protocol: proto.into(),
        };
        assert_eq!(format_ports(&[p("0.0.0.0", 8080, 80, "tcp")]), "0.0.0.0:8080->80/tcp");
        assert_eq!(format_ports(&[p("0.0.0.0", 80, 80, "tcp"), p("0.0.0.0", 81, 81, "tcp")]), "0.0.0.0:80-81->80-81/tcp");
        assert_eq!(format_ports(&[p("", 0, 80, "tcp"), p("", 0, 443, "tcp")]), "80/tcp, 443/tcp");
        assert_eq!(format_ports(&[p("::", 8080, 80, "tcp"), p("0.0.0.0", 8080, 80, "tcp")]), "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp");
        assert_eq!(format_ports(&[p("127.0.0.1", 5353, 53, "udp"), p("", 0, 80, "tcp")]), "80/tcp, 127.0.0.1:5353->53/udp");
        assert_eq!(format_ports(&[]), "");
    }
}

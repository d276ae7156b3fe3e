//! Published ports: `-p`/`-P` specs turned into concrete host ports, each reserved by a
//! socket the monitor holds for the container's life (as podman's conmon holds them). The
//! firewall's DNAT rules send the traffic to the container before any socket sees it; the
//! reservation is what makes a taken port an error at `run` ("port is already allocated")
//! and keeps other programs (and other containers) off it while the container runs.
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

use serde::{Deserialize, Serialize};

use crate::api::{ExposedPort, PortSpec, Protocol};
use crate::error::{EngineError, Result};

/// One host port forwarded to one container port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedPort {
    /// None: every IPv4 address (docker's `0.0.0.0`).
    pub host_ip: Option<IpAddr>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: Protocol,
}

impl PublishedPort {
    pub fn host_ip_text(&self) -> String {
        self.host_ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into())
    }
}

/// A held reservation (closed when dropped).
#[derive(Debug)]
pub struct Held {
    _socket: std::os::fd::OwnedFd,
}

fn bind(ip: Option<IpAddr>, port: u16, proto: Protocol) -> std::io::Result<(u16, Held)> {
    let addr = SocketAddr::new(ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)), port);
    match proto {
        Protocol::Tcp => {
            let l = TcpListener::bind(addr)?;
            Ok((l.local_addr()?.port(), Held { _socket: l.into() }))
        }
        // SCTP has no std socket: reserve the UDP port of the same number (nothing else
        // checks SCTP ports either).
        Protocol::Udp | Protocol::Sctp => {
            let s = UdpSocket::bind(addr)?;
            Ok((s.local_addr()?.port(), Held { _socket: s.into() }))
        }
    }
}

fn taken(ip: Option<IpAddr>, port: u16) -> EngineError {
    let ip = ip.map(|i| i.to_string()).unwrap_or_else(|| "0.0.0.0".into());
    EngineError::Conflict(format!("Bind for {ip}:{port} failed: port is already allocated"))
}

/// Turn the specs (and with `publish_all` every exposed port not already published) into
/// host ports and reserve them; nothing stays reserved on error.
pub fn reserve(specs: &[PortSpec], exposed: &[ExposedPort], publish_all: bool) -> Result<(Vec<PublishedPort>, Vec<Held>)> {
    let mut out = Vec::new();
    let mut held = Vec::new();
    for s in specs {
        if matches!(s.host_ip, Some(IpAddr::V6(_))) {
            return Err(EngineError::InvalidArgument(format!(
                "invalid port spec {s}: publishing on an IPv6 address needs an IPv6 network, which berth does not make yet"
            )));
        }
        let pairs: Vec<(Option<u16>, u16)> = match s.host_ports {
            None => s.container_ports.iter().map(|c| (None, c)).collect(),
            Some(h) if h.len() == s.container_ports.len() => h.iter().zip(s.container_ports.iter()).map(|(h, c)| (Some(h), c)).collect(),
            Some(h) => {
                // "any free one of these host ports" for a single container port.
                let c = s.container_ports.start;
                let mut got = None;
                for p in h.iter() {
                    if let Ok(x) = bind(s.host_ip, p, s.protocol) {
                        got = Some(x);
                        break;
                    }
                }
                let (port, h2) = got.ok_or_else(|| taken(s.host_ip, h.start))?;
                held.push(h2);
                out.push(PublishedPort { host_ip: s.host_ip, host_port: port, container_port: c, protocol: s.protocol });
                continue;
            }
        };
        for (h, c) in pairs {
            let (port, h2) = bind(s.host_ip, h.unwrap_or(0), s.protocol).map_err(|_| taken(s.host_ip, h.unwrap_or(0)))?;
            held.push(h2);
            out.push(PublishedPort { host_ip: s.host_ip, host_port: port, container_port: c, protocol: s.protocol });
        }
    }
    if publish_all {
        for e in exposed {
            for c in e.ports.iter() {
                if out.iter().any(|p| p.container_port == c && p.protocol == e.protocol) {
                    continue;
                }
                let (port, h2) = bind(None, 0, e.protocol).map_err(|err| EngineError::io_ctx("reserving a host port", err))?;
                held.push(h2);
                out.push(PublishedPort { host_ip: None, host_port: port, container_port: c, protocol: e.protocol });
            }
        }
    }
    Ok((out, held))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_reserved_and_a_taken_one_is_refused() {
        let specs = vec![PortSpec::parse("127.0.0.1::80").unwrap(), PortSpec::parse("127.0.0.1::53/udp").unwrap()];
        let (ports, held) = reserve(&specs, &[], false).unwrap();
        assert_eq!(ports.len(), 2);
        assert!(ports.iter().all(|p| p.host_port > 0));
        let tcp = ports[0].host_port;
        let again = PortSpec::parse(&format!("127.0.0.1:{tcp}:80")).unwrap();
        let e = reserve(std::slice::from_ref(&again), &[], false).unwrap_err();
        assert!(e.to_string().contains("port is already allocated"), "{e}");
        drop(held);
        assert!(reserve(&[again], &[], false).is_ok(), "free again once released");
        // -P publishes every exposed port once.
        let exposed = [ExposedPort::parse("80").unwrap(), ExposedPort::parse("9000-9001/udp").unwrap()];
        let (ports, _h) = reserve(&[PortSpec::parse("127.0.0.1::80").unwrap()], &exposed, true).unwrap();
        assert_eq!(ports.len(), 3);
        assert!(reserve(&[PortSpec::parse("[::1]:8080:80").unwrap()], &[], false).is_err());
    }
}

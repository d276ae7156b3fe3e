//! The netavark driver: Podman's network stack (Debian's `netavark` and `aardvark-dns`
//! 1.4, in `/usr/lib/podman/`) run as a subprocess with its JSON contract on stdin:
//! `netavark --config DIR --aardvark-binary PATH setup|teardown NETNS`. It creates the
//! bridge (when missing), the veth pair, addresses, routes, the iptables chains for NAT,
//! isolation and published ports, and registers names with aardvark-dns; teardown removes
//! what setup made, the bridge and the network's chains with its last container.
//!
//! berth hands it everything decided beforehand (addresses, MACs, host ports), so the
//! netavark network name is the network's ID: unique on the host, whatever the state root,
//! which keeps two roots' chains and DNS files apart.
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::{Attachment, NetworkDriver, Pending, Sandbox};
use crate::error::{EngineError, Result};

pub const NETAVARK: &str = "/usr/lib/podman/netavark";
pub const AARDVARK: &str = "/usr/lib/podman/aardvark-dns";

pub struct Netavark {
    pub binary: PathBuf,
    pub aardvark: PathBuf,
    /// aardvark-dns's configuration (one file per network) and pid file.
    pub config_dir: PathBuf,
}

impl Netavark {
    pub fn new(root: &Path) -> Self {
        let binary = std::env::var_os("BERTH_NETAVARK").map(PathBuf::from).unwrap_or_else(|| NETAVARK.into());
        let aardvark = std::env::var_os("BERTH_AARDVARK").map(PathBuf::from).unwrap_or_else(|| AARDVARK.into());
        Netavark { binary, aardvark, config_dir: root.join("netavark") }
    }

    fn run(&self, verb: &str, netns: &Path, input: &Value) -> Result<String> {
        self.spawn(verb, netns, input)?.finish()
    }

    /// Start `netavark VERB NETNS` with `input` on stdin; [`Running::finish`] waits for it.
    fn spawn(&self, verb: &str, netns: &Path, input: &Value) -> Result<Running> {
        if !self.binary.exists() {
            return Err(EngineError::Unsupported(format!(
                "networking needs netavark at {} (apt-get install netavark aardvark-dns iptables)",
                self.binary.display()
            )));
        }
        let dir = self.config_dir.join("aardvark-dns");
        std::fs::create_dir_all(&dir).map_err(|e| EngineError::io(&dir, e))?;
        let lock = host_lock()?;
        let mut child = Command::new(&self.binary)
            .arg("--config")
            .arg(&self.config_dir)
            .arg("--aardvark-binary")
            .arg(&self.aardvark)
            .arg(verb)
            .arg(netns)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| EngineError::io_ctx(format!("running {}", self.binary.display()), e))?;
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(input.to_string().as_bytes());
        }
        Ok(Running { child, verb: verb.to_string(), binary: self.binary.clone(), _lock: lock })
    }
}

/// One netavark at a time on the host: it checks for its iptables chains and rules, then
/// adds them, so two at once (two containers starting, or two state roots) fail with
/// "Chain already exists" or "No chain by that name". Podman serialises its calls too.
fn host_lock() -> Result<HostLock> {
    let p = std::env::var_os("BERTH_NETAVARK_LOCK").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/run/berth/netavark.lock"));
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| EngineError::io(d, e))?;
    }
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&p).map_err(|e| EngineError::io(&p, e))?;
    nix::fcntl::Flock::lock(f, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, e)| EngineError::io(&p, e.into()))
}

fn drop_isolation_rules(bridge: &str) {
    let rules: [&[&str]; 2] = [
        &["-t", "filter", "-D", "NETAVARK_ISOLATION_1", "-i", bridge, "!", "-o", bridge, "-j", "NETAVARK_ISOLATION_2", "--wait"],
        &["-t", "filter", "-D", "NETAVARK_ISOLATION_2", "-o", bridge, "-j", "DROP", "--wait"],
    ];
    for args in rules {
        // A rule may be there more than once.
        for _ in 0..8 {
            let ok = Command::new("iptables").args(args).stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
            if !ok {
                break;
            }
        }
    }
}

/// Released when dropped.
type HostLock = nix::fcntl::Flock<std::fs::File>;

/// A netavark call under way.
pub struct Running {
    child: std::process::Child,
    verb: String,
    binary: PathBuf,
    /// The host-wide lock, held until the call ends.
    _lock: HostLock,
}

impl Running {
    /// Wait for it: its output, or its error as one line.
    pub fn finish(self) -> Result<String> {
        let verb = self.verb;
        let out = self.child.wait_with_output().map_err(|e| EngineError::io_ctx(format!("running {}", self.binary.display()), e))?;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            return Ok(stdout);
        }
        // Errors come as {"error": "..."} on stdout; stderr carries logs.
        let msg = serde_json::from_str::<Value>(stdout.trim())
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from))
            .unwrap_or_else(|| {
                let e = String::from_utf8_lossy(&out.stderr);
                e.lines().rfind(|l| !l.contains("syslog")).unwrap_or("no message").to_string()
            });
        Err(EngineError::Other(format!("netavark {verb}: {}", friendly(&msg))))
    }
}

/// netavark's errors in words a user acts on.
fn friendly(msg: &str) -> String {
    if msg.contains("iptables") && (msg.contains("No such file") || msg.contains("not found")) {
        return format!("{msg} (apt-get install iptables)");
    }
    msg.to_string()
}

/// netavark's `NetworkOptions` for `attachments` (the port mappings go with every call: they
/// are set up on each network the call names and removed by rule, so a second teardown of
/// the same ports finds nothing).
pub fn options(sb: &Sandbox, attachments: &[&Attachment], with_ports: bool) -> Value {
    let mut networks = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    for a in attachments {
        let n = &a.network;
        let mut aliases = a.aliases.clone();
        aliases.push(sb.container_id[..12].to_string());
        networks.insert(
            n.id.clone(),
            json!({
                "static_ips": [a.ip.to_string()],
                "static_mac": a.mac,
                "aliases": aliases,
                "interface_name": a.ifname,
            }),
        );
        let mut opts: BTreeMap<&str, String> = BTreeMap::new();
        // docker's networks cannot reach each other; netavark's can unless isolated.
        opts.insert("isolate", "true".into());
        if let Some(mtu) = n.options.get("com.docker.network.driver.mtu") {
            opts.insert("mtu", mtu.clone());
        }
        info.insert(
            n.id.clone(),
            json!({
                "name": n.id,
                "id": n.id,
                "driver": "bridge",
                "network_interface": n.bridge,
                "subnets": [{"subnet": n.subnet.to_string(), "gateway": n.gateway.to_string()}],
                "ipv6_enabled": false,
                "internal": n.internal,
                "dns_enabled": n.dns,
                "options": opts,
                "ipam_options": {"driver": "host-local"},
            }),
        );
    }
    let ports: Vec<Value> = if with_ports {
        sb.ports
            .iter()
            .map(|p| {
                json!({
                    "host_ip": p.host_ip.map(|i| i.to_string()).unwrap_or_default(),
                    "container_port": p.container_port,
                    "host_port": p.host_port,
                    "range": 1,
                    "protocol": p.protocol.as_str(),
                })
            })
            .collect()
    } else {
        vec![]
    };
    let mut o = json!({
        "container_id": sb.container_id,
        "container_name": sb.container_name,
        "networks": networks,
        "network_info": info,
        "port_mappings": ports,
    });
    if !sb.dns_servers.is_empty() {
        o["dns_servers"] = json!(sb.dns_servers);
    }
    o
}

impl NetworkDriver for Netavark {
    fn begin_setup(&self, sb: &Sandbox, attachments: &[&Attachment], with_ports: bool) -> Result<Pending> {
        let running = self.spawn("setup", &sb.netns, &options(sb, attachments, with_ports))?;
        Ok(Pending::new(move || running.finish().map(|_| ())))
    }

    fn teardown(&self, sb: &Sandbox, attachments: &[&Attachment]) -> Result<()> {
        let r = self.run("teardown", &sb.netns, &options(sb, attachments, true)).map(|_| ());
        // netavark 1.4 leaves the isolation rules of a network it removed completely (its
        // existence check does not match the rule as iptables prints it back): once the
        // bridge is gone, berth deletes them.
        let _lock = host_lock()?;
        for a in attachments {
            let br = &a.network.bridge;
            if !Path::new("/sys/class/net").join(br).exists() {
                drop_isolation_rules(br);
            }
        }
        r
    }
}

//! Container networking: the default `bridge` network and user networks (records in
//! `store::networks`), IP address management ([`ipam`], pure policy), the container's
//! network namespace file ([`netns`]), published ports ([`ports`]), the files under /etc
//! ([`etc`]), and the driver that wires a namespace to a network ([`NetworkDriver`];
//! [`netavark`] is the implementation: Podman's stack as a subprocess).
//!
//! Life cycle (driven by the single-threaded monitor): [`start`] before the container's
//! process exists — reserve host ports, make the namespace file, lease addresses, save the
//! driver's input (the sandbox row) and set up; [`stop`] after the exit is recorded (or by
//! whoever finds a container whose monitor died, and `system boot`) — teardown from the
//! saved input, give the leases back, remove the file. A failed start undoes all of it.
//!
//! Subnets are host-wide resources but state roots are not: each root claims its subnets
//! in `/run/berth/subnets/` (one file per subnet naming the root), so two roots (tests run
//! many at once) never pick the same one; a claim whose root is gone is stale.
pub mod etc;
pub mod ipam;
pub mod netavark;
pub mod netns;
pub mod ports;

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use ipnet::Ipv4Net;
use serde::{Deserialize, Serialize};

use crate::api::{NetworkCreate, valid_network_name};
use crate::error::{EngineError, Result};
use crate::store::containers::{self, ContainerRecord, RunConfig};
use crate::store::db::Db;
use crate::store::networks::{self as store, Connection, NetworkRecord};

pub use etc::EtcContext;
pub use ports::{Held, PublishedPort};

/// docker's name for the default network.
pub const DEFAULT_NETWORK: &str = "bridge";

/// What wires a container's namespace to networks. Given everything decided beforehand
/// (addresses, MACs, host ports), so a native (netlink + nftables) driver can replace
/// netavark behind it.
pub trait NetworkDriver {
    /// Attach the namespace to `attachments` (the sandbox's published ports too when
    /// `with_ports`).
    fn setup(&self, sb: &Sandbox, attachments: &[&Attachment], with_ports: bool) -> Result<()> {
        self.begin_setup(sb, attachments, with_ports)?.wait()
    }
    /// [`NetworkDriver::setup`], started: the caller does other work (the runtime builds the
    /// container) and waits before the container's process runs.
    fn begin_setup(&self, sb: &Sandbox, attachments: &[&Attachment], with_ports: bool) -> Result<Pending>;
    /// Undo [`NetworkDriver::setup`] for `attachments`, from the same input.
    fn teardown(&self, sb: &Sandbox, attachments: &[&Attachment]) -> Result<()>;
}

/// A set-up under way (see [`NetworkDriver::begin_setup`]). Dropped without [`Pending::wait`]
/// (the start failed on the way), it is still waited for: a teardown must not race it.
pub struct Pending(Option<Box<dyn FnOnce() -> Result<()>>>);

impl Pending {
    pub fn new(wait: impl FnOnce() -> Result<()> + 'static) -> Self {
        Pending(Some(Box::new(wait)))
    }
    pub fn wait(mut self) -> Result<()> {
        self.0.take().map(|w| w()).unwrap_or(Ok(()))
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if let Some(w) = self.0.take() {
            let _ = w();
        }
    }
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pending")
    }
}

pub fn driver(root: &Path) -> Box<dyn NetworkDriver> {
    Box::new(netavark::Netavark::new(root))
}

/// A container's network namespace and what is set up in it (saved for teardown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sandbox {
    pub container_id: String,
    pub container_name: String,
    pub netns: PathBuf,
    pub attachments: Vec<Attachment>,
    pub ports: Vec<PublishedPort>,
    /// `--dns`: aardvark-dns forwards this container's other queries there.
    pub dns_servers: Vec<IpAddr>,
}

/// The container on one network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub network: NetworkRecord,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub ifname: String,
    pub aliases: Vec<String>,
    pub endpoint_id: String,
}

/// `--network` as stored in the container's config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode<'a> {
    Host,
    None,
    /// `container:ID`: the other container's namespace.
    Container(&'a str),
    /// The default network or user networks (the `container_networks` rows).
    Bridge,
}

pub fn mode(network: &str) -> Mode<'_> {
    match network {
        "host" => Mode::Host,
        "none" => Mode::None,
        n => match n.strip_prefix("container:") {
            Some(id) => Mode::Container(id),
            None => Mode::Bridge,
        },
    }
}

// --- Networks ---

/// Host routes, docker's default subnet, this root's networks and other roots' claims.
fn taken_subnets(db: &Db, root: &Path) -> Result<Vec<Ipv4Net>> {
    let mut t = ipam::parse_routes(&std::fs::read_to_string("/proc/net/route").unwrap_or_default());
    t.push(ipam::DOCKER_DEFAULT.parse().expect("docker subnet"));
    t.extend(store::list(db)?.into_iter().map(|n| n.subnet));
    t.extend(claims::others(root));
    Ok(t)
}

fn bridge_name(root: &Path, id: &str, builtin: bool, options: &BTreeMap<String, String>) -> Result<String> {
    if let Some(n) = options.get("com.docker.network.bridge.name") {
        if n.is_empty() || n.len() > 15 || n.contains(['/', ' ', ':']) {
            return Err(EngineError::InvalidArgument(format!("invalid bridge name {n:?} (at most 15 characters, no '/', ':' or spaces)")));
        }
        return Ok(n.clone());
    }
    if builtin {
        if root == Path::new(crate::local::DEFAULT_ROOT) {
            return Ok("berth0".into());
        }
        let h = crate::store::digest::Digest::of(root.as_os_str().as_encoded_bytes());
        return Ok(format!("berth{}", &h.hex()[..10]));
    }
    Ok(format!("br-{}", &id[..12]))
}

/// Create a network (the checks first: nothing is written for bad input).
pub fn create(db: &mut Db, root: &Path, o: &NetworkCreate, builtin: bool) -> Result<NetworkRecord> {
    if !valid_network_name(&o.name) {
        return Err(EngineError::InvalidArgument(format!("invalid network name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", o.name)));
    }
    let driver = o.driver.clone().unwrap_or_else(|| "bridge".into());
    if driver != "bridge" {
        return Err(EngineError::InvalidArgument(format!("plugin \"{driver}\" not found (berth has the \"bridge\" driver)")));
    }
    if !builtin && ["bridge", "host", "none", "default"].contains(&o.name.as_str()) {
        return Err(EngineError::Conflict(format!("network with name {} already exists", o.name)));
    }
    if store::by_name(db, &o.name)?.is_some() {
        return Err(EngineError::Conflict(format!("network with name {} already exists", o.name)));
    }
    if o.subnet.is_none() && (o.gateway.is_some() || o.ip_range.is_some()) {
        return Err(EngineError::InvalidArgument("--gateway and --ip-range need --subnet".into()));
    }
    let id = containers::new_id();
    let bridge = bridge_name(root, &id, builtin, &o.options)?;
    if store::list(db)?.iter().any(|n| n.bridge == bridge) {
        return Err(EngineError::Conflict(format!("bridge name {bridge} is used by another network")));
    }
    // Another root may claim the subnet picked here first (tests make many roots at once):
    // pick again then; a subnet the user named is theirs or an error.
    let mut attempt = 0;
    let rec = loop {
        let taken = taken_subnets(db, root)?;
        let (subnet, gateway) = match o.subnet {
            Some(s) => (s, ipam::check_subnet(s, o.gateway, o.ip_range, &taken)?),
            None => {
                let s = ipam::pick_subnet(&taken)?;
                (s, ipam::check_subnet(s, None, None, &[])?)
            }
        };
        let rec = NetworkRecord {
            bridge: bridge.clone(),
            id: id.clone(),
            name: o.name.clone(),
            driver: driver.clone(),
            subnet,
            gateway,
            ip_range: o.ip_range,
            internal: o.internal,
            dns: !builtin,
            builtin,
            labels: o.labels.clone(),
            options: o.options.clone(),
            created: containers::now_nanos(),
        };
        match claims::claim(root, &rec) {
            Ok(()) => break rec,
            Err(EngineError::Conflict(_)) if o.subnet.is_none() && attempt < 20 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    if let Err(e) = store::insert(db, &rec) {
        claims::release(root, &rec);
        return Err(e);
    }
    Ok(rec)
}

/// The default network, created on first use.
pub fn ensure_default(db: &mut Db, root: &Path) -> Result<NetworkRecord> {
    if let Some(n) = store::by_name(db, DEFAULT_NETWORK)? {
        return Ok(n);
    }
    let o = NetworkCreate { name: DEFAULT_NETWORK.into(), ..Default::default() };
    match create(db, root, &o, true) {
        Ok(n) => Ok(n),
        // Another process made it first.
        Err(e) => store::by_name(db, DEFAULT_NETWORK)?.ok_or(e),
    }
}

pub fn remove(db: &mut Db, root: &Path, n: &NetworkRecord) -> Result<()> {
    store::remove(db, n)?;
    claims::release(root, n);
    Ok(())
}

// --- Containers ---

/// What [`start`] set up, for the bundle and the /etc files; the port reservations are held
/// until dropped (the monitor keeps them while the container runs).
#[derive(Debug, Default)]
pub struct Started {
    /// The namespace to join (None: the host's, `--network host`).
    pub netns: Option<PathBuf>,
    pub etc: EtcContext,
    /// `container:X`: X's directory, whose hostname/hosts/resolv.conf the container shares.
    pub share_etc_from: Option<PathBuf>,
    pub held: Vec<Held>,
    /// The driver's set-up, still running: wait for it before the container's process
    /// starts (a failure is the start's failure; the caller's cleanup tears down).
    pub pending: Option<Pending>,
}

/// Set up the container's network before its process starts. Must run in a single-threaded
/// process (the namespace is made by switching into it and back).
pub fn start(db: &mut Db, root: &Path, rec: &ContainerRecord) -> Result<Started> {
    let cfg = &rec.config;
    match mode(&cfg.network) {
        Mode::Host => Ok(Started { etc: EtcContext { host: true, ..Default::default() }, ..Default::default() }),
        Mode::None => {
            let path = netns::path(root, &rec.id);
            let sb = Sandbox {
                container_id: rec.id.clone(),
                container_name: rec.name.clone(),
                netns: path.clone(),
                attachments: vec![],
                ports: vec![],
                dns_servers: vec![],
            };
            save(db, &sb)?;
            if let Err(e) = netns::create(&path) {
                let _ = store::delete_sandbox(db, &rec.id);
                return Err(e);
            }
            Ok(Started { netns: Some(path), etc: EtcContext { none: true, ..Default::default() }, ..Default::default() })
        }
        Mode::Container(other) => {
            let o = containers::get(db, other)?.ok_or_else(|| EngineError::ContainerNotFound(other.to_string()))?;
            if !crate::runtime::process::alive(o.pid, o.pid_start) {
                return Err(EngineError::Conflict(format!("cannot join network of a non running container: {}", o.id)));
            }
            let netns = match store::sandbox(db, &o.id)? {
                Some(s) if netns::is_live(Path::new(&s.netns)) => PathBuf::from(s.netns),
                _ => PathBuf::from(format!("/proc/{}/ns/net", o.pid)),
            };
            let dir = crate::runtime::bundle::Paths::new(root, &o.id).dir;
            Ok(Started { netns: Some(netns), share_etc_from: Some(dir), ..Default::default() })
        }
        Mode::Bridge => start_bridge(db, root, rec, cfg),
    }
}

fn save(db: &mut Db, sb: &Sandbox) -> Result<()> {
    let json = serde_json::to_string(sb).map_err(|e| EngineError::Json { what: "the network sandbox".into(), source: e })?;
    store::put_sandbox(db, &sb.container_id, &sb.netns.display().to_string(), &json)
}

fn start_bridge(db: &mut Db, root: &Path, rec: &ContainerRecord, cfg: &RunConfig) -> Result<Started> {
    let mut conns = store::connections(db, &rec.id)?;
    if conns.is_empty() {
        // Containers created before networks existed (and `network: default`).
        let d = ensure_default(db, root)?;
        store::connect(db, &rec.id, &d.id, &[], None)?;
        conns = store::connections(db, &rec.id)?;
    }
    for c in &conns {
        claims::claim(root, &c.network)?;
    }
    let (published, held) = ports::reserve(&cfg.ports, &cfg.exposed, cfg.publish_all)?;
    let path = netns::path(root, &rec.id);
    let mut sb = Sandbox {
        container_id: rec.id.clone(),
        container_name: rec.name.clone(),
        netns: path.clone(),
        attachments: vec![],
        ports: published,
        dns_servers: cfg.dns.clone(),
    };
    let undo = |db: &mut Db| {
        let _ = store::release(db, &rec.id, None);
        let _ = store::delete_sandbox(db, &rec.id);
        netns::remove(&path);
    };
    for (i, c) in conns.iter().enumerate() {
        let mac = if i == 0 { cfg.mac_address.map(|m| m.to_string()) } else { None };
        match lease(db, &rec.id, c, format!("eth{i}"), mac) {
            Ok(a) => sb.attachments.push(a),
            Err(e) => {
                undo(db);
                return Err(e);
            }
        }
    }
    // Saved before the driver runs: whatever it managed to do can be torn down after a crash.
    if let Err(e) = save(db, &sb).and_then(|()| netns::create(&path)) {
        undo(db);
        return Err(e);
    }
    let all: Vec<&Attachment> = sb.attachments.iter().collect();
    let drv = driver(root);
    let pending = match drv.begin_setup(&sb, &all, true) {
        Ok(p) => p,
        Err(e) => {
            undo(db);
            return Err(e);
        }
    };
    let first = &sb.attachments[0];
    let etc = EtcContext {
        ip: Some(first.ip),
        gateway: (!first.network.internal).then_some(first.network.gateway),
        nameservers: sb.attachments.iter().filter(|a| a.network.dns).map(|a| IpAddr::V4(a.network.gateway)).collect(),
        ..Default::default()
    };
    Ok(Started { netns: Some(path), etc, share_etc_from: None, held, pending: Some(pending) })
}

fn lease(db: &mut Db, container_id: &str, c: &Connection, ifname: String, mac: Option<String>) -> Result<Attachment> {
    let n = &c.network;
    let ep = store::lease(db, &n.id, container_id, &ifname, |used| {
        let ip = ipam::pick_address(n.subnet, n.gateway, n.ip_range, used, c.ipv4)?;
        Ok((ip, mac.unwrap_or_else(|| ipam::mac_for(ip))))
    })?;
    let mut aliases = c.aliases.clone();
    aliases.dedup();
    Ok(Attachment { network: n.clone(), ip: ep.ip, mac: ep.mac, ifname, aliases, endpoint_id: ep.endpoint_id })
}

/// The container's saved sandbox, if its network is set up.
pub fn sandbox(db: &Db, container_id: &str) -> Result<Option<Sandbox>> {
    Ok(store::sandbox(db, container_id)?.and_then(|r| serde_json::from_str(&r.config).ok()))
}

/// Tear down what [`start`] set up (nothing to do if nothing is): driver teardown from the
/// saved input, leases given back, namespace file removed. Errors are logged, never fatal:
/// the container is gone either way.
pub fn stop(db: &mut Db, root: &Path, container_id: &str) {
    let row = match store::sandbox(db, container_id) {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!("network teardown of {container_id}: {e}");
            return;
        }
    };
    let path = PathBuf::from(&row.netns);
    if let Ok(sb) = serde_json::from_str::<Sandbox>(&row.config)
        && !sb.attachments.is_empty()
    {
        // After a reboot the file is a plain one: a fresh namespace lets the driver remove
        // the rest (DNS entries, rules), and the missing interface is no error then.
        let ifnames: Vec<String> = sb.attachments.iter().map(|a| a.ifname.clone()).collect();
        let live = netns::is_live(&path) || netns::create_for_teardown(&path, &ifnames).is_ok();
        let all: Vec<&Attachment> = sb.attachments.iter().collect();
        if live && let Err(e) = driver(root).teardown(&sb, &all) {
            tracing::debug!("network teardown of {container_id}: {e}");
        }
    }
    netns::remove(&path);
    let _ = store::release(db, container_id, None);
    let _ = store::delete_sandbox(db, container_id);
}

/// `network connect` on a running container: lease and set up the new network at once.
pub fn connect_running(db: &mut Db, root: &Path, container_id: &str, network_id: &str) -> Result<()> {
    let Some(mut sb) = sandbox(db, container_id)? else {
        return Err(EngineError::Conflict(format!("container {container_id} has no network of its own (host, none or container: mode)")));
    };
    if sb.netns.as_os_str().is_empty() || !netns::is_live(&sb.netns) {
        return Err(EngineError::Conflict(format!("container {container_id} is not running")));
    }
    let c = store::connections(db, container_id)?
        .into_iter()
        .find(|c| c.network.id == network_id)
        .ok_or_else(|| EngineError::NetworkNotFound(network_id.to_string()))?;
    claims::claim(root, &c.network)?;
    let n = (0..).find(|i| !sb.attachments.iter().any(|a| a.ifname == format!("eth{i}"))).unwrap_or(0);
    let a = lease(db, container_id, &c, format!("eth{n}"), None)?;
    let drv = driver(root);
    if let Err(e) = drv.setup(&sb, &[&a], false) {
        let _ = drv.teardown(&sb, &[&a]);
        let _ = store::release(db, container_id, Some(network_id));
        return Err(e);
    }
    sb.attachments.push(a);
    save(db, &sb)
}

/// `network disconnect` on a running container: tear that network down at once.
pub fn disconnect_running(db: &mut Db, root: &Path, container_id: &str, network_id: &str) -> Result<()> {
    let Some(mut sb) = sandbox(db, container_id)? else { return Ok(()) };
    let Some(i) = sb.attachments.iter().position(|a| a.network.id == network_id) else { return Ok(()) };
    let a = sb.attachments.remove(i);
    if let Err(e) = driver(root).teardown(&sb, &[&a]) {
        tracing::debug!("network disconnect of {container_id}: {e}");
    }
    store::release(db, container_id, Some(network_id))?;
    save(db, &sb)
}

/// Host-wide subnet claims (see the module docs).
mod claims {
    use super::*;

    fn dir() -> PathBuf {
        std::env::var_os("BERTH_SUBNET_CLAIMS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/run/berth/subnets"))
    }

    fn file(n: &Ipv4Net) -> PathBuf {
        dir().join(n.to_string().replace('/', "_"))
    }

    fn read(p: &Path) -> Option<(PathBuf, String)> {
        let t = std::fs::read_to_string(p).ok()?;
        let mut l = t.lines();
        Some((PathBuf::from(l.next()?), l.next()?.to_string()))
    }

    /// A claim whose root no longer has a state database is stale.
    fn stale(owner: &Path) -> bool {
        !owner.join(crate::store::db::DB_FILE).exists()
    }

    pub fn claim(root: &Path, n: &NetworkRecord) -> Result<()> {
        let d = dir();
        std::fs::create_dir_all(&d).map_err(|e| EngineError::io(&d, e))?;
        let p = file(&n.subnet);
        for _ in 0..3 {
            match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
                Ok(mut f) => {
                    use std::io::Write;
                    return f.write_all(format!("{}\n{}\n", root.display(), n.id).as_bytes()).map_err(|e| EngineError::io(&p, e));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => match read(&p) {
                    Some((owner, id)) if owner == root && id == n.id => return Ok(()),
                    Some((owner, _)) if !stale(&owner) && owner != root => {
                        return Err(EngineError::Conflict(format!(
                            "subnet {} is in use by the berth state root {}",
                            n.subnet,
                            owner.display()
                        )));
                    }
                    // Stale, or this root's own from an earlier network of the same subnet.
                    _ => {
                        let _ = std::fs::remove_file(&p);
                    }
                },
                Err(e) => return Err(EngineError::io(&p, e)),
            }
        }
        Err(EngineError::Conflict(format!("could not claim subnet {}", n.subnet)))
    }

    pub fn release(root: &Path, n: &NetworkRecord) {
        let p = file(&n.subnet);
        if matches!(read(&p), Some((owner, id)) if owner == root && id == n.id) {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Subnets claimed by other live roots.
    pub fn others(root: &Path) -> Vec<Ipv4Net> {
        let Ok(rd) = std::fs::read_dir(dir()) else { return vec![] };
        rd.flatten()
            .filter_map(|e| {
                let (owner, _) = read(&e.path())?;
                if stale(&owner) {
                    // Its root is gone (a test's temporary one): tidy up.
                    let _ = std::fs::remove_file(e.path());
                    return None;
                }
                if owner == root {
                    return None;
                }
                e.file_name().to_string_lossy().replace('_', "/").parse().ok()
            })
            .collect()
    }
}

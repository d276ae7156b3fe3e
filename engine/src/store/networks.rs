//! Network records in the state database: `networks` (name, subnet, bridge...),
//! `container_networks` (what a container is connected to, kept while it is stopped),
//! `endpoints` (a set-up container's address on a network: the IP lease) and `sandboxes`
//! (a container's network namespace and the driver input that set it up, for teardown).
//! Leases are taken in one write transaction with the choice of address, so two monitors
//! starting at once never get the same one; the choice itself is `network::ipam`'s.
use std::collections::{BTreeMap, HashSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rusqlite::{OptionalExtension, params};

use crate::error::{EngineError, Result};
use crate::store::db::Db;

/// One network as stored.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub driver: String,
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub ip_range: Option<Ipv4Net>,
    pub internal: bool,
    /// Names are answered by aardvark-dns (user networks; not the default one, as docker).
    pub dns: bool,
    /// The host's bridge interface.
    pub bridge: String,
    /// The default network (`bridge`).
    pub builtin: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    /// Unix nanoseconds.
    pub created: i64,
}

const COLS: &str = "id, name, driver, subnet, gateway, ip_range, internal, dns, bridge, builtin, labels, options, created";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<NetworkRecord> {
    let bad = |i: usize, what: &str| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, what.to_string().into());
    let subnet: String = r.get(3)?;
    let gateway: String = r.get(4)?;
    let range: String = r.get(5)?;
    let labels: String = r.get(10)?;
    let options: String = r.get(11)?;
    Ok(NetworkRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        driver: r.get(2)?,
        subnet: subnet.parse().map_err(|_| bad(3, "subnet"))?,
        gateway: gateway.parse().map_err(|_| bad(4, "gateway"))?,
        ip_range: if range.is_empty() { None } else { Some(range.parse().map_err(|_| bad(5, "ip_range"))?) },
        internal: r.get::<_, i64>(6)? != 0,
        dns: r.get::<_, i64>(7)? != 0,
        bridge: r.get(8)?,
        builtin: r.get::<_, i64>(9)? != 0,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        options: serde_json::from_str(&options).unwrap_or_default(),
        created: r.get(12)?,
    })
}

pub fn get(db: &Db, id: &str) -> Result<Option<NetworkRecord>> {
    db.query_opt(&format!("SELECT {COLS} FROM networks WHERE id = ?1"), [id], row)
}

pub fn by_name(db: &Db, name: &str) -> Result<Option<NetworkRecord>> {
    db.query_opt(&format!("SELECT {COLS} FROM networks WHERE name = ?1"), [name], row)
}

pub fn list(db: &Db) -> Result<Vec<NetworkRecord>> {
    db.query_all(&format!("SELECT {COLS} FROM networks ORDER BY name"), [], row)
}

/// What a user typed, as docker resolves it: full ID, exact name, then a unique ID prefix.
pub fn resolve(db: &Db, s: &str) -> Result<NetworkRecord> {
    if let Some(n) = get(db, s)? {
        return Ok(n);
    }
    if let Some(n) = by_name(db, s)? {
        return Ok(n);
    }
    if !s.is_empty() && s.len() < 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut v = db.query_all(&format!("SELECT {COLS} FROM networks WHERE id LIKE ?1"), [format!("{}%", s.to_ascii_lowercase())], row)?;
        match v.len() {
            0 => {}
            1 => return Ok(v.remove(0)),
            _ => return Err(EngineError::InvalidArgument(format!("network {s} is ambiguous ({} matches found based on ID prefix)", v.len()))),
        }
    }
    Err(EngineError::NetworkNotFound(s.to_string()))
}

/// Insert a new network; a taken name is a Conflict, as docker reports it.
pub fn insert(db: &mut Db, n: &NetworkRecord) -> Result<()> {
    let labels = serde_json::to_string(&n.labels).unwrap_or_else(|_| "{}".into());
    let options = serde_json::to_string(&n.options).unwrap_or_else(|_| "{}".into());
    let r = db.write(|tx| {
        tx.execute(
            &format!("INSERT INTO networks ({COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![
                n.id,
                n.name,
                n.driver,
                n.subnet.to_string(),
                n.gateway.to_string(),
                n.ip_range.map(|r| r.to_string()).unwrap_or_default(),
                n.internal as i64,
                n.dns as i64,
                n.bridge,
                n.builtin as i64,
                labels,
                options,
                n.created
            ],
        )
    });
    match r {
        Err(EngineError::Database { source: rusqlite::Error::SqliteFailure(e, _), .. }) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            Err(EngineError::Conflict(format!("network with name {} already exists", n.name)))
        }
        r => r.map(|_| ()),
    }
}

/// Names of the containers connected to the network (running or not), sorted.
pub fn user_names(db: &Db, network_id: &str) -> Result<Vec<String>> {
    db.query_all(
        "SELECT c.name FROM container_networks cn JOIN containers c ON c.id = cn.container_id WHERE cn.network_id = ?1 ORDER BY c.name",
        [network_id],
        |r| r.get(0),
    )
}

/// Remove a network no container is connected to (the check and the delete are one
/// statement, so a container connecting at the same moment cannot lose it).
pub fn remove(db: &mut Db, n: &NetworkRecord) -> Result<()> {
    if n.builtin {
        return Err(EngineError::Conflict(format!("{} is a pre-defined network and cannot be removed", n.name)));
    }
    let deleted = db.write(|tx| {
        tx.execute(
            "DELETE FROM networks WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM container_networks WHERE network_id = ?1) \
             AND NOT EXISTS (SELECT 1 FROM endpoints WHERE network_id = ?1)",
            [&n.id],
        )
    })?;
    if deleted == 0 {
        let users = user_names(db, &n.id)?;
        return Err(EngineError::Conflict(format!(
            "error while removing network: network {} id {} has active endpoints ({})",
            n.name,
            n.id,
            users.join(", ")
        )));
    }
    Ok(())
}

/// A container's connection to a network, as asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub network: NetworkRecord,
    pub aliases: Vec<String>,
    pub ipv4: Option<Ipv4Addr>,
}

/// Connect a container (a record only: the monitor sets it up). Twice is a Conflict.
pub fn connect(db: &mut Db, container_id: &str, network_id: &str, aliases: &[String], ipv4: Option<Ipv4Addr>) -> Result<()> {
    let a = serde_json::to_string(aliases).unwrap_or_else(|_| "[]".into());
    let r = db.write(|tx| {
        tx.execute(
            "INSERT INTO container_networks (container_id, network_id, aliases, ipv4) VALUES (?1, ?2, ?3, ?4)",
            params![container_id, network_id, a, ipv4.map(|i| i.to_string()).unwrap_or_default()],
        )
    });
    match r {
        Err(EngineError::Database { source: rusqlite::Error::SqliteFailure(e, _), .. }) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
            Err(EngineError::Conflict(format!("endpoint with name {container_id} already exists in network {network_id}")))
        }
        r => r.map(|_| ()),
    }
}

pub fn disconnect(db: &mut Db, container_id: &str, network_id: &str) -> Result<bool> {
    let n = db.write(|tx| tx.execute("DELETE FROM container_networks WHERE container_id = ?1 AND network_id = ?2", [container_id, network_id]))?;
    Ok(n > 0)
}

/// The networks a container is connected to, its primary (first connected) one first.
pub fn connections(db: &Db, container_id: &str) -> Result<Vec<Connection>> {
    let rows: Vec<(String, String, String)> = db.query_all(
        "SELECT network_id, aliases, ipv4 FROM container_networks WHERE container_id = ?1 ORDER BY rowid",
        [container_id],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let mut out = Vec::new();
    for (nid, aliases, ip) in rows {
        let Some(network) = get(db, &nid)? else { continue };
        out.push(Connection { network, aliases: serde_json::from_str(&aliases).unwrap_or_default(), ipv4: ip.parse().ok() });
    }
    Ok(out)
}

/// A set-up container's address on a network.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Endpoint {
    pub network_id: String,
    pub container_id: String,
    pub ip: Ipv4Addr,
    pub mac: String,
    pub endpoint_id: String,
    /// The interface in the container (`eth0`, `eth1`...).
    pub ifname: String,
}

fn endpoint_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Endpoint> {
    let ip: String = r.get(2)?;
    Ok(Endpoint {
        network_id: r.get(0)?,
        container_id: r.get(1)?,
        ip: ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        mac: r.get(3)?,
        endpoint_id: r.get(4)?,
        ifname: r.get(5)?,
    })
}

const ENDPOINT_COLS: &str = "network_id, container_id, ip, mac, endpoint_id, ifname";

/// Lease an address: `choose` gets the addresses in use on the network and returns the one
/// to take (or why none can be); the lease is written in the same transaction.
pub fn lease(
    db: &mut Db,
    network_id: &str,
    container_id: &str,
    ifname: &str,
    choose: impl FnOnce(&HashSet<Ipv4Addr>) -> Result<(Ipv4Addr, String)>,
) -> Result<Endpoint> {
    let path = db.path().to_path_buf();
    let dberr = |source| EngineError::Database { path: path.clone(), source };
    let tx = db.conn_mut().transaction_with_behavior(rusqlite::TransactionBehavior::Immediate).map_err(dberr)?;
    let used: HashSet<Ipv4Addr> = {
        let mut st = tx.prepare("SELECT ip FROM endpoints WHERE network_id = ?1").map_err(dberr)?;
        let rows = st.query_map([network_id], |r| r.get::<_, String>(0)).map_err(dberr)?;
        rows.filter_map(|r| r.ok()).filter_map(|s| s.parse().ok()).collect()
    };
    let existing: Option<String> = tx
        .query_row("SELECT ip FROM endpoints WHERE network_id = ?1 AND container_id = ?2", [network_id, container_id], |r| r.get(0))
        .optional()
        .map_err(dberr)?;
    if existing.is_some() {
        return Err(EngineError::Conflict(format!("container {container_id} already has an address on network {network_id}")));
    }
    let (ip, mac) = choose(&used)?;
    let ep = Endpoint {
        network_id: network_id.to_string(),
        container_id: container_id.to_string(),
        ip,
        mac,
        endpoint_id: crate::store::containers::new_id(),
        ifname: ifname.to_string(),
    };
    tx.execute(
        &format!("INSERT INTO endpoints ({ENDPOINT_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
        params![ep.network_id, ep.container_id, ep.ip.to_string(), ep.mac, ep.endpoint_id, ep.ifname],
    )
    .map_err(dberr)?;
    tx.commit().map_err(dberr)?;
    Ok(ep)
}

pub fn endpoints_on(db: &Db, network_id: &str) -> Result<Vec<Endpoint>> {
    db.query_all(&format!("SELECT {ENDPOINT_COLS} FROM endpoints WHERE network_id = ?1 ORDER BY ip"), [network_id], endpoint_row)
}

/// Every lease (the leak checks count them).
#[cfg_attr(not(any(test, feature = "testing")), allow(dead_code))]
pub fn all_endpoints(db: &Db) -> Result<Vec<Endpoint>> {
    db.query_all(&format!("SELECT {ENDPOINT_COLS} FROM endpoints"), [], endpoint_row)
}

/// Give back a container's lease on one network (all of them with None).
pub fn release(db: &mut Db, container_id: &str, network_id: Option<&str>) -> Result<()> {
    db.write(|tx| match network_id {
        Some(n) => tx.execute("DELETE FROM endpoints WHERE container_id = ?1 AND network_id = ?2", [container_id, n]),
        None => tx.execute("DELETE FROM endpoints WHERE container_id = ?1", [container_id]),
    })?;
    Ok(())
}

/// A container's network namespace and the JSON its driver was set up with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SandboxRow {
    pub container_id: String,
    pub netns: String,
    pub config: String,
}

pub fn put_sandbox(db: &mut Db, container_id: &str, netns: &str, config: &str) -> Result<()> {
    db.write(|tx| {
        tx.execute(
            "INSERT OR REPLACE INTO sandboxes (container_id, netns, config, created) VALUES (?1, ?2, ?3, ?4)",
            params![container_id, netns, config, crate::store::containers::now_nanos()],
        )
    })?;
    Ok(())
}

pub fn sandbox(db: &Db, container_id: &str) -> Result<Option<SandboxRow>> {
    db.query_opt("SELECT container_id, netns, config FROM sandboxes WHERE container_id = ?1", [container_id], |r| {
        Ok(SandboxRow { container_id: r.get(0)?, netns: r.get(1)?, config: r.get(2)? })
    })
}

pub fn sandboxes(db: &Db) -> Result<Vec<SandboxRow>> {
    db.query_all("SELECT container_id, netns, config FROM sandboxes", [], |r| {
        Ok(SandboxRow { container_id: r.get(0)?, netns: r.get(1)?, config: r.get(2)? })
    })
}

pub fn delete_sandbox(db: &mut Db, container_id: &str) -> Result<()> {
    db.write(|tx| tx.execute("DELETE FROM sandboxes WHERE container_id = ?1", [container_id]))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(name: &str, subnet: &str) -> NetworkRecord {
        let subnet: Ipv4Net = subnet.parse().unwrap();
        NetworkRecord {
            id: crate::store::containers::new_id(),
            name: name.into(),
            driver: "bridge".into(),
            subnet,
            gateway: subnet.hosts().next().unwrap(),
            ip_range: None,
            internal: false,
            dns: true,
            bridge: format!("br-{name}"),
            builtin: false,
            labels: Default::default(),
            options: Default::default(),
            created: 1,
        }
    }

    #[test]
    fn records_leases_and_removal() {
        let t = tempfile::tempdir().unwrap();
        let mut db = Db::open(t.path()).unwrap();
        let a = net("alpha", "10.99.1.0/24");
        insert(&mut db, &a).unwrap();
        assert!(matches!(insert(&mut db, &net("alpha", "10.99.2.0/24")), Err(EngineError::Conflict(_))));
        assert_eq!(resolve(&db, "alpha").unwrap().id, a.id);
        assert_eq!(resolve(&db, &a.id[..6]).unwrap().name, "alpha");
        assert!(matches!(resolve(&db, "nope"), Err(EngineError::NetworkNotFound(_))));
        assert_eq!(list(&db).unwrap(), vec![a.clone()]);

        let pick = |used: &HashSet<Ipv4Addr>| {
            let ip = (2..255).map(|i| Ipv4Addr::new(10, 99, 1, i)).find(|ip| !used.contains(ip)).unwrap();
            Ok((ip, "02:42:00:00:00:00".to_string()))
        };
        let e1 = lease(&mut db, &a.id, "c1", "eth0", pick).unwrap();
        let e2 = lease(&mut db, &a.id, "c2", "eth0", pick).unwrap();
        assert_eq!((e1.ip, e2.ip), (Ipv4Addr::new(10, 99, 1, 2), Ipv4Addr::new(10, 99, 1, 3)));
        assert!(lease(&mut db, &a.id, "c1", "eth0", pick).is_err(), "one lease per container and network");
        // A network with leases is not removed.
        assert!(matches!(remove(&mut db, &a), Err(EngineError::Conflict(_))));
        release(&mut db, "c1", None).unwrap();
        release(&mut db, "c2", Some(&a.id)).unwrap();
        assert!(all_endpoints(&db).unwrap().is_empty());
        remove(&mut db, &a).unwrap();
        assert!(list(&db).unwrap().is_empty());
        put_sandbox(&mut db, "c1", "/run/x", "{}").unwrap();
        assert_eq!(sandboxes(&db).unwrap().len(), 1);
        delete_sandbox(&mut db, "c1").unwrap();
        assert!(sandbox(&db, "c1").unwrap().is_none());
    }
}

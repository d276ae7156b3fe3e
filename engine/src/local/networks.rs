//! Networks for `LocalEngine`: the trait's network verbs over the store's records
//! ([`crate::store::networks`]) and the set-up in [`crate::network`], with docker's shapes
//! and errors. Connecting or disconnecting a running container changes its namespace at once;
//! a stopped one gets the change at its next start.
use crate::api::*;
use crate::local::Inner;
use crate::network::{self, Mode};
use crate::store::containers as state;
use crate::store::networks::{self as store, NetworkRecord};

fn rfc3339(nanos: i64) -> String {
    chrono::DateTime::from_timestamp(nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default()
}

fn view(i: &Inner, n: &NetworkRecord) -> Result<Network> {
    let db = i.images.db();
    let mut containers = std::collections::BTreeMap::new();
    for ep in store::endpoints_on(&db, &n.id)? {
        let name = state::get(&db, &ep.container_id)?.map(|c| c.name).unwrap_or_default();
        containers.insert(
            ep.container_id.clone(),
            NetworkContainer {
                name,
                endpoint_id: ep.endpoint_id,
                mac_address: ep.mac,
                ipv4_address: format!("{}/{}", ep.ip, n.subnet.prefix_len()),
                ipv6_address: String::new(),
            },
        );
    }
    let mut options = n.options.clone();
    if n.builtin {
        options.insert("com.docker.network.bridge.default_bridge".into(), "true".into());
        options.insert("com.docker.network.bridge.name".into(), n.bridge.clone());
    }
    Ok(Network {
        name: n.name.clone(),
        id: n.id.clone(),
        created: rfc3339(n.created),
        scope: "local".into(),
        driver: n.driver.clone(),
        enable_ipv6: false,
        ipam: NetworkIpam {
            driver: "default".into(),
            options: (!n.builtin).then(Default::default),
            config: vec![IpamConfig {
                subnet: n.subnet.to_string(),
                ip_range: n.ip_range.map(|r| r.to_string()).unwrap_or_default(),
                gateway: n.gateway.to_string(),
            }],
        },
        internal: n.internal,
        attachable: false,
        ingress: false,
        containers,
        options,
        labels: n.labels.clone(),
        users: Some(store::user_names(&db, &n.id)?),
    })
}

pub(crate) fn list(i: &Inner) -> Result<Vec<Network>> {
    // The default network exists from the first look, as docker's does.
    let recs = {
        let mut db = i.images.db();
        network::ensure_default(&mut db, &i.root)?;
        store::list(&db)?
    };
    recs.iter().map(|n| view(i, n)).collect()
}

pub(crate) fn create(i: &Inner, o: &NetworkCreate) -> Result<Network> {
    let n = {
        let mut db = i.images.db();
        network::ensure_default(&mut db, &i.root)?;
        network::create(&mut db, &i.root, o, false)?
    };
    view(i, &n)
}

fn resolve(i: &Inner, name: &str) -> Result<NetworkRecord> {
    let mut db = i.images.db();
    if name == network::DEFAULT_NETWORK {
        return network::ensure_default(&mut db, &i.root);
    }
    store::resolve(&db, name)
}

pub(crate) fn inspect(i: &Inner, name: &str) -> Result<Network> {
    let n = resolve(i, name)?;
    view(i, &n)
}

pub(crate) fn remove(i: &Inner, name: &str) -> Result<()> {
    let n = resolve(i, name)?;
    network::remove(&mut i.images.db(), &i.root, &n)
}

pub(crate) fn prune(i: &Inner) -> Result<NetworkPruneReport> {
    let mut removed = Vec::new();
    let mut db = i.images.db();
    for n in store::list(&db)? {
        if n.builtin || !store::user_names(&db, &n.id)?.is_empty() {
            continue;
        }
        match network::remove(&mut db, &i.root, &n) {
            Ok(()) => removed.push(n.name),
            Err(EngineError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(NetworkPruneReport { removed })
}

pub(crate) fn connect(i: &Inner, name: &str, o: &NetworkConnect) -> Result<()> {
    let n = resolve(i, name)?;
    let c = super::containers::lookup(i, &o.container)?;
    if network::mode(&c.config.network) != Mode::Bridge {
        return Err(EngineError::Conflict(format!(
            "container sharing network namespace with another container or host cannot be connected to any other network ({})",
            c.name
        )));
    }
    if n.builtin && (!o.aliases.is_empty() || o.ipv4.is_some()) {
        return Err(EngineError::InvalidArgument(
            "network-scoped aliases and addresses are supported only for user defined networks".into(),
        ));
    }
    if let Some(ip) = o.ipv4
        && !n.subnet.contains(&ip)
    {
        return Err(EngineError::InvalidArgument(format!("invalid address {ip}: it does not belong to network {} ({})", n.name, n.subnet)));
    }
    let mut db = i.images.db();
    if store::connections(&db, &c.id)?.iter().any(|x| x.network.id == n.id) {
        return Err(EngineError::Conflict(format!("endpoint with name {} already exists in network {}", c.name, n.name)));
    }
    store::connect(&mut db, &c.id, &n.id, &o.aliases, o.ipv4)?;
    if super::containers::is_running(&c)
        && let Err(e) = network::connect_running(&mut db, &i.root, &c.id, &n.id)
    {
        let _ = store::disconnect(&mut db, &c.id, &n.id);
        return Err(e);
    }
    Ok(())
}

pub(crate) fn disconnect(i: &Inner, name: &str, container: &str, force: bool) -> Result<()> {
    let n = resolve(i, name)?;
    let c = match super::containers::lookup(i, container) {
        Ok(c) => c,
        Err(EngineError::ContainerNotFound(_)) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut db = i.images.db();
    if !store::connections(&db, &c.id)?.iter().any(|x| x.network.id == n.id) {
        return Err(EngineError::Conflict(format!("container {} is not connected to network {}", c.id, n.name)));
    }
    if super::containers::is_running(&c) {
        network::disconnect_running(&mut db, &i.root, &c.id, &n.id)?;
    }
    store::disconnect(&mut db, &c.id, &n.id)?;
    Ok(())
}

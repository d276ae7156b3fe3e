//! Network verbs over the Docker Engine API (`/networks`). Answers are read through their
//! JSON into berth's [`Network`], which spells docker's keys, so every daemon version's
//! extra or missing fields are fine.
use std::collections::HashMap;

use bollard::models::{
    EndpointIpamConfig, EndpointSettings, Ipam, IpamConfig as BIpamConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest,
};

use super::{DockerBackend, NotFound, map_err};
use crate::api::*;

fn view<T: serde::Serialize>(v: T, what: &str) -> Result<Network> {
    let j = serde_json::to_value(v).map_err(|e| EngineError::Other(format!("decoding network {what}: {e}")))?;
    serde_json::from_value(j).map_err(|e| EngineError::Other(format!("decoding network {what}: {e}")))
}

pub(super) async fn list(d: &DockerBackend) -> Result<Vec<Network>> {
    let r = d
        .client
        .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
        .await
        .map_err(map_err("networks", NotFound::Network))?;
    let mut v: Vec<Network> = r.into_iter().map(|n| view(n, "list")).collect::<Result<_>>()?;
    v.sort_by(|a, b| a.name.cmp(&b.name));
    // Who is connected: one container list with its networks (best effort).
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).build();
    if let Ok(cs) = d.client.list_containers(Some(opts)).await {
        for n in &mut v {
            let mut users: Vec<String> = cs
                .iter()
                .filter(|c| c.network_settings.as_ref().and_then(|s| s.networks.as_ref()).is_some_and(|m| m.contains_key(&n.name)))
                .filter_map(|c| c.names.as_ref().and_then(|x| x.first()).map(|x| x.trim_start_matches('/').to_string()))
                .collect();
            users.sort();
            n.users = Some(users);
        }
    }
    Ok(v)
}

pub(super) async fn create(d: &DockerBackend, o: &NetworkCreate) -> Result<Network> {
    // Daemons before API 1.44 make a second network of the same name unless asked not to
    // (CheckDuplicate, which bollard's models no longer carry): look first, as the CLI did.
    if let Ok(n) = d.client.inspect_network(&o.name, None::<bollard::query_parameters::InspectNetworkOptions>).await
        && n.name.as_deref() == Some(o.name.as_str())
    {
        return Err(EngineError::Conflict(format!("network with name {} already exists", o.name)));
    }
    let ipam = o.subnet.map(|s| Ipam {
        driver: Some("default".into()),
        config: Some(vec![BIpamConfig {
            subnet: Some(s.to_string()),
            gateway: o.gateway.map(|g| g.to_string()),
            ip_range: o.ip_range.map(|r| r.to_string()),
            ..Default::default()
        }]),
        options: None,
    });
    let req = NetworkCreateRequest {
        name: o.name.clone(),
        driver: o.driver.clone(),
        internal: Some(o.internal),
        ipam,
        options: (!o.options.is_empty()).then(|| o.options.clone().into_iter().collect()),
        labels: (!o.labels.is_empty()).then(|| o.labels.clone().into_iter().collect()),
        ..Default::default()
    };
    let r = d.client.create_network(req).await.map_err(map_err(&o.name, NotFound::Network))?;
    inspect(d, &r.id).await
}

pub(super) async fn inspect(d: &DockerBackend, name: &str) -> Result<Network> {
    let n = d
        .client
        .inspect_network(name, None::<bollard::query_parameters::InspectNetworkOptions>)
        .await
        .map_err(map_err(name, NotFound::Network))?;
    view(n, name)
}

pub(super) async fn remove(d: &DockerBackend, name: &str) -> Result<()> {
    d.client.remove_network(name).await.map_err(map_err(name, NotFound::Network))
}

pub(super) async fn prune(d: &DockerBackend) -> Result<NetworkPruneReport> {
    let r = d
        .client
        .prune_networks(None::<bollard::query_parameters::PruneNetworksOptions>)
        .await
        .map_err(map_err("networks", NotFound::Network))?;
    Ok(NetworkPruneReport { removed: r.networks_deleted.unwrap_or_default() })
}

pub(super) async fn connect(d: &DockerBackend, network: &str, o: &NetworkConnect) -> Result<()> {
    let req = NetworkConnectRequest {
        container: o.container.clone(),
        endpoint_config: Some(EndpointSettings {
            aliases: (!o.aliases.is_empty()).then(|| o.aliases.clone()),
            ipam_config: o.ipv4.map(|ip| EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
            ..Default::default()
        }),
    };
    d.client.connect_network(network, req).await.map_err(map_err(network, NotFound::Network))
}

pub(super) async fn disconnect(d: &DockerBackend, network: &str, container: &str, force: bool) -> Result<()> {
    let req = NetworkDisconnectRequest { container: container.to_string(), force: Some(force) };
    d.client.disconnect_network(network, req).await.map_err(map_err(network, NotFound::Network))
}

/// `-p`, `--expose` and `-P` as the docker CLI sends them: `ExposedPorts` and
/// `HostConfig.PortBindings`.
#[allow(clippy::type_complexity)]
pub(super) fn port_config(
    o: &ContainerCreate,
) -> (Option<Vec<String>>, Option<HashMap<String, Option<Vec<bollard::models::PortBinding>>>>) {
    let mut exposed: Vec<String> = Vec::new();
    let mut bindings: HashMap<String, Option<Vec<bollard::models::PortBinding>>> = HashMap::new();
    for e in &o.expose {
        for p in e.ports.iter() {
            exposed.push(format!("{p}/{}", e.protocol));
        }
    }
    for p in &o.ports {
        for (k, c) in p.container_ports.iter().enumerate() {
            let key = format!("{c}/{}", p.protocol);
            exposed.push(key.clone());
            let host_port = match p.host_ports {
                Some(h) if h.len() == p.container_ports.len() => Some((h.start as usize + k).to_string()),
                Some(h) => Some(h.to_string()),
                None => None,
            };
            bindings
                .entry(key)
                .or_insert_with(|| Some(vec![]))
                .get_or_insert_with(Vec::new)
                .push(bollard::models::PortBinding { host_ip: p.host_ip.map(|i| i.to_string()), host_port });
        }
    }
    exposed.sort();
    exposed.dedup();
    ((!exposed.is_empty()).then_some(exposed), (!bindings.is_empty()).then_some(bindings))
}

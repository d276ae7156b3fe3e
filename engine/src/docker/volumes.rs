//! Volume verbs over the Docker Engine API (`/volumes`).
use std::collections::HashMap;

use bollard::models::VolumeCreateRequest;
use bollard::query_parameters::{ListVolumesOptions, PruneVolumesOptions, RemoveVolumeOptions};

use super::{DockerBackend, NotFound, map_err};
use crate::api::*;

fn view(v: bollard::models::Volume) -> Volume {
    // BollardDate is a String, chrono or time type depending on features: go through JSON.
    let created_at = v.created_at.and_then(|t| serde_json::to_value(t).ok()).and_then(|j| j.as_str().map(String::from)).unwrap_or_default();
    Volume {
        created_at,
        driver: v.driver,
        labels: v.labels.into_iter().collect(),
        mountpoint: v.mountpoint,
        name: v.name,
        options: v.options.into_iter().collect(),
        scope: v.scope.map(|s| s.to_string()).unwrap_or_default(),
        users: None,
    }
}

pub(super) async fn list(d: &DockerBackend, o: &VolumeListOptions) -> Result<Vec<Volume>> {
    let filters = o.dangling.map(|b| HashMap::from([("dangling".to_string(), vec![b.to_string()])]));
    let r = d.client.list_volumes(Some(ListVolumesOptions { filters })).await.map_err(map_err("volumes", NotFound::Volume))?;
    let mut v: Vec<Volume> = r.volumes.unwrap_or_default().into_iter().map(view).collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    // Who uses what: one container list with its mounts (best effort).
    let opts = bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).build();
    if let Ok(cs) = d.client.list_containers(Some(opts)).await {
        for vol in &mut v {
            let users = cs
                .iter()
                .filter(|c| c.mounts.iter().flatten().any(|m| m.name.as_deref() == Some(vol.name.as_str())))
                .filter_map(|c| c.names.as_ref().and_then(|n| n.first()).map(|n| n.trim_start_matches('/').to_string()))
                .collect();
            vol.users = Some(users);
        }
    }
    Ok(v)
}

pub(super) async fn create(d: &DockerBackend, name: Option<&str>) -> Result<Volume> {
    let req = VolumeCreateRequest { name: name.map(String::from), ..Default::default() };
    d.client.create_volume(req).await.map(view).map_err(map_err(name.unwrap_or(""), NotFound::Volume))
}

pub(super) async fn inspect(d: &DockerBackend, name: &str) -> Result<Volume> {
    d.client.inspect_volume(name).await.map(view).map_err(map_err(name, NotFound::Volume))
}

pub(super) async fn remove(d: &DockerBackend, name: &str, force: bool) -> Result<()> {
    d.client.remove_volume(name, Some(RemoveVolumeOptions { force })).await.map_err(map_err(name, NotFound::Volume))
}

/// Daemons before API 1.42 (docker 23) know no `all` filter and prune every unused volume
/// anyway: `all` is retried without it there.
pub(super) async fn prune(d: &DockerBackend, all: bool) -> Result<VolumePruneReport> {
    let filters = all.then(|| HashMap::from([("all".to_string(), vec!["true".to_string()])]));
    let r = match d.client.prune_volumes(Some(PruneVolumesOptions { filters })).await.map_err(map_err("volumes", NotFound::Volume)) {
        Err(EngineError::InvalidArgument(m)) if all && m.contains("'all'") => {
            d.client.prune_volumes(None::<PruneVolumesOptions>).await.map_err(map_err("volumes", NotFound::Volume))?
        }
        r => r?,
    };
    Ok(VolumePruneReport { removed: r.volumes_deleted.unwrap_or_default(), space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64 })
}

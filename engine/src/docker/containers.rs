//! Container verbs over the Docker Engine API.
use bollard::models::{ContainerCreateBody, HostConfig, RestartPolicy, RestartPolicyNameEnum};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, ListContainersOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use futures_util::stream::{BoxStream, StreamExt};

use super::{DockerBackend, NotFound, describe, map_err};
use crate::api::*;

fn restart_policy(s: &str) -> Result<RestartPolicy> {
    use crate::store::containers::Restart;
    let r = Restart::parse(s)?;
    let name = match r {
        Restart::No => RestartPolicyNameEnum::NO,
        Restart::Always => RestartPolicyNameEnum::ALWAYS,
        Restart::UnlessStopped => RestartPolicyNameEnum::UNLESS_STOPPED,
        Restart::OnFailure { .. } => RestartPolicyNameEnum::ON_FAILURE,
    };
    let max = matches!(r, Restart::OnFailure { .. } if s.contains(':')).then(|| r.max_retries().into());
    Ok(RestartPolicy { name: Some(name), maximum_retry_count: max })
}

pub(super) async fn create(d: &DockerBackend, o: &ContainerCreate) -> Result<String> {
    // `-v` as docker's CLI sends it: binds and named volumes in HostConfig.Binds, anonymous
    // ones in Config.Volumes. Bad specs fail here, before the daemon is asked.
    let (mut binds, mut anon) = (Vec::new(), Vec::new());
    for b in &o.binds {
        match crate::volume::parse_spec(b)? {
            crate::volume::MountSpec::Anonymous { destination } => {
                anon.push(destination);
            }
            _ => binds.push(b.clone()),
        }
    }
    let (exposed_ports, port_bindings) = super::networks::port_config(o);
    // `--network-alias`/`--ip` go in the endpoint config of the network named by --network.
    let networking_config = match o.network.as_deref().unwrap_or("bridge") {
        n if !o.network_aliases.is_empty() || o.ipv4.is_some() || o.mac_address.is_some() => {
            let ep = bollard::models::EndpointSettings {
                aliases: (!o.network_aliases.is_empty()).then(|| o.network_aliases.clone()),
                mac_address: o.mac_address.map(|m| m.to_string()),
                ipam_config: o
                    .ipv4
                    .map(|ip| bollard::models::EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
                ..Default::default()
            };
            Some(bollard::models::NetworkingConfig { endpoints_config: Some([(n.to_string(), ep)].into_iter().collect()) })
        }
        _ => None,
    };
    let host = HostConfig {
        port_bindings,
        publish_all_ports: o.publish_all.then_some(true),
        dns: (!o.dns.is_empty()).then(|| o.dns.iter().map(|d| d.to_string()).collect()),
        dns_search: (!o.dns_search.is_empty()).then(|| o.dns_search.clone()),
        dns_options: (!o.dns_options.is_empty()).then(|| o.dns_options.clone()),
        extra_hosts: (!o.extra_hosts.is_empty()).then(|| o.extra_hosts.iter().map(|h| h.to_string()).collect()),
        binds: (!binds.is_empty()).then_some(binds),
        memory: o.memory,
        memory_swap: o.memory_swap,
        nano_cpus: o.nano_cpus,
        cpu_shares: o.cpu_shares.map(|c| c as i64),
        pids_limit: o.pids_limit,
        privileged: Some(o.privileged),
        network_mode: o.network.clone().filter(|n| n != "default"),
        restart_policy: o.restart.as_deref().map(restart_policy).transpose()?,
        auto_remove: Some(o.auto_remove),
        // A runtime *name* the daemon knows (`docker info` Runtimes), e.g. runc.
        runtime: o.runtime.clone(),
        ..Default::default()
    };
    let body = ContainerCreateBody {
        image: Some(o.image.clone()),
        cmd: (!o.cmd.is_empty()).then(|| o.cmd.clone()),
        entrypoint: o.entrypoint.as_ref().map(|e| if e.is_empty() { vec![] } else { vec![e.clone()] }),
        env: (!o.env.is_empty()).then(|| o.env.clone()),
        working_dir: o.workdir.clone(),
        user: o.user.clone(),
        hostname: o.hostname.clone(),
        tty: Some(o.tty),
        open_stdin: Some(o.open_stdin),
        stdin_once: Some(o.stdin_once),
        attach_stdin: Some(o.open_stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        labels: (!o.labels.is_empty()).then(|| o.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect()),
        host_config: Some(host),
        volumes: (!anon.is_empty()).then_some(anon),
        exposed_ports,
        networking_config,
        ..Default::default()
    };
    let mut b = CreateContainerOptionsBuilder::default();
    if let Some(n) = &o.name {
        b = b.name(n);
    }
    let r = d.client.create_container(Some(b.build()), body).await.map_err(map_err(&o.image, NotFound::Image))?;
    Ok(r.id)
}

pub(super) async fn list(d: &DockerBackend, o: &ContainerListOptions) -> Result<Vec<ContainerSummary>> {
    let list = d
        .client
        .list_containers(Some(ListContainersOptionsBuilder::default().all(o.all).build()))
        .await
        .map_err(|e| EngineError::Other(describe(&e)))?;
    Ok(list
        .into_iter()
        .map(|c| {
            let status = c.status.unwrap_or_default();
            // "Exited (137) 2 minutes ago" carries the exit code the list omits.
            let exit_code = status.strip_prefix("Exited (").and_then(|r| r.split(')').next()).and_then(|n| n.parse().ok()).unwrap_or(0);
            ContainerSummary {
                id: c.id.unwrap_or_default(),
                name: c.names.and_then(|n| n.into_iter().next()).unwrap_or_default().trim_start_matches('/').to_string(),
                image: c.image.unwrap_or_default(),
                image_id: c.image_id.unwrap_or_default(),
                command: c.command.unwrap_or_default(),
                created: c.created.unwrap_or(0),
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status,
                exit_code,
                labels: c.labels.unwrap_or_default().into_iter().collect(),
                ports: c
                    .ports
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| ContainerPort {
                        ip: p.ip.unwrap_or_default(),
                        private_port: p.private_port,
                        public_port: p.public_port.unwrap_or(0),
                        protocol: p.typ.map(|t| t.to_string()).unwrap_or_default(),
                    })
                    .collect(),
            }
        })
        .collect())
}

pub(super) async fn inspect(d: &DockerBackend, id: &str) -> Result<ContainerInspect> {
    let c = d.client.inspect_container(id, None).await.map_err(map_err(id, NotFound::Container))?;
    let v = serde_json::to_value(c).map_err(|e| EngineError::Other(format!("decoding container {id}: {e}")))?;
    let mut out: ContainerInspect = serde_json::from_value(v).map_err(|e| EngineError::Other(format!("decoding container {id}: {e}")))?;
    out.name = out.name.trim_start_matches('/').to_string();
    Ok(out)
}

pub(super) async fn stop(d: &DockerBackend, id: &str, timeout: Option<u32>) -> Result<()> {
    let mut b = StopContainerOptionsBuilder::default();
    if let Some(t) = timeout {
        b = b.t(t as i32);
    }
    d.client.stop_container(id, Some(b.build())).await.map_err(map_err(id, NotFound::Container))
}

pub(super) async fn kill(d: &DockerBackend, id: &str, signal: &str) -> Result<()> {
    d.client
        .kill_container(id, Some(KillContainerOptionsBuilder::default().signal(signal).build()))
        .await
        .map_err(map_err(id, NotFound::Container))
}

pub(super) async fn remove(d: &DockerBackend, id: &str, force: bool, volumes: bool) -> Result<()> {
    d.client
        .remove_container(id, Some(RemoveContainerOptionsBuilder::default().force(force).v(volumes).build()))
        .await
        .map_err(map_err(id, NotFound::Container))
}

pub(super) async fn wait(d: &DockerBackend, id: &str) -> Result<i64> {
    let mut s = d.client.wait_container(id, None);
    match s.next().await {
        Some(Ok(r)) => Ok(r.status_code),
        // bollard reports a non-zero exit as an error carrying the code.
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => Ok(code),
        Some(Err(e)) => Err(map_err(id, NotFound::Container)(e)),
        None => Err(EngineError::Other(format!("waiting for {id}: the daemon closed the stream"))),
    }
}

pub(super) async fn logs(d: &DockerBackend, id: &str, o: &LogOptions) -> Result<BoxStream<'static, Result<LogLine>>> {
    // Check the container exists first, so a typo is an error, not an empty stream.
    d.client.inspect_container(id, None).await.map_err(map_err(id, NotFound::Container))?;
    let tail = o.tail.map(|n| n.to_string()).unwrap_or_else(|| "all".into());
    let opts = LogsOptionsBuilder::default().follow(o.follow).stdout(true).stderr(true).timestamps(true).tail(&tail).build();
    let s = d.client.logs(id, Some(opts)).map(|item| {
        let item = item.map_err(|e| EngineError::Other(describe(&e)))?;
        let (stream, msg) = match item {
            bollard::container::LogOutput::StdErr { message } => ("stderr", message),
            bollard::container::LogOutput::StdOut { message } | bollard::container::LogOutput::Console { message } => ("stdout", message),
            bollard::container::LogOutput::StdIn { message } => ("stdin", message),
        };
        let text = String::from_utf8_lossy(&msg).into_owned();
        // With timestamps=true every line starts "RFC3339Nano ".
        let (time, line) = match text.split_once(' ') {
            Some((t, rest)) if t.len() >= 20 && t.as_bytes()[4] == b'-' => (t.to_string(), rest.to_string()),
            _ => (String::new(), text),
        };
        Ok(LogLine { stream: stream.to_string(), time, line })
    });
    Ok(s.boxed())
}

pub(super) async fn top(d: &DockerBackend, id: &str, ps_args: Vec<String>) -> Result<TopResult> {
    let args = ps_args.join(" ");
    let o = (!args.is_empty()).then(|| bollard::query_parameters::TopOptionsBuilder::default().ps_args(&args).build());
    let r = d.client.top_processes(id, o).await.map_err(map_err(id, NotFound::Container))?;
    Ok(TopResult { titles: r.titles.unwrap_or_default(), processes: r.processes.unwrap_or_default() })
}

pub(super) async fn system_info(d: &DockerBackend) -> Result<SystemInfo> {
    let i = d.client.info().await.map_err(|e| EngineError::Other(describe(&e)))?;
    let server_version = match i.server_version.clone().filter(|v| !v.is_empty()) {
        Some(v) => v,
        None => d.client.version().await.map_err(|e| EngineError::Other(describe(&e)))?.version.unwrap_or_default(),
    };
    let n = |v: Option<i64>| v.unwrap_or(0).max(0) as u64;
    Ok(SystemInfo {
        engine: "docker".into(),
        server_version,
        hostname: i.name.unwrap_or_default(),
        kernel_version: i.kernel_version.unwrap_or_default(),
        operating_system: i.operating_system.unwrap_or_default(),
        architecture: i.architecture.unwrap_or_default(),
        cpus: i.ncpu.unwrap_or(0).max(0) as u32,
        memory_total: n(i.mem_total),
        cgroup_version: i.cgroup_version.map(|v| v.to_string()).and_then(|v| v.parse().ok()).unwrap_or(0),
        cgroup_driver: i.cgroup_driver.map(|v| v.to_string()).unwrap_or_default(),
        storage_driver: i.driver.unwrap_or_default(),
        root_dir: i.docker_root_dir.unwrap_or_default(),
        runtime: i.default_runtime.unwrap_or_default(),
        containers: n(i.containers),
        containers_running: n(i.containers_running),
        containers_paused: n(i.containers_paused),
        containers_stopped: n(i.containers_stopped),
        images: n(i.images),
    })
}

/// `system df` from the image and container lists: `/system/df` changed shape in API 1.52
/// (bollard models only the new one), the lists read the same on every version.
pub(super) async fn disk_usage(d: &DockerBackend) -> Result<DiskUsage> {
    let images = d
        .client
        .list_images(Some(bollard::query_parameters::ListImagesOptionsBuilder::default().all(false).build()))
        .await
        .map_err(|e| EngineError::Other(describe(&e)))?;
    let containers = d
        .client
        .list_containers(Some(ListContainersOptionsBuilder::default().all(true).size(true).build()))
        .await
        .map_err(|e| EngineError::Other(describe(&e)))?;
    let mut uses: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for c in &containers {
        *uses.entry(c.image_id.clone().unwrap_or_default()).or_default() += 1;
    }
    // Shared bytes are counted once (older daemons report SharedSize -1: nothing known shared).
    let shared_max = images.iter().map(|i| i.shared_size.max(0) as u64).max().unwrap_or(0);
    let layers_size = images.iter().map(|i| (i.size.max(0) as u64).saturating_sub(i.shared_size.max(0) as u64)).sum::<u64>() + shared_max;
    Ok(DiskUsage {
        images: images
            .into_iter()
            .map(|i| ImageUsage {
                containers: uses.get(&i.id).copied().unwrap_or(0),
                id: i.id,
                repo_tags: i.repo_tags.into_iter().filter(|t| t != "<none>:<none>").collect(),
                created: i.created,
                size: i.size.max(0) as u64,
                shared_size: i.shared_size.max(0) as u64,
            })
            .collect(),
        containers: containers
            .into_iter()
            .map(|c| ContainerUsage {
                id: c.id.unwrap_or_default(),
                name: c.names.and_then(|n| n.into_iter().next()).unwrap_or_default().trim_start_matches('/').to_string(),
                image: c.image.unwrap_or_default(),
                size_rw: c.size_rw.unwrap_or(0).max(0) as u64,
                state: c.state.map(|s| s.to_string()).unwrap_or_default(),
                status: c.status.unwrap_or_default(),
                created: c.created.unwrap_or(0),
            })
            .collect(),
        layers_size,
    })
}

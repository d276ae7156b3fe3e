//! Containers for `LocalEngine`: create (a database row and a directory), start (spawn the
//! monitor), stop/kill (signals to the recorded init pid, guarded against pid reuse), rm,
//! ps, inspect, wait and logs (the monitor's json-file log). Everything here runs in
//! the caller's process and never forks a container itself: only `berth monitor` does.
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use nix::unistd::Pid;

use crate::api::*;
use crate::human::human_duration;
use crate::local::Inner;
use crate::monitor::{self, log::Entry};
use crate::runtime::bundle::Paths;
use crate::runtime::names::{random_name, valid_name};
use crate::runtime::process::alive;
use crate::store::containers::{self as state, ContainerRecord, Restart, RunConfig, State, new_id, now_nanos};
use crate::store::networks as net_store;
use crate::store::volumes;

/// `HostConfig.Runtime` of a container on the built-in runtime (youki's libcontainer).
pub const DEFAULT_RUNTIME: &str = "berth";

/// docker refuses limits below this.
const MIN_MEMORY: i64 = 6 * 1024 * 1024;

pub(crate) fn create(i: &Inner, o: &ContainerCreate) -> Result<String> {
    if let Some(n) = &o.name
        && !valid_name(n)
    {
        return Err(EngineError::InvalidArgument(format!("Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")));
    }
    let net = plan_network(i, o)?;
    let restart = o.restart.as_deref().map(Restart::parse).transpose()?.unwrap_or_default();
    if o.auto_remove && restart != Restart::No {
        return Err(EngineError::InvalidArgument("conflicting options: cannot specify both --restart and --rm".into()));
    }
    if let Some(m) = o.memory
        && m < MIN_MEMORY
    {
        return Err(EngineError::InvalidArgument("Minimum memory limit allowed is 6MB".into()));
    }
    if let (Some(m), Some(s)) = (o.memory, o.memory_swap)
        && s != -1
        && s < m
    {
        return Err(EngineError::InvalidArgument("Minimum memoryswap limit should be larger than memory limit, see usage".into()));
    }
    if o.memory_swap.is_some() && o.memory.is_none() {
        return Err(EngineError::InvalidArgument("You should always set the Memory limit when using Memoryswap limit, see usage".into()));
    }
    // `berth` (or nothing) is the built-in runtime; anything else must be an executable.
    let runtime = match o.runtime.as_deref() {
        None | Some("") | Some(DEFAULT_RUNTIME) => String::new(),
        Some(r) => monitor::external::resolve(r).map_err(|e| EngineError::InvalidArgument(e.to_string()))?.display().to_string(),
    };
    let img = i.resolve_image(&o.image)?;
    let (_, ic) = crate::image::commit::read_config(&i.images, &img.id)?;
    i.images.image_layers(&img)?;
    let cc = ic.config.unwrap_or_default();
    let entrypoint = match &o.entrypoint {
        Some(e) if e.is_empty() => vec![],
        Some(e) => vec![e.clone()],
        None => cc.entrypoint.clone().unwrap_or_default(),
    };
    let cmd = if !o.cmd.is_empty() {
        o.cmd.clone()
    } else if o.entrypoint.is_some() {
        vec![]
    } else {
        cc.cmd.clone().unwrap_or_default()
    };
    if entrypoint.is_empty() && cmd.is_empty() {
        return Err(EngineError::InvalidArgument("No command specified".into()));
    }
    let mut env: Vec<String> = cc.env.clone().unwrap_or_default();
    for e in &o.env {
        let (k, v) = match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => match std::env::var(e) {
                Ok(v) => (e.clone(), v),
                Err(_) => continue,
            },
        };
        if k.is_empty() {
            return Err(EngineError::InvalidArgument(format!("invalid environment variable: {e}")));
        }
        env.retain(|x| x.split_once('=').map(|(a, _)| a) != Some(k.as_str()) && x != &k);
        env.push(format!("{k}={v}"));
    }
    let (binds, volumes) = plan_mounts(&o.binds, cc.volumes.as_ref())?;
    // docker's ExposedPorts: the image's, `--expose` and every published container port.
    let mut exposed: Vec<ExposedPort> = Vec::new();
    for k in cc.exposed_ports.as_ref().map(|m| m.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() {
        exposed.push(ExposedPort::parse(&k).map_err(|e| EngineError::InvalidImage(format!("EXPOSE {k}: {e}")))?);
    }
    exposed.extend(o.expose.iter().copied());
    exposed.extend(o.ports.iter().map(|p| ExposedPort { ports: p.container_ports, protocol: p.protocol }));
    exposed.sort();
    exposed.dedup();
    let mut labels: BTreeMap<String, String> = cc.labels.clone().unwrap_or_default();
    labels.extend(o.labels.clone());
    let id = new_id();
    let config = RunConfig {
        entrypoint,
        cmd,
        env,
        workdir: o.workdir.clone().or(cc.working_dir.clone()).unwrap_or_default(),
        user: o.user.clone().or(cc.user.clone()).unwrap_or_default(),
        hostname: o.hostname.clone().unwrap_or_else(|| id[..12].to_string()),
        tty: o.tty,
        open_stdin: o.open_stdin,
        labels,
        restart,
        auto_remove: o.auto_remove,
        network: net.mode.clone(),
        ports: if net.own_network { o.ports.clone() } else { vec![] },
        exposed,
        publish_all: o.publish_all && net.own_network,
        dns: o.dns.clone(),
        dns_search: o.dns_search.clone(),
        dns_options: o.dns_options.clone(),
        extra_hosts: o.extra_hosts.clone(),
        mac_address: o.mac_address,
        privileged: o.privileged,
        memory: o.memory,
        memory_swap: o.memory_swap,
        nano_cpus: o.nano_cpus,
        cpu_shares: o.cpu_shares,
        pids_limit: o.pids_limit,
        cap_add: o.cap_add.iter().map(|c| normalize_cap(c)).collect::<Result<_>>()?,
        cap_drop: o.cap_drop.iter().map(|c| normalize_cap(c)).collect::<Result<_>>()?,
        read_only: o.read_only,
        no_new_privileges: o.no_new_privileges,
        tmpfs: o.tmpfs.iter().map(|t| validate_tmpfs(t)).collect::<Result<_>>()?,
        binds: binds.iter().map(|(spec, _)| spec.clone()).collect(),
        volumes,
        stop_signal: cc.stop_signal.clone(),
    };
    if !config.workdir.is_empty() && !config.workdir.starts_with('/') {
        return Err(EngineError::InvalidArgument(format!(
            "the working directory '{}' is invalid, it needs to be an absolute path",
            config.workdir
        )));
    }
    // A host port that is taken now would fail the start: say so before anything exists.
    if config.ports.iter().any(|p| p.host_ports.is_some()) {
        drop(crate::network::ports::reserve(&config.ports, &[], false)?);
    }
    let name = o.name.clone().map(|n| n.trim_start_matches('/').to_string()).unwrap_or_else(random_name);
    let mut rec = ContainerRecord::created(id.clone(), name, img.id.to_string(), o.image.clone(), config, now_nanos());
    rec.runtime = runtime;
    // Everything is validated: now the host side of binds and the volumes may be created.
    for (_, host) in &binds {
        if !Path::new(host).exists() {
            std::fs::create_dir_all(host).map_err(|e| EngineError::io(host, e))?;
        }
    }
    let paths = Paths::new(&i.root, &id);
    std::fs::create_dir_all(&paths.dir).map_err(|e| EngineError::io(&paths.dir, e))?;
    // The log exists from the start, so `run` can open it before the container can end.
    let log = paths.log(&id);
    std::fs::File::create(&log).map_err(|e| EngineError::io(&log, e))?;
    let inserted = state::insert(&mut i.images.db(), &rec, o.name.is_some(), random_name);
    match inserted {
        Ok(name) => {
            let mut rec = rec;
            rec.name = name;
            let attached = attach_volumes(i, &rec).and_then(|()| match &net.network {
                Some(n) => net_store::connect(&mut i.images.db(), &rec.id, &n.id, &o.network_aliases, o.ipv4),
                None => Ok(()),
            });
            if let Err(e) = attached {
                let anon = volumes::anonymous_of(&i.images.db(), &rec.id).unwrap_or_default();
                let _ = state::delete(&mut i.images.db(), &rec.id);
                volumes::remove_unused(&mut i.images.db(), &i.root, &anon);
                let _ = std::fs::remove_dir_all(&paths.dir);
                return Err(e);
            }
            state::event(&mut i.images.db(), &rec, "create", &[]);
        }
        Err(e) => {
            let _ = std::fs::remove_dir_all(&paths.dir);
            return Err(e);
        }
    }
    Ok(id)
}

/// Where `--network` puts the container, checked against the other network flags.
struct NetPlan {
    /// The stored mode (`bridge`, a network's name, `host`, `none`, `container:<id>`).
    mode: String,
    /// The network to connect it to at create.
    network: Option<net_store::NetworkRecord>,
    /// A namespace of its own with an address (ports can be published).
    own_network: bool,
}

fn plan_network(i: &Inner, o: &ContainerCreate) -> Result<NetPlan> {
    use crate::network::{DEFAULT_NETWORK, ensure_default};
    let conflict = |what: &str| Err(EngineError::InvalidArgument(format!("conflicting options: {what} and the network mode")));
    let want = o.network.as_deref().unwrap_or(DEFAULT_NETWORK);
    let user_only = |p: &NetPlan| -> Result<()> {
        if o.ipv4.is_some() && p.network.as_ref().is_none_or(|n| n.builtin) {
            return Err(EngineError::InvalidArgument("user specified IP address is supported on user defined networks only".into()));
        }
        if !o.network_aliases.is_empty() && p.network.as_ref().is_none_or(|n| n.builtin) {
            return Err(EngineError::InvalidArgument(
                "network-scoped alias is supported only for containers in user defined networks".into(),
            ));
        }
        Ok(())
    };
    let plan = match want {
        "" | "default" | DEFAULT_NETWORK => {
            let n = ensure_default(&mut i.images.db(), &i.root)?;
            NetPlan { mode: DEFAULT_NETWORK.into(), network: Some(n), own_network: true }
        }
        "host" | "none" => NetPlan { mode: want.into(), network: None, own_network: false },
        c if c.starts_with("container:") => {
            let other = state::resolve(&i.images.db(), &c["container:".len()..])?;
            if !o.ports.is_empty() || o.publish_all {
                return conflict("port publishing");
            }
            if o.hostname.is_some() {
                return conflict("hostname");
            }
            if !o.dns.is_empty() || !o.dns_search.is_empty() || !o.dns_options.is_empty() {
                return conflict("dns");
            }
            if !o.extra_hosts.is_empty() {
                return conflict("custom host-to-IP mapping");
            }
            if o.mac_address.is_some() {
                return conflict("mac-address");
            }
            NetPlan { mode: format!("container:{}", other.id), network: None, own_network: false }
        }
        name => {
            let n = net_store::resolve(&i.images.db(), name)?;
            NetPlan { mode: n.name.clone(), network: Some(n), own_network: true }
        }
    };
    user_only(&plan)?;
    if let (Some(ip), Some(n)) = (o.ipv4, &plan.network)
        && !n.subnet.contains(&ip)
    {
        return Err(EngineError::InvalidArgument(format!("invalid address {ip}: it does not belong to network {} ({})", n.name, n.subnet)));
    }
    Ok(plan)
}

/// `net_admin`, `CAP_NET_ADMIN` -> `CAP_NET_ADMIN`; `all` -> `ALL`; unknown names are an error.
fn normalize_cap(c: &str) -> Result<String> {
    let up = c.trim().to_ascii_uppercase();
    if up == "ALL" {
        return Ok(up);
    }
    let full = if up.starts_with("CAP_") { up } else { format!("CAP_{up}") };
    if crate::runtime::bundle::KNOWN_CAPS.iter().any(|k| format!("CAP_{k}") == full) {
        Ok(full)
    } else {
        Err(EngineError::InvalidArgument(format!("unknown capability: \"{c}\"")))
    }
}

fn validate_tmpfs(t: &str) -> Result<String> {
    let path = t.split_once(':').map(|(p, _)| p).unwrap_or(t);
    if !path.starts_with('/') || path == "/" {
        return Err(EngineError::InvalidArgument(format!("invalid tmpfs mount {t:?}: the path must be absolute and not /")));
    }
    Ok(t.to_string())
}

/// The `-v` specs and the image's `VOLUME`s as (bind spec, host path) pairs and volume
/// mounts, checked without touching anything: two mounts on one path are an error, and an
/// image volume that a `-v` already covers is not created. Anonymous names are picked here.
#[allow(clippy::type_complexity)]
fn plan_mounts(
    specs: &[String],
    image_volumes: Option<&serde_json::Map<String, serde_json::Value>>,
) -> Result<(Vec<(String, String)>, Vec<volumes::VolumeMount>)> {
    use crate::volume::{MountSpec, parse_spec};
    use volumes::{VolumeMount, anonymous_name};
    let mut binds = Vec::new();
    let mut vols = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    let norm = |d: &str| crate::ctrfs::clean(d).display().to_string();
    for s in specs {
        let m = parse_spec(s)?;
        let dest = norm(m.destination());
        if seen.contains(&dest) {
            return Err(EngineError::InvalidArgument(format!("Duplicate mount point: {dest}")));
        }
        seen.push(dest.clone());
        match m {
            MountSpec::Bind { host, .. } => binds.push((s.clone(), host)),
            MountSpec::Named { name, rw, .. } => vols.push(VolumeMount { name, destination: dest, rw, anonymous: false }),
            MountSpec::Anonymous { .. } => vols.push(VolumeMount { name: anonymous_name(), destination: dest, rw: true, anonymous: true }),
        }
    }
    let mut from_image: Vec<String> = image_volumes.map(|m| m.keys().map(|k| norm(k)).collect()).unwrap_or_default();
    from_image.sort();
    from_image.dedup();
    for dest in from_image {
        if dest == "/" || seen.contains(&dest) {
            continue;
        }
        vols.push(VolumeMount { name: anonymous_name(), destination: dest, rw: true, anonymous: true });
    }
    Ok((binds, vols))
}

/// Create the container's volumes (named ones on first use) and record that it uses them.
fn attach_volumes(i: &Inner, rec: &ContainerRecord) -> Result<()> {
    let none = BTreeMap::new();
    let mut db = i.images.db();
    for v in &rec.config.volumes {
        volumes::create(&mut db, &i.root, &v.name, v.anonymous, &none)?;
    }
    volumes::link(&mut db, &rec.id, &rec.config.volumes)
}

/// The record, with a running state corrected if its monitor died without recording.
pub(crate) fn lookup(i: &Inner, id: &str) -> Result<ContainerRecord> {
    let rec = state::resolve(&i.images.db(), id)?;
    refresh(i, rec)
}

fn refresh(i: &Inner, rec: ContainerRecord) -> Result<ContainerRecord> {
    let active = |r: &ContainerRecord| matches!(r.state, State::Running | State::Paused | State::Restarting);
    if !active(&rec) || alive(rec.monitor_pid, rec.monitor_start) || alive(rec.pid, rec.pid_start) {
        return Ok(rec);
    }
    // The monitor is gone without recording an exit (killed, or the host rebooted).
    let mut db = i.images.db();
    let Some(fresh) = state::get(&db, &rec.id)? else { return Ok(rec) };
    if !active(&fresh) || alive(fresh.monitor_pid, fresh.monitor_start) {
        return Ok(fresh);
    }
    state::set_exited(&mut db, &fresh.id, 255, false, "the container's monitor exited unexpectedly")?;
    state::clear_monitor(&mut db, &fresh.id)?;
    // Nobody else will tear its network down (done once: the sandbox row goes with it).
    crate::network::stop(&mut db, &i.root, &fresh.id);
    state::get(&db, &fresh.id)?.ok_or_else(|| EngineError::ContainerNotFound(fresh.id.clone()))
}

pub(crate) fn is_running(rec: &ContainerRecord) -> bool {
    matches!(rec.state, State::Running | State::Paused) && alive(rec.pid, rec.pid_start)
}

/// Spawn the monitor for `id`; returns its status pipe once the container runs.
pub(crate) fn start(i: &Inner, exe: &Path, id: &str, wait_attach: bool) -> Result<Option<monitor::Started>> {
    let rec = lookup(i, id)?;
    if is_running(&rec) {
        return Ok(None);
    }
    // A monitor still finishing the previous run (cleanup after exit) is waited for.
    let t0 = Instant::now();
    while rec.monitor_pid > 0 && alive(rec.monitor_pid, rec.monitor_start) {
        if t0.elapsed() > Duration::from_secs(10) {
            return Err(EngineError::Conflict(format!("container {} is being started or stopped", rec.id)));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // Not while `cp` has the stopped container's overlay mounted (see local/ctrfs.rs).
    let _fs = super::ctrfs::fs_lock(&Paths::new(&i.root, &rec.id))?;
    state::set_manual_stop(&mut i.images.db(), &rec.id, false)?;
    // A monitor killed mid-run leaves the runtime's state, the cgroup and the mount behind.
    monitor::delete_runtime_state(&i.root, &rec);
    let _ = crate::runtime::rootfs::unmount_rootfs(&Paths::new(&i.root, &rec.id));
    crate::network::stop(&mut i.images.db(), &i.root, &rec.id);
    match monitor::spawn(exe, &i.root, &rec.id, wait_attach) {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            Err(EngineError::StartFailed { code: e.code, message: format!("failed to start container {}: {}", &rec.id[..12], e.message) })
        }
    }
}

pub(crate) fn parse_signal(s: &str) -> Result<Signal> {
    let bad = || EngineError::InvalidArgument(format!("Invalid signal: {s}"));
    if let Ok(n) = s.parse::<i32>() {
        return Signal::try_from(n).map_err(|_| bad());
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") { up } else { format!("SIG{up}") };
    name.parse::<Signal>().map_err(|_| bad())
}

fn signal(i: &Inner, rec: &ContainerRecord, sig: Signal) -> Result<()> {
    if !is_running(rec) {
        return Err(EngineError::Conflict(format!("Container {} is not running", rec.id)));
    }
    if !rec.runtime.is_empty() {
        return monitor::external::Runtime::new(&rec.runtime, &i.root)
            .kill(&rec.id, sig as i32)
            .map_err(|e| EngineError::Runtime { container: rec.id[..12].to_string(), source: e.into() });
    }
    nix::sys::signal::kill(Pid::from_raw(rec.pid), sig)
        .map_err(|e| EngineError::io_ctx(format!("signalling container {}", &rec.id[..12]), e.into()))
}

pub(crate) fn kill(i: &Inner, id: &str, sig: &str) -> Result<()> {
    let sig = parse_signal(sig)?;
    let rec = lookup(i, id)?;
    signal(i, &rec, sig)?;
    state::event(&mut i.images.db(), &rec, "kill", &[("signal", (sig as i32).to_string())]);
    if sig == Signal::SIGKILL {
        thaw(i, &rec);
    }
    Ok(())
}

/// Wait until the container is no longer running (or gone); false on timeout.
fn wait_stopped(i: &Inner, id: &str, timeout: Duration) -> Result<bool> {
    let t0 = Instant::now();
    loop {
        let cur = state::get(&i.images.db(), id)?;
        match cur {
            None => return Ok(true),
            Some(r) => {
                let r = refresh(i, r)?;
                if !matches!(r.state, State::Running | State::Paused | State::Restarting) {
                    return Ok(true);
                }
            }
        }
        if t0.elapsed() >= timeout {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn stop(i: &Inner, id: &str, timeout: Option<u32>) -> Result<()> {
    let rec = lookup(i, id)?;
    state::set_manual_stop(&mut i.images.db(), &rec.id, true)?;
    if !is_running(&rec) {
        if rec.state == State::Restarting {
            wait_stopped(i, &rec.id, Duration::from_secs(30))?;
        }
        return Ok(());
    }
    thaw(i, &rec);
    let sig = rec.config.stop_signal.as_deref().map(parse_signal).transpose()?.unwrap_or(Signal::SIGTERM);
    let t = Duration::from_secs(timeout.unwrap_or(10) as u64);
    if signal(i, &rec, sig).is_ok() && wait_stopped(i, &rec.id, t)? {
        state::event(&mut i.images.db(), &rec, "stop", &[]);
        return Ok(());
    }
    let _ = signal(i, &rec, Signal::SIGKILL);
    if !wait_stopped(i, &rec.id, Duration::from_secs(30))? {
        return Err(EngineError::Other(format!("container {} did not stop after SIGKILL", &rec.id[..12])));
    }
    state::event(&mut i.images.db(), &rec, "stop", &[]);
    Ok(())
}

pub(crate) fn remove(i: &Inner, id: &str, force: bool, volumes: bool) -> Result<()> {
    let rec = lookup(i, id)?;
    if is_running(&rec) || rec.state == State::Restarting {
        if !force {
            return Err(EngineError::Conflict(format!(
                "cannot remove container \"/{}\": container is running: stop the container before removing or force remove",
                rec.name
            )));
        }
        state::set_manual_stop(&mut i.images.db(), &rec.id, true)?;
        let _ = signal(i, &rec, Signal::SIGKILL);
        thaw(i, &rec);
        wait_stopped(i, &rec.id, Duration::from_secs(30))?;
    }
    // The monitor cleans up after itself; finish what a dead monitor left.
    let t0 = Instant::now();
    while alive(rec.monitor_pid, rec.monitor_start) && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    monitor::delete_runtime_state(&i.root, &rec);
    crate::network::stop(&mut i.images.db(), &i.root, &rec.id);
    let paths = Paths::new(&i.root, &rec.id);
    monitor::remove_container_files(&paths)?;
    let anon = if volumes { self::volumes::anonymous_of(&i.images.db(), &rec.id)? } else { vec![] };
    state::delete(&mut i.images.db(), &rec.id)?;
    self::volumes::remove_unused(&mut i.images.db(), &i.root, &anon);
    state::event(&mut i.images.db(), &rec, "destroy", &[]);
    Ok(())
}

/// Freeze or thaw all processes of a running container (cgroup freezer, via libcontainer,
/// which does not fork for this).
pub(crate) fn pause(i: &Inner, id: &str, pause: bool) -> Result<()> {
    let rec = lookup(i, id)?;
    if !is_running(&rec) {
        return Err(EngineError::Conflict(format!("Container {} is not running", rec.id)));
    }
    match (pause, rec.state) {
        (true, State::Paused) => return Err(EngineError::Conflict(format!("Container {} is already paused", rec.id))),
        (false, State::Running) => return Err(EngineError::Conflict(format!("Container {} is not paused", rec.id))),
        _ => {}
    }
    if rec.runtime.is_empty() {
        let refused =
            |e: libcontainer::error::LibcontainerError| EngineError::Runtime { container: rec.id[..12].to_string(), source: e.into() };
        let mut c = libcontainer::container::Container::load(monitor::runtime_root(&i.root).join(&rec.id)).map_err(refused)?;
        let r = if pause { c.pause() } else { c.resume() };
        r.map_err(refused)?;
    } else {
        monitor::external::Runtime::new(&rec.runtime, &i.root)
            .pause(&rec.id, pause)
            .map_err(|e| EngineError::Runtime { container: rec.id[..12].to_string(), source: e.into() })?;
    }
    state::set_paused(&mut i.images.db(), &rec.id, pause)?;
    state::event(&mut i.images.db(), &rec, if pause { "pause" } else { "unpause" }, &[]);
    Ok(())
}

/// Thaw a paused container so signals reach it (stop, kill and rm -f do this first).
fn thaw(i: &Inner, rec: &ContainerRecord) {
    if rec.state == State::Paused {
        let _ = pause(i, &rec.id, false);
    }
}

pub(crate) fn rename(i: &Inner, id: &str, name: &str) -> Result<()> {
    let name = name.trim_start_matches('/');
    if !valid_name(name) {
        return Err(EngineError::InvalidArgument(format!("Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")));
    }
    let rec = lookup(i, id)?;
    if rec.name == name {
        return Err(EngineError::Conflict(format!("Renaming a container with the same name as its current name: {name}")));
    }
    state::rename(&mut i.images.db(), &rec.id, name)?;
    let old = rec.name.clone();
    let mut rec = rec;
    rec.name = name.to_string();
    state::event(&mut i.images.db(), &rec, "rename", &[("oldName", format!("/{old}"))]);
    Ok(())
}

pub(crate) fn wait(i: &Inner, id: &str) -> Result<i64> {
    let rec = lookup(i, id)?;
    loop {
        let cur = state::get(&i.images.db(), &rec.id)?;
        match cur {
            None => return Err(EngineError::ContainerNotFound(id.to_string())),
            Some(r) => {
                let r = refresh(i, r)?;
                if matches!(r.state, State::Exited | State::Dead) && !alive(r.monitor_pid, r.monitor_start) {
                    return Ok(r.exit_code as i64);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn secs(nanos: i64) -> i64 {
    nanos / 1_000_000_000
}

fn rfc3339(nanos: i64) -> String {
    if nanos <= 0 {
        return "0001-01-01T00:00:00Z".into();
    }
    chrono::DateTime::from_timestamp(secs(nanos), (nanos % 1_000_000_000) as u32)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
        .unwrap_or_default()
}

/// docker's Status column.
pub(crate) fn status_text(rec: &ContainerRecord, now: i64) -> String {
    match rec.state {
        State::Created => "Created".into(),
        State::Running => format!("Up {}", human_duration(secs(now - rec.started_at))),
        State::Paused => format!("Up {} (Paused)", human_duration(secs(now - rec.started_at))),
        State::Restarting => format!("Restarting ({}) {} ago", rec.exit_code, human_duration(secs(now - rec.finished_at))),
        State::Exited if rec.finished_at == 0 => format!("Exited ({})", rec.exit_code),
        State::Exited => format!("Exited ({}) {} ago", rec.exit_code, human_duration(secs(now - rec.finished_at))),
        State::Dead => "Dead".into(),
    }
}

/// docker's `Ports` of a `ps` row: while running, the published ports and the exposed
/// ones that are not published.
fn ports_of(r: &ContainerRecord, sb: Option<&crate::network::Sandbox>) -> Vec<ContainerPort> {
    if !matches!(r.state, State::Running | State::Paused) {
        return vec![];
    }
    let published = sb.map(|s| s.ports.as_slice()).unwrap_or_default();
    let mut out: Vec<ContainerPort> = published
        .iter()
        .map(|p| ContainerPort {
            ip: p.host_ip_text(),
            private_port: p.container_port,
            public_port: p.host_port,
            protocol: p.protocol.to_string(),
        })
        .collect();
    for e in &r.config.exposed {
        for port in e.ports.iter() {
            if !published.iter().any(|p| p.container_port == port && p.protocol == e.protocol) {
                out.push(ContainerPort { ip: String::new(), private_port: port, public_port: 0, protocol: e.protocol.to_string() });
            }
        }
    }
    out
}

pub(crate) fn list(i: &Inner, o: &ContainerListOptions) -> Result<Vec<ContainerSummary>> {
    let recs = state::list(&i.images.db())?;
    let sandboxes: std::collections::HashMap<String, crate::network::Sandbox> = net_store::sandboxes(&i.images.db())?
        .into_iter()
        .filter_map(|r| Some((r.container_id, serde_json::from_str(&r.config).ok()?)))
        .collect();
    let now = now_nanos();
    let mut out = Vec::new();
    for r in recs {
        let r = refresh(i, r)?;
        if !o.all && !matches!(r.state, State::Running | State::Paused) {
            continue;
        }
        out.push(ContainerSummary {
            id: r.id.clone(),
            name: r.name.clone(),
            image: r.image_name.clone(),
            image_id: r.image_id.clone(),
            command: r.config.args().join(" "),
            created: secs(r.created),
            state: r.state.as_str().into(),
            status: status_text(&r, now),
            exit_code: r.exit_code as i64,
            labels: r.config.labels.clone(),
            ports: ports_of(&r, sandboxes.get(&r.id)),
        });
    }
    Ok(out)
}

pub(crate) fn inspect(i: &Inner, id: &str) -> Result<ContainerInspect> {
    let r = lookup(i, id)?;
    let args = r.config.args();
    let running = matches!(r.state, State::Running | State::Paused);
    Ok(ContainerInspect {
        id: r.id.clone(),
        name: format!("/{}", r.name),
        created: rfc3339(r.created),
        path: args.first().cloned().unwrap_or_default(),
        args: args.iter().skip(1).cloned().collect(),
        state: ContainerState {
            status: r.state.as_str().into(),
            running,
            paused: r.state == State::Paused,
            restarting: r.state == State::Restarting,
            oom_killed: r.oom_killed,
            dead: r.state == State::Dead,
            pid: if running { r.pid as i64 } else { 0 },
            exit_code: r.exit_code as i64,
            error: r.error.clone(),
            started_at: rfc3339(r.started_at),
            finished_at: rfc3339(r.finished_at),
        },
        image: r.image_id.clone(),
        restart_count: r.restart_count,
        config: ContainerInspectConfig {
            hostname: r.config.hostname.clone(),
            user: r.config.user.clone(),
            tty: r.config.tty,
            open_stdin: r.config.open_stdin,
            env: r.config.env.clone(),
            cmd: r.config.cmd.clone(),
            image: r.image_name.clone(),
            working_dir: r.config.workdir.clone(),
            entrypoint: r.config.entrypoint.clone(),
            labels: r.config.labels.clone(),
            domainname: String::new(),
            attach_stdin: r.config.open_stdin,
            attach_stdout: true,
            attach_stderr: true,
            stdin_once: false,
        },
        host_config: HostConfig {
            runtime: if r.runtime.is_empty() { DEFAULT_RUNTIME.into() } else { r.runtime.clone() },
            ..host_config(&r.config)
        },
        mounts: mounts(&i.root, &r.config),
        network_settings: network_settings(i, &r, running)?,
        log_path: Paths::new(&i.root, &r.id).log(&r.id).display().to_string(),
        driver: "overlay2".into(),
        platform: "linux".into(),
    })
}

fn network_mode(c: &RunConfig) -> &str {
    match c.network.as_str() {
        "default" => "bridge",
        n => n,
    }
}

/// `-p` as docker's `HostConfig.PortBindings` keeps it.
fn port_bindings(c: &RunConfig) -> BTreeMap<String, Option<Vec<PortBinding>>> {
    let mut out: BTreeMap<String, Option<Vec<PortBinding>>> = BTreeMap::new();
    for p in &c.ports {
        for (k, cport) in p.container_ports.iter().enumerate() {
            let host_port = match p.host_ports {
                Some(h) if h.len() == p.container_ports.len() => (h.start as usize + k).to_string(),
                Some(h) => h.to_string(),
                None => String::new(),
            };
            let b = PortBinding { host_ip: p.host_ip.map(|i| i.to_string()).unwrap_or_default(), host_port };
            out.entry(format!("{cport}/{}", p.protocol)).or_insert_with(|| Some(vec![])).get_or_insert_with(Vec::new).push(b);
        }
    }
    out
}

fn host_config(c: &RunConfig) -> HostConfig {
    HostConfig {
        memory: c.memory.unwrap_or(0),
        memory_swap: c.memory_swap.unwrap_or(0),
        nano_cpus: c.nano_cpus.unwrap_or(0),
        cpu_shares: c.cpu_shares.unwrap_or(0) as i64,
        pids_limit: c.pids_limit.filter(|&p| p > 0),
        privileged: c.privileged,
        network_mode: network_mode(c).into(),
        restart_policy: RestartPolicy { name: c.restart.name().into(), maximum_retry_count: c.restart.max_retries().into() },
        auto_remove: c.auto_remove,
        readonly_rootfs: c.read_only,
        // Docker writes null, not [], for an empty list.
        cap_add: (!c.cap_add.is_empty()).then(|| c.cap_add.clone()),
        cap_drop: (!c.cap_drop.is_empty()).then(|| c.cap_drop.clone()),
        port_bindings: port_bindings(c),
        publish_all_ports: c.publish_all,
        dns: c.dns.iter().map(|d| d.to_string()).collect(),
        dns_options: c.dns_options.clone(),
        dns_search: c.dns_search.clone(),
        extra_hosts: c.extra_hosts.iter().map(|h| h.to_string()).collect(),
        binds: {
            // docker lists binds and named volumes here, not anonymous ones.
            let named = c
                .volumes
                .iter()
                .filter(|v| !v.anonymous)
                .map(|v| if v.rw { format!("{}:{}", v.name, v.destination) } else { format!("{}:{}:ro", v.name, v.destination) });
            let all: Vec<String> = c.binds.iter().cloned().chain(named).collect();
            (!all.is_empty()).then_some(all)
        },
        runtime: String::new(),
    }
}

/// `Mounts` of inspect: binds, then volumes, as docker reports them.
fn mounts(root: &Path, c: &RunConfig) -> Vec<MountPoint> {
    let mut out = Vec::new();
    for b in &c.binds {
        if let Ok(crate::volume::MountSpec::Bind { host, destination, rw }) = crate::volume::parse_spec(b) {
            out.push(MountPoint {
                kind: "bind".into(),
                source: host,
                destination,
                mode: if rw { String::new() } else { "ro".into() },
                rw,
                propagation: "rprivate".into(),
                ..Default::default()
            });
        }
    }
    for v in &c.volumes {
        out.push(MountPoint {
            kind: "volume".into(),
            name: v.name.clone(),
            source: volumes::data_dir(root, &v.name).display().to_string(),
            destination: v.destination.clone(),
            driver: "local".into(),
            mode: match (v.rw, v.anonymous) {
                (false, _) => "ro".into(),
                (true, false) => "z".into(),
                (true, true) => String::new(),
            },
            rw: v.rw,
            propagation: String::new(),
        });
    }
    out
}

/// `NetworkSettings`: every connected network, with its address while the container runs.
fn network_settings(i: &Inner, r: &ContainerRecord, running: bool) -> Result<NetworkSettings> {
    use crate::network::Mode;
    let db = i.images.db();
    let sb = if running { crate::network::sandbox(&db, &r.id)? } else { None };
    let mut out = NetworkSettings {
        sandbox_key: match (&sb, running, crate::network::mode(&r.config.network)) {
            (Some(s), _, _) => s.netns.display().to_string(),
            (None, true, Mode::Container(_) | Mode::None) => format!("/proc/{}/ns/net", r.pid),
            _ => String::new(),
        },
        ..Default::default()
    };
    match crate::network::mode(&r.config.network) {
        Mode::Host | Mode::None => {
            out.networks.insert(r.config.network.clone(), EndpointSettings::default());
        }
        Mode::Container(_) => {}
        Mode::Bridge => {
            for c in net_store::connections(&db, &r.id)? {
                let att = sb.as_ref().and_then(|s| s.attachments.iter().find(|a| a.network.id == c.network.id));
                let mut aliases = c.aliases.clone();
                if !c.network.builtin {
                    aliases.push(r.id[..12].to_string());
                }
                let e = EndpointSettings {
                    aliases: if c.network.builtin { vec![] } else { aliases },
                    network_id: c.network.id.clone(),
                    endpoint_id: att.map(|a| a.endpoint_id.clone()).unwrap_or_default(),
                    gateway: att.map(|a| a.network.gateway.to_string()).unwrap_or_default(),
                    ip_address: att.map(|a| a.ip.to_string()).unwrap_or_default(),
                    ip_prefix_len: att.map(|a| i64::from(a.network.subnet.prefix_len())).unwrap_or(0),
                    mac_address: att.map(|a| a.mac.clone()).unwrap_or_default(),
                };
                if out.ip_address.is_empty() && att.is_some() {
                    out.ip_address = e.ip_address.clone();
                    out.gateway = e.gateway.clone();
                    out.mac_address = e.mac_address.clone();
                }
                out.networks.insert(c.network.name.clone(), e);
            }
            if running {
                for p in sb.as_ref().map(|s| s.ports.as_slice()).unwrap_or_default() {
                    out.ports
                        .entry(format!("{}/{}", p.container_port, p.protocol))
                        .or_insert_with(|| Some(vec![]))
                        .get_or_insert_with(Vec::new)
                        .push(PortBinding { host_ip: p.host_ip_text(), host_port: p.host_port.to_string() });
                }
                for e in &r.config.exposed {
                    for port in e.ports.iter() {
                        out.ports.entry(format!("{port}/{}", e.protocol)).or_insert(None);
                    }
                }
            }
        }
    }
    Ok(out)
}

/// Path of the json-file log.
pub(crate) fn log_path(i: &Inner, id: &str) -> Result<(ContainerRecord, PathBuf)> {
    let rec = lookup(i, id)?;
    let p = Paths::new(&i.root, &rec.id).log(&rec.id);
    Ok((rec, p))
}

/// Read log entries from `r` (complete lines only); keeps a partial last line for later.
pub fn read_entries(r: &mut BufReader<std::fs::File>, out: &mut Vec<LogLine>) {
    let mut line = String::new();
    loop {
        line.clear();
        match r.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if !line.ends_with('\n') {
                    let _ = r.seek(SeekFrom::Current(-(n as i64)));
                    return;
                }
                if let Ok(e) = serde_json::from_str::<Entry>(&line) {
                    out.push(LogLine { stream: e.stream, time: e.time, line: e.log });
                }
            }
        }
    }
}

/// Follow a log: send entries to `tx` until the container stops (then drain) or the receiver goes.
pub(crate) fn follow_logs(
    i: &Inner,
    rec: &ContainerRecord,
    path: &Path,
    opts: &LogOptions,
    tx: tokio::sync::mpsc::Sender<Result<LogLine>>,
) {
    let Ok(f) = std::fs::File::open(path) else {
        return;
    };
    let mut r = BufReader::new(f);
    let mut first = Vec::new();
    read_entries(&mut r, &mut first);
    if let Some(n) = opts.tail {
        let skip = first.len().saturating_sub(n);
        first.drain(..skip);
    }
    for l in first {
        if tx.blocking_send(Ok(l)).is_err() {
            return;
        }
    }
    if !opts.follow {
        return;
    }
    loop {
        // The reader went away (a closed logs tab, a quitting dashboard): stop now, not at
        // the next line. A silent container may print nothing for ever, and the runtime's
        // shutdown waits for this blocking thread to return.
        if tx.is_closed() {
            return;
        }
        let cur = state::get(&i.images.db(), &rec.id);
        let done = match cur {
            Ok(Some(r)) => refresh(i, r).map(|r| !matches!(r.state, State::Running | State::Paused)).unwrap_or(true),
            _ => true,
        };
        let mut v = Vec::new();
        read_entries(&mut r, &mut v);
        for l in v {
            if tx.blocking_send(Ok(l)).is_err() {
                return;
            }
        }
        if done {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

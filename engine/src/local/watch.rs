//! Watching containers on the embedded engine: the stats stream (one loop and one
//! [`Sampler`] for every container it shows, never a task per container), `top` from the
//! container's cgroup, the host overview for `info`, and `system df`.
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use futures_util::stream::BoxStream;

use crate::api::*;
use crate::local::{Inner, LocalEngine, containers};
use crate::runtime::bundle::Paths;
use crate::stats::sampler::{Sampler, Target, host_memory};
use crate::stats::{CgroupPaths, top as ptop};
use crate::store::containers::{self as records, ContainerRecord, State};
use crate::store::events::EventRecord;

const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// Whether /sys/fs/cgroup is the unified (v2) hierarchy; decided once per process.
pub fn cgroup_v2() -> bool {
    static V2: OnceLock<bool> = OnceLock::new();
    *V2.get_or_init(|| {
        nix::sys::statfs::statfs(CGROUP_ROOT).map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC).unwrap_or(false)
    })
}

/// Where the container's cgroup is. The bundle asks libcgroups for `berth/<id>`; if that
/// directory is missing (another runtime, a nested host), `/proc/<pid>/cgroup` decides.
pub fn cgroup_of(id: &str, pid: i32) -> CgroupPaths {
    let v2 = cgroup_v2();
    let cg = CgroupPaths::under(Path::new(CGROUP_ROOT), &format!("berth/{id}"), v2);
    if cg.exists() || pid <= 0 {
        return cg;
    }
    from_proc(pid, v2).unwrap_or(cg)
}

/// The process's cgroup from `/proc/<pid>/cgroup` (procfs): the unified hierarchy's on v2,
/// the `pids` controller's on v1.
fn from_proc(pid: i32, v2: bool) -> Option<CgroupPaths> {
    let groups = procfs::process::Process::new(pid).ok()?.cgroups().ok()?;
    let rel = groups.into_iter().find_map(|g| {
        let hit = if v2 { g.controllers.is_empty() } else { g.controllers.iter().any(|c| c == "pids") };
        hit.then_some(g.pathname)
    })?;
    Some(CgroupPaths::under(Path::new(CGROUP_ROOT), &rel, v2))
}

fn running(r: &ContainerRecord) -> bool {
    matches!(r.state, State::Running | State::Paused) && r.pid > 0
}

/// The targets of one sampling round: running containers, restricted to `only` if given.
fn targets(i: &Inner, only: &Option<HashSet<String>>) -> Result<Vec<Target>> {
    let recs = records::list(&i.images.db())?;
    Ok(recs
        .into_iter()
        .filter(|r| running(r) && only.as_ref().is_none_or(|s| s.contains(&r.id)))
        .map(|r| Target { cgroup: cgroup_of(&r.id, r.pid), id: r.id, name: r.name, pid: r.pid })
        .collect())
}

/// The sampler's targets right now: every running container (for benchmarks and tools
/// that drive a [`Sampler`] themselves).
pub fn running_targets(engine: &LocalEngine) -> Result<Vec<Target>> {
    targets(&engine.inner, &None)
}

struct Loop {
    inner: std::sync::Arc<Inner>,
    ids: Vec<String>,
    only: Option<Option<HashSet<String>>>,
    sampler: Option<Sampler>,
    interval: Duration,
    first: bool,
}

/// The stats stream: the first batch at once, then one per `interval`.
pub(crate) fn stats(engine: &LocalEngine, ids: Vec<String>, interval: Duration) -> BoxStream<'static, Result<Vec<StatsSample>>> {
    let st = Loop { inner: engine.inner.clone(), ids, only: None, sampler: Some(Sampler::new()), interval, first: true };
    Box::pin(futures_util::stream::unfold(Some(st), |st| async move {
        let mut st = st?;
        if !st.first {
            tokio::time::sleep(st.interval).await;
        }
        st.first = false;
        let inner = st.inner.clone();
        let only = st.only.take();
        let ids = st.ids.clone();
        let mut sampler = st.sampler.take().unwrap_or_default();
        let r = tokio::task::spawn_blocking(move || {
            let only = match only {
                Some(o) => o,
                None if ids.is_empty() => None,
                None => {
                    let mut set = HashSet::new();
                    for id in &ids {
                        set.insert(containers::lookup(&inner, id)?.id);
                    }
                    Some(set)
                }
            };
            let t = targets(&inner, &only)?;
            Ok::<_, EngineError>((sampler.sample(&t), sampler, only))
        })
        .await;
        match r {
            Ok(Ok((batch, sampler, only))) => {
                st.sampler = Some(sampler);
                st.only = Some(only);
                Some((Ok(batch), Some(st)))
            }
            Ok(Err(e)) => Some((Err(e), None)),
            Err(source) => Some((Err(EngineError::Task { what: "the stats task".into(), source }), None)),
        }
    }))
}

/// `top`: the processes of the container's cgroup (and its children), host PIDs.
pub(crate) fn top(i: &Inner, id: &str, ps_args: &[String]) -> Result<TopResult> {
    let rec = containers::lookup(i, id)?;
    if !containers::is_running(&rec) {
        return Err(EngineError::InvalidArgument(format!("container {} is not running", rec.id)));
    }
    let cg = cgroup_of(&rec.id, rec.pid);
    let pids = cg.pids().map_err(|e| EngineError::io(cg.procs_dir(), e))?;
    if ps_args.is_empty() {
        let (titles, processes) = ptop::ps_ef(&ptop::processes(&pids));
        return Ok(TopResult { titles, processes });
    }
    let out =
        std::process::Command::new("ps").args(ps_args).env("LC_ALL", "C").output().map_err(|e| EngineError::io_ctx("running ps", e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(EngineError::InvalidArgument(format!("ps {}: {}", ps_args.join(" "), err.lines().next().unwrap_or("failed"))));
    }
    filter_ps(&String::from_utf8_lossy(&out.stdout), &pids)
}

/// docker's `parsePSOutput`: keep the rows whose PID column is one of `pids`; the last
/// column takes the rest of the line (commands have spaces).
pub fn filter_ps(text: &str, pids: &[i32]) -> Result<TopResult> {
    let mut lines = text.lines();
    let titles: Vec<String> = lines.next().unwrap_or("").split_whitespace().map(String::from).collect();
    let Some(pid_col) = titles.iter().position(|t| t == "PID") else {
        return Err(EngineError::InvalidArgument("couldn't find PID field in ps output".into()));
    };
    let set: HashSet<i32> = pids.iter().copied().collect();
    let mut processes = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split_whitespace().collect();
        if f.len() <= pid_col || !f[pid_col].parse().is_ok_and(|p: i32| set.contains(&p)) {
            continue;
        }
        let n = titles.len();
        let mut row: Vec<String> = f.iter().take(n.saturating_sub(1)).map(|s| s.to_string()).collect();
        row.push(f.get(n - 1..).map(|r| r.join(" ")).unwrap_or_default());
        processes.push(row);
    }
    Ok(TopResult { titles, processes })
}

/// `PRETTY_NAME` of /etc/os-release.
pub fn os_name(text: &str) -> String {
    text.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=").map(|v| v.trim_matches('"').to_string())).unwrap_or_else(|| "Linux".into())
}

pub(crate) fn system_info(i: &Inner) -> Result<SystemInfo> {
    let recs = records::list(&i.images.db())?;
    let mut s = SystemInfo {
        engine: "berth".into(),
        server_version: env!("CARGO_PKG_VERSION").into(),
        hostname: sysinfo::System::host_name().unwrap_or_default(),
        kernel_version: sysinfo::System::kernel_version().unwrap_or_default(),
        operating_system: os_name(&std::fs::read_to_string("/etc/os-release").unwrap_or_default()),
        architecture: std::env::consts::ARCH.into(),
        cpus: std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1),
        memory_total: host_memory(),
        cgroup_version: if cgroup_v2() { 2 } else { 1 },
        cgroup_driver: "cgroupfs".into(),
        storage_driver: "overlay2".into(),
        root_dir: i.root.display().to_string(),
        runtime: "libcontainer".into(),
        containers: recs.len() as u64,
        images: i.images.list()?.len() as u64,
        ..Default::default()
    };
    for r in &recs {
        match r.state {
            State::Running | State::Restarting => s.containers_running += 1,
            State::Paused => s.containers_paused += 1,
            _ => s.containers_stopped += 1,
        }
    }
    Ok(s)
}

/// Bytes of regular files under `dir` (symlinks not followed; hard links counted once).
pub fn dir_size(dir: &Path) -> u64 {
    fn walk(p: &Path, seen: &mut HashSet<(u64, u64)>) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(rd) = std::fs::read_dir(p) else { return 0 };
        let mut n = 0;
        for e in rd.flatten() {
            let Ok(m) = e.path().symlink_metadata() else { continue };
            if m.is_dir() {
                n += walk(&e.path(), seen);
            } else if m.is_file() && (m.nlink() == 1 || seen.insert((m.dev(), m.ino()))) {
                n += m.len();
            }
        }
        n
    }
    walk(dir, &mut HashSet::new())
}

pub(crate) fn disk_usage(i: &Inner) -> Result<DiskUsage> {
    let recs = records::list(&i.images.db())?;
    let images = i.images.list()?;
    let mut users: HashMap<&str, u64> = HashMap::new();
    for r in &recs {
        *users.entry(r.image_id.as_str()).or_default() += 1;
    }
    let mut layer_images: HashMap<String, u64> = HashMap::new();
    let mut layer_size: HashMap<String, u64> = HashMap::new();
    let mut per_image: Vec<Vec<String>> = Vec::new();
    for img in &images {
        let layers = i.images.image_layers(img)?;
        let mut ids = Vec::new();
        for l in layers {
            let k = l.diff_id.to_string();
            *layer_images.entry(k.clone()).or_default() += 1;
            layer_size.insert(k.clone(), l.size);
            ids.push(k);
        }
        per_image.push(ids);
    }
    let out_images = images
        .iter()
        .zip(&per_image)
        .map(|(img, ls)| ImageUsage {
            id: img.id.to_string(),
            repo_tags: img.tags.iter().map(|t| crate::image::reference::familiar_tagged(t)).collect(),
            created: img.created,
            size: img.size,
            shared_size: ls.iter().filter(|l| layer_images.get(*l).copied().unwrap_or(0) > 1).map(|l| layer_size[l]).sum(),
            containers: users.get(img.id.as_str()).copied().unwrap_or(0),
        })
        .collect();
    let now = records::now_nanos();
    let out_containers = recs
        .iter()
        .map(|r| ContainerUsage {
            id: r.id.clone(),
            name: r.name.clone(),
            image: r.image_name.clone(),
            size_rw: dir_size(&Paths::new(&i.root, &r.id).upper()),
            state: r.state.as_str().into(),
            status: containers::status_text(r, now),
            created: r.created / 1_000_000_000,
        })
        .collect();
    Ok(DiskUsage { images: out_images, containers: out_containers, layers_size: layer_size.values().sum() })
}

/// The filters the embedded engine's events understand.
const EVENT_FILTERS: [&str; 3] = ["event", "container", "type"];

fn event_passes(e: &EventRecord, filters: &std::collections::BTreeMap<String, Vec<String>>) -> bool {
    filters.iter().all(|(k, vs)| {
        vs.iter().any(|v| match k.as_str() {
            "event" => e.action == *v,
            "type" => e.kind == *v,
            _ => e.actor.starts_with(v.as_str()) || e.attributes.get("name").is_some_and(|n| n == v.trim_start_matches('/')),
        })
    })
}

/// `events`: every berth process writes events into the shared database; this polls it
/// every 100 ms (a query on an indexed sequence, cheap) rather than needing a daemon to
/// broadcast them.
pub(crate) fn events(engine: &LocalEngine, opts: EventOptions) -> BoxStream<'static, Result<EngineEvent>> {
    use futures_util::StreamExt;
    if let Some(k) = opts.filters.keys().find(|k| !EVENT_FILTERS.contains(&k.as_str())) {
        let e = EngineError::InvalidArgument(format!("invalid filter {k:?} (the embedded engine knows event=, container=, type=)"));
        return futures_util::stream::once(async move { Err(e) }).boxed();
    }
    struct St {
        engine: LocalEngine,
        opts: EventOptions,
        after: Option<i64>,
        queue: std::collections::VecDeque<EventRecord>,
        done: bool,
    }
    // Without --since: what happens from this call on (not from the first poll).
    let mut opts = opts;
    opts.since = Some(opts.since.unwrap_or_else(records::now_nanos));
    let st = St { engine: engine.clone(), opts, after: None, queue: Default::default(), done: false };
    futures_util::stream::unfold(st, |mut st| async move {
        loop {
            if st.done {
                return None;
            }
            if let Some(e) = st.queue.pop_front() {
                if st.opts.until.is_some_and(|u| e.time > u) {
                    return None;
                }
                if !event_passes(&e, &st.opts.filters) {
                    continue;
                }
                let ev = EngineEvent { kind: e.kind, action: e.action, actor: e.actor, attributes: e.attributes, time: e.time };
                return Some((Ok(ev), st));
            }
            let now = records::now_nanos();
            if st.after.is_some() {
                if st.opts.until.is_some_and(|u| now > u) {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let after = st.after.unwrap_or(0);
            match st.engine.events_after(after, st.opts.since.unwrap_or(0)).await {
                Ok(list) => {
                    st.after = Some(list.last().map(|e| e.seq).unwrap_or(after));
                    st.queue.extend(list);
                }
                Err(e) => {
                    st.done = true;
                    return Some((Err(e), st));
                }
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_rows_are_filtered_by_pid() {
        let text =
            "  PID TTY          TIME CMD\n    1 ?        00:00:01 init\n  42 pts/0    00:00:00 sleep 100\n  43 ?  00:00:00 sh -c x y\n";
        let t = filter_ps(text, &[42, 43]).unwrap();
        assert_eq!(t.titles, ["PID", "TTY", "TIME", "CMD"]);
        assert_eq!(t.processes, vec![vec!["42", "pts/0", "00:00:00", "sleep 100"], vec!["43", "?", "00:00:00", "sh -c x y"]]);
        assert!(filter_ps("USER COMMAND\nroot init\n", &[1]).is_err());
    }

    #[test]
    fn docker_inspect_json_with_nulls_decodes() {
        // What dockerd 26 sends for a fresh container (trimmed): nulls where lists are empty.
        let v = serde_json::json!({
            "Id": "abc", "Name": "/x", "Created": "2026-01-01T00:00:00Z", "Path": "sleep", "Args": ["1"],
            "State": {"Status": "running", "Running": true, "Paused": false, "Restarting": false, "OOMKilled": false,
                      "Dead": false, "Pid": 42, "ExitCode": 0, "Error": "", "StartedAt": "", "FinishedAt": ""},
            "Image": "sha256:00", "RestartCount": 0,
            "Config": {"Hostname": "h", "User": "", "Tty": false, "OpenStdin": false, "Env": [], "Cmd": ["sleep"],
                       "Image": "busybox", "WorkingDir": "", "Entrypoint": [], "Labels": {}, "AttachStdout": true},
            "HostConfig": {"Memory": 0, "PidsLimit": null, "CapAdd": null, "Binds": null,
                           "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "NetworkMode": "bridge"},
            "Mounts": null,
            "NetworkSettings": {"Ports": null, "Networks": {"bridge": {"IPAddress": "172.17.0.2", "IPPrefixLen": 16}}},
            "LogPath": "/l", "Driver": "overlay2", "Platform": "linux"
        });
        let c: ContainerInspect = serde_json::from_value(v).unwrap();
        assert_eq!(c.host_config.pids_limit, None);
        assert!(c.mounts.is_empty() && c.network_settings.ports.is_empty());
        assert_eq!(c.network_settings.networks["bridge"].ip_prefix_len, 16);
        assert!(c.config.attach_stdout);
    }

    #[test]
    fn our_own_cgroup_is_found_from_proc() {
        let cg = from_proc(std::process::id() as i32, cgroup_v2()).expect("our own cgroup");
        assert!(cg.exists(), "{:?}", cg.procs_dir());
    }

    #[test]
    fn os_release_name() {
        assert_eq!(os_name("NAME=\"Debian\"\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n"), "Debian GNU/Linux 13 (trixie)");
        assert_eq!(os_name(""), "Linux");
    }

    #[test]
    fn dir_size_counts_files_not_links() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("d")).unwrap();
        std::fs::write(t.path().join("d/a"), vec![0u8; 1000]).unwrap();
        std::fs::hard_link(t.path().join("d/a"), t.path().join("b")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", t.path().join("l")).unwrap();
        assert_eq!(dir_size(t.path()), 1000);
    }
}

//! The OCI bundle of a container: `config.json` (written with oci-spec) built from the
//! container's [`RunConfig`] the way docker builds its spec — Docker's 14 default
//! capabilities, its default seccomp profile, masked and read-only /proc and /sys paths, a
//! fresh /dev, pid/mount/uts/ipc/net namespaces (the network one is the container's
//! namespace file when it has one), cgroup limits — and the mounts of the /etc/hostname,
//! /etc/hosts and /etc/resolv.conf files the network set-up wrote.
use std::path::{Path, PathBuf};

use oci_spec::runtime::Spec;
use serde_json::{Value, json};

use crate::error::{EngineError, IoResultExt, Result};
use crate::store::containers::{ContainerRecord, RunConfig};

/// Docker's default capability set (`CapEff` 00000000a80425fb).
pub const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Capability names in bit order (without `CAP_`).
pub const KNOWN_CAPS: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// The container's capabilities: docker's defaults (or all with --privileged), then
/// --cap-add, then --cap-drop, limited to what we hold ourselves.
pub fn effective_caps(cfg: &RunConfig) -> Vec<String> {
    let held = all_caps();
    let mut caps: Vec<String> = if cfg.privileged { held.clone() } else { DEFAULT_CAPS.iter().map(|s| s.to_string()).collect() };
    for c in &cfg.cap_add {
        if c == "ALL" {
            caps = held.clone();
        } else if !caps.contains(c) {
            caps.push(c.clone());
        }
    }
    for c in &cfg.cap_drop {
        if c == "ALL" {
            caps.clear();
        } else {
            caps.retain(|x| x != c);
        }
    }
    caps.retain(|c| held.contains(c));
    caps
}

/// Every capability we can hand out (for `--privileged`): those in our own bounding set, as
/// asking for more makes capset fail (this machine's root lacks CAP_SYS_RESOURCE).
fn all_caps() -> Vec<String> {
    let bnd = procfs::process::Process::myself().and_then(|p| p.status()).ok().and_then(|s| s.capbnd).unwrap_or(u64::MAX);
    KNOWN_CAPS.iter().enumerate().filter(|(i, _)| bnd & (1 << i) != 0).map(|(_, n)| format!("CAP_{n}")).collect()
}

const MASKED_PATHS: [&str; 12] = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

const READONLY_PATHS: [&str; 5] = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];

pub const DEFAULT_PATH: &str = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The container's files under `containers/<id>/`.
#[derive(Clone, Debug)]
pub struct Paths {
    pub dir: PathBuf,
}

impl Paths {
    pub fn new(root: &Path, id: &str) -> Self {
        Self { dir: root.join("containers").join(id) }
    }
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }
    pub fn upper(&self) -> PathBuf {
        self.dir.join("upper")
    }
    pub fn work(&self) -> PathBuf {
        self.dir.join("work")
    }
    pub fn log(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}-json.log"))
    }
}

/// A user as the image's /etc/passwd and /etc/group resolve it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    pub home: String,
}

/// Resolve docker's `-u` forms (`""`, `NAME`, `UID`, `NAME:GROUP`, `UID:GID`...) against the
/// files of a rootfs. Numeric ids need no entry; names must exist.
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<ResolvedUser> {
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
    let group = std::fs::read_to_string(rootfs.join("etc/group")).unwrap_or_default();
    let (u, g) = match user.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (user, None),
    };
    let u = if u.is_empty() { "0" } else { u };
    let pw: Vec<Vec<&str>> = passwd.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 7).collect();
    let entry = pw.iter().find(|f| f[0] == u || (u.parse::<u32>().is_ok() && f[2] == u));
    let (uid, mut gid, name, home) = match (entry, u.parse::<u32>()) {
        (Some(f), _) => (f[2].parse().unwrap_or(0), f[3].parse().unwrap_or(0), Some(f[0].to_string()), f[5].to_string()),
        (None, Ok(n)) => (n, 0, None, "/".to_string()),
        (None, Err(_)) => {
            return Err(EngineError::InvalidArgument(format!("unable to find user {u}: no matching entries in passwd file")));
        }
    };
    let gr: Vec<Vec<&str>> = group.lines().map(|l| l.split(':').collect::<Vec<_>>()).filter(|f| f.len() >= 4).collect();
    if let Some(g) = g {
        gid = match gr.iter().find(|f| f[0] == g) {
            Some(f) => f[2].parse().unwrap_or(0),
            None => g
                .parse()
                .map_err(|_| EngineError::InvalidArgument(format!("unable to find group {g}: no matching entries in group file")))?,
        };
    }
    let mut additional_gids = Vec::new();
    if g.is_none()
        && let Some(name) = &name
    {
        for f in &gr {
            if f[3].split(',').any(|m| m == name)
                && let Ok(id) = f[2].parse::<u32>()
                && id != gid
                && !additional_gids.contains(&id)
            {
                additional_gids.push(id);
            }
        }
    }
    Ok(ResolvedUser { uid, gid, additional_gids, home })
}

/// Build the spec for `rec`, whose overlay rootfs is mounted at `paths.rootfs()`.
/// A throttle rate no disk reaches: the rule only turns accounting on.
const UNREACHABLE_BPS: u64 = 1 << 50;

/// On a cgroup v1 host, the whole-disk device (major, minor) holding `dir`.
fn v1_accounting_device(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    if !Path::new("/sys/fs/cgroup/blkio").is_dir() {
        return None;
    }
    let dev = std::fs::metadata(dir).ok()?.dev();
    let (major, minor) = (libc::major(dev) as u64, libc::minor(dev) as u64);
    let sys = std::path::PathBuf::from(format!("/sys/dev/block/{major}:{minor}"));
    if !sys.exists() {
        return None; // not a block device (tmpfs, overlay): nothing to account
    }
    // Throttle rules take whole disks: a partition's parent holds its disk's numbers.
    let disk = if sys.join("partition").exists() { std::fs::read_to_string(sys.join("../dev")).ok()? } else { format!("{major}:{minor}") };
    let (ma, mi) = disk.trim().split_once(':')?;
    Some((ma.parse().ok()?, mi.parse().ok()?))
}

/// `netns`: the network namespace to join (the container's namespace file, or another
/// container's); None makes a new one (or none at all with `--network host`).
pub fn build_spec(rec: &ContainerRecord, paths: &Paths, netns: Option<&Path>) -> Result<Spec> {
    let cfg = &rec.config;
    let rootfs = paths.rootfs();
    let user = resolve_user(&rootfs, &cfg.user)?;
    let args = cfg.args();
    if args.is_empty() {
        return Err(EngineError::InvalidArgument("no command specified".into()));
    }
    let mut env: Vec<String> = Vec::new();
    if !cfg.env.iter().any(|e| e.starts_with("PATH=")) {
        env.push(DEFAULT_PATH.into());
    }
    env.push(format!("HOSTNAME={}", cfg.hostname));
    if cfg.tty {
        env.push("TERM=xterm".into());
    }
    env.extend(cfg.env.iter().cloned());
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!("HOME={}", if user.home.is_empty() { "/" } else { &user.home }));
    }
    let cwd = if cfg.workdir.is_empty() { "/".to_string() } else { cfg.workdir.clone() };
    if !cwd.starts_with('/') {
        return Err(EngineError::InvalidArgument(format!("the working directory '{cwd}' is invalid, it needs to be an absolute path")));
    }
    // docker creates a missing working directory (owned by root).
    let wd = rootfs.join(cwd.trim_start_matches('/'));
    if !wd.exists() {
        std::fs::create_dir_all(&wd).at(&wd)?;
    }
    let caps = effective_caps(cfg);
    let mut ns = vec![json!({"type": "pid"}), json!({"type": "ipc"}), json!({"type": "uts"}), json!({"type": "mount"})];
    if cfg.network != "host" {
        ns.push(match netns {
            Some(p) => json!({"type": "network", "path": p}),
            None => json!({"type": "network"}),
        });
    }
    let d = &paths.dir;
    let bind = |src: PathBuf, dst: &str| json!({"destination": dst, "type": "bind", "source": src, "options": ["rbind", "rprivate"]});
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts",
               "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]}),
        json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
               "options": ["nosuid", "noexec", "nodev", if cfg.privileged { "rw" } else { "ro" }]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=67108864"]}),
    ];
    if cfg.network != "host" {
        mounts.push(bind(d.join("hostname"), "/etc/hostname"));
    }
    mounts.push(bind(d.join("hosts"), "/etc/hosts"));
    mounts.push(bind(d.join("resolv.conf"), "/etc/resolv.conf"));
    for t in &cfg.tmpfs {
        let (path, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
        let mut o: Vec<&str> = vec!["nosuid", "nodev", "noexec"];
        o.extend(opts.split(',').filter(|x| !x.is_empty()));
        // A user's "exec" undoes the default noexec.
        if o.contains(&"exec") {
            o.retain(|x| *x != "noexec" && *x != "exec");
        }
        mounts.push(json!({"destination": path, "type": "tmpfs", "source": "tmpfs", "options": o}));
    }
    for b in &cfg.binds {
        let p: Vec<&str> = b.split(':').collect();
        let mut o = vec!["rbind", "rprivate"];
        if p.get(2) == Some(&"ro") {
            o.push("ro");
        }
        mounts.push(json!({"destination": p[1], "type": "bind", "source": p[0], "options": o}));
    }
    if !cfg.volumes.is_empty() {
        let root = paths.dir.parent().and_then(Path::parent).unwrap_or(Path::new("/"));
        for v in &cfg.volumes {
            let mut o = vec!["rbind", "rprivate"];
            if !v.rw {
                o.push("ro");
            }
            let src = crate::store::volumes::data_dir(root, &v.name);
            mounts.push(json!({"destination": v.destination, "type": "bind", "source": src, "options": o}));
        }
    }

    let mut resources = json!({ "devices": [{"allow": false, "access": "rwm"}] });
    if cfg.privileged {
        resources["devices"] = json!([{"allow": true, "access": "rwm"}]);
    }
    if let Some(m) = cfg.memory {
        let mut mem = json!({ "limit": m });
        // memory+swap: docker's default is twice the memory; only where swap is accounted.
        if swap_accounted() {
            let swap = match cfg.memory_swap {
                Some(s) => s,
                None => m * 2,
            };
            mem["swap"] = json!(swap);
        }
        resources["memory"] = mem;
    }
    let mut cpu = serde_json::Map::new();
    if let Some(n) = cfg.nano_cpus {
        cpu.insert("period".into(), json!(100_000u64));
        cpu.insert("quota".into(), json!(n / 10_000));
    }
    if let Some(s) = cfg.cpu_shares {
        cpu.insert("shares".into(), json!(s));
    }
    if !cpu.is_empty() {
        resources["cpu"] = Value::Object(cpu);
    }
    if let Some(p) = cfg.pids_limit {
        resources["pids"] = json!({ "limit": p });
    }
    if let Some((major, minor)) = v1_accounting_device(&paths.dir) {
        // cgroup v1 counts a cgroup's block I/O only on devices that carry a throttle rule
        // (blkio.throttle.io_service_bytes stays 0 otherwise, for docker too): a rule no
        // disk can reach (1 PiB/s) on the state root's disk makes BLOCK I/O real.
        let rule = json!([{ "major": major, "minor": minor, "rate": UNREACHABLE_BPS }]);
        resources["blockIO"] = json!({ "throttleReadBpsDevice": rule, "throttleWriteBpsDevice": rule });
    }

    let mut linux = json!({
        "namespaces": ns,
        "cgroupsPath": format!("berth/{}", rec.id),
        "resources": resources,
    });
    if !cfg.privileged {
        linux["maskedPaths"] = json!(MASKED_PATHS);
        linux["readonlyPaths"] = json!(READONLY_PATHS);
        linux["seccomp"] = super::seccomp::default_profile(&caps)?;
    }
    let mut process = json!({
        "terminal": cfg.tty,
        "user": { "uid": user.uid, "gid": user.gid },
        "args": args,
        "env": env,
        "cwd": cwd,
        "capabilities": { "bounding": caps, "effective": caps, "permitted": caps },
    });
    // No `noNewPrivileges: false`: libcontainer 0.7 loads the seccomp filter early (while
    // it still holds CAP_SYS_ADMIN) only when the field is absent; with `false` it loads it
    // after dropping capabilities and the kernel refuses.
    if cfg.no_new_privileges {
        process["noNewPrivileges"] = json!(true);
    }
    if !user.additional_gids.is_empty() {
        process["user"]["additionalGids"] = json!(user.additional_gids);
    }
    let spec = json!({
        "ociVersion": "1.0.2",
        "process": process,
        "root": { "path": "rootfs", "readonly": cfg.read_only },
        "hostname": if cfg.network == "host" { Value::Null } else { json!(cfg.hostname) },
        "mounts": mounts,
        "linux": linux,
    });
    serde_json::from_value(spec).map_err(|e| EngineError::Json { what: "building the runtime spec".into(), source: e })
}

fn swap_accounted() -> bool {
    Path::new("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes").exists() || Path::new("/sys/fs/cgroup/memory.swap.max").exists()
}

/// Write `config.json` into the container dir (the bundle); the /etc files it mounts are
/// written by the network set-up (`crate::network::etc`).
pub fn write_bundle(rec: &ContainerRecord, paths: &Paths, netns: Option<&Path>) -> Result<()> {
    let spec = build_spec(rec, paths, netns)?;
    let p = paths.dir.join("config.json");
    if rec.runtime.is_empty() {
        return spec.save(&p).map_err(|e| EngineError::Spec { path: p.clone(), source: e });
    }
    // An external runtime reads the seccomp arguments as the profile means them.
    let mut v = serde_json::to_value(&spec).map_err(|e| EngineError::Json { what: p.display().to_string(), source: e })?;
    super::seccomp::unswap_masked_eq(&mut v["linux"]["seccomp"]);
    std::fs::write(&p, v.to_string()).map_err(|e| EngineError::io(&p, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::containers::ContainerRecord;

    fn record(cfg: RunConfig) -> ContainerRecord {
        ContainerRecord::created("ab".repeat(32), "t".into(), String::new(), String::new(), cfg, 0)
    }

    fn spec_json(cfg: RunConfig) -> serde_json::Value {
        let t = tempfile::tempdir().unwrap();
        let paths = Paths { dir: t.path().to_path_buf() };
        std::fs::create_dir_all(paths.rootfs().join("etc")).unwrap();
        std::fs::write(paths.rootfs().join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        serde_json::to_value(build_spec(&record(cfg), &paths, None).unwrap()).unwrap()
    }

    #[test]
    fn spec_is_dockers_default() {
        let v = spec_json(RunConfig { cmd: vec!["sh".into()], hostname: "h1".into(), network: "default".into(), ..Default::default() });
        let caps: Vec<&str> = v["process"]["capabilities"]["effective"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
        let mut want = DEFAULT_CAPS.to_vec();
        want.sort();
        let mut got = caps.clone();
        got.sort();
        assert_eq!(got, want);
        let ns: Vec<&str> = v["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
        assert_eq!(ns, ["pid", "ipc", "uts", "mount", "network"]);
        assert_eq!(v["hostname"], "h1");
        assert!(v["linux"]["maskedPaths"].as_array().unwrap().iter().any(|p| p == "/proc/kcore"));
        assert!(v["linux"]["readonlyPaths"].as_array().unwrap().iter().any(|p| p == "/proc/sysrq-trigger"));
        assert_eq!(v["linux"]["seccomp"]["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(v["linux"]["cgroupsPath"], format!("berth/{}", "ab".repeat(32)));
        assert!(v["process"].get("noNewPrivileges").is_none(), "libcontainer needs the field absent (see build_spec)");
        assert!(v["process"]["env"].as_array().unwrap().iter().any(|e| e == DEFAULT_PATH));
        let dests: Vec<&str> = v["mounts"].as_array().unwrap().iter().map(|m| m["destination"].as_str().unwrap()).collect();
        for d in ["/proc", "/dev", "/dev/pts", "/sys", "/dev/mqueue", "/dev/shm", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"] {
            assert!(dests.contains(&d), "{d} missing from {dests:?}");
        }
        assert!(v["linux"]["resources"].get("memory").is_none());
    }

    #[test]
    fn flags_change_the_spec() {
        let v = spec_json(RunConfig {
            cmd: vec!["sh".into()],
            network: "host".into(),
            memory: Some(64 << 20),
            nano_cpus: Some(1_500_000_000),
            cpu_shares: Some(512),
            pids_limit: Some(10),
            read_only: true,
            no_new_privileges: true,
            ..Default::default()
        });
        let ns: Vec<&str> = v["linux"]["namespaces"].as_array().unwrap().iter().map(|n| n["type"].as_str().unwrap()).collect();
        assert!(!ns.contains(&"network"));
        assert!(v.get("hostname").is_none() || v["hostname"].is_null());
        let r = &v["linux"]["resources"];
        assert_eq!(r["memory"]["limit"], 64 << 20);
        assert_eq!(r["cpu"]["quota"], 150_000);
        assert_eq!(r["cpu"]["period"], 100_000);
        assert_eq!(r["cpu"]["shares"], 512);
        assert_eq!(r["pids"]["limit"], 10);
        assert_eq!(v["root"]["readonly"], true);
        assert_eq!(v["process"]["noNewPrivileges"], true);
        let p = spec_json(RunConfig { cmd: vec!["sh".into()], privileged: true, ..Default::default() });
        assert!(p["linux"].get("seccomp").is_none() || p["linux"]["seccomp"].is_null());
        assert!(p["linux"].get("maskedPaths").is_none() || p["linux"]["maskedPaths"].is_null());
    }

    #[test]
    fn users_resolve_like_docker() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("etc")).unwrap();
        std::fs::write(t.path().join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n").unwrap();
        std::fs::write(t.path().join("etc/group"), "root:x:0:\nwww:x:34:\nstaff:x:50:www\n").unwrap();
        let r = |u| resolve_user(t.path(), u);
        assert_eq!(r("").unwrap(), ResolvedUser { uid: 0, gid: 0, additional_gids: vec![], home: "/root".into() });
        assert_eq!(r("www").unwrap(), ResolvedUser { uid: 33, gid: 34, additional_gids: vec![50], home: "/var/www".into() });
        assert_eq!(r("33:staff").unwrap().gid, 50);
        assert_eq!(r("1000:1000").unwrap(), ResolvedUser { uid: 1000, gid: 1000, additional_gids: vec![], home: "/".into() });
        assert!(r("nobody").unwrap_err().to_string().contains("unable to find user nobody"));
        assert!(r("www:nogroup").is_err());
    }
}

//! Real containers, as root: `run`, exit codes, isolation checked from inside, limits and
//! OOM kills, stop/kill escalation, the monitor outliving the front end, `--rm` cleanup,
//! and bad input that changes nothing.
mod common;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use berth_engine::image::commit::{NewImage, commit_image};
use berth_engine::image::layer::ensure_layer;
use berth_engine::image::reference::Reference;
use berth_engine::store::digest::Digest;
use berth_engine::store::images::ImageStore;
use common::*;

/// Import the fixture OCI layout `oci/<name>` into the store as `<name>:latest` through the
/// ImageStore (test-only; `berth load` lands separately).
fn import_fixture(b: &Berth, name: &str) {
    let dir = images().join("oci").join(name);
    let store = ImageStore::open(&b.root()).unwrap();
    let blob = |d: &str| std::fs::read(dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    let index: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let m = &index["manifests"][0];
    let mdigest = m["digest"].as_str().unwrap();
    let mbytes = blob(mdigest);
    let manifest: serde_json::Value = serde_json::from_slice(&mbytes).unwrap();
    assert_eq!(store.content.put_bytes(&mbytes).unwrap().as_str(), mdigest);
    let cdigest = manifest["config"]["digest"].as_str().unwrap();
    let cbytes = blob(cdigest);
    store.content.put_bytes(&cbytes).unwrap();
    let config: serde_json::Value = serde_json::from_slice(&cbytes).unwrap();
    for (i, l) in manifest["layers"].as_array().unwrap().iter().enumerate() {
        let d = l["digest"].as_str().unwrap();
        store.content.put_bytes(&blob(d)).unwrap();
        let diff = Digest::parse(config["rootfs"]["diff_ids"][i].as_str().unwrap()).unwrap();
        ensure_layer(&store, &Digest::parse(d).unwrap(), l["mediaType"].as_str().unwrap(), Some(&diff)).unwrap();
    }
    commit_image(
        &store,
        &NewImage {
            config_digest: Digest::parse(cdigest).unwrap(),
            manifest: Some((Digest::parse(mdigest).unwrap(), m["mediaType"].as_str().unwrap().to_string())),
            tags: vec![Reference::parse(&format!("{name}:latest")).unwrap()],
            repo_digest: None,
        },
    )
    .unwrap();
}

/// A state root holding busybox; a failing test still removes its containers (mounts,
/// cgroups and monitors would otherwise outlive the temp dir).
fn busybox() -> TestBerth {
    let b = Berth::new();
    import_fixture(&b, "busybox");
    TestBerth(b)
}

/// Run berth; (exit code, stdout, stderr).
fn run(b: &Berth, args: &[&str]) -> (i32, String, String) {
    let o = b.cmd().args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

fn wait_until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn mounts_under(p: &Path) -> Vec<String> {
    let m = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = p.display().to_string();
    m.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&p)).map(String::from).collect()
}

/// Processes whose command line mentions `needle` (e.g. a container id).
fn processes_with(needle: &str) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline"))
            && String::from_utf8_lossy(&c).contains(needle)
        {
            v.push(pid);
        }
    }
    v
}

#[test]
fn run_rm_echo_prints_and_leaves_nothing() {
    let b = busybox();
    let (code, out, err) = run(&b, &["run", "--rm", "--name", "hi", "busybox", "echo", "hi"]);
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");
    // Gone for the user as soon as run returns: the name is free again.
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(run(&b, &["run", "--rm", "--name", "hi", "busybox", "true"]).0, 0);
    // Everything else once the monitor has finished.
    wait_until("the monitors to exit", Duration::from_secs(10), || processes_with(&b.root().display().to_string()).is_empty());
    let trash: Vec<_> = std::fs::read_dir(b.root().join("trash")).map(|r| r.flatten().collect()).unwrap_or_default();
    assert!(trash.is_empty(), "{trash:?}");
    assert!(mounts_under(&b.root()).is_empty(), "{:?}", mounts_under(&b.root()));
    let left: Vec<_> = std::fs::read_dir(b.root().join("containers")).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
    let rt: Vec<_> = std::fs::read_dir(b.root().join("rt")).map(|r| r.flatten().collect()).unwrap_or_default();
    assert!(rt.is_empty(), "{rt:?}");
    // A detached --rm container, whose id we know: no cgroup either.
    let id = b.ok(&["run", "-d", "--rm", "busybox", "sleep", "0.3"]).trim().to_string();
    assert!(!cgroups_of(&id).is_empty());
    assert_gone(&b, &id);
}

/// Nothing of container `id` is left: no mount, no cgroup, no state dir, no monitor, no row.
fn assert_gone(b: &Berth, id: &str) {
    wait_until("the monitor to exit", Duration::from_secs(10), || processes_with(id).is_empty());
    assert!(mounts_under(&b.root()).is_empty(), "{:?}", mounts_under(&b.root()));
    assert!(cgroups_of(id).is_empty(), "{:?}", cgroups_of(id));
    assert!(!b.root().join("containers").join(id).exists());
    assert!(!b.root().join("rt").join(id).exists());
    assert!(!b.ok(&["ps", "-aq", "--no-trunc"]).contains(id));
}

#[test]
fn exit_codes_like_docker() {
    let b = busybox();
    assert_eq!(run(&b, &["run", "--rm", "busybox", "true"]).0, 0);
    assert_eq!(run(&b, &["run", "--rm", "busybox", "sh", "-c", "exit 7"]).0, 7);
    let (code, _, err) = run(&b, &["run", "--rm", "busybox", "nosuchcmd"]);
    assert_eq!(code, 127, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("nosuchcmd"), "{err}");
    let (code, _, err) = run(&b, &["run", "--rm", "busybox", "/etc"]);
    assert_eq!(code, 126, "{err}");
    // Output on both streams, in order per stream.
    let (code, out, err) = run(&b, &["run", "--rm", "busybox", "sh", "-c", "echo a; echo b >&2; echo c; exit 3"]);
    assert_eq!((code, out.as_str(), err.as_str()), (3, "a\nc\n", "b\n"));
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn detached_ps_stop_and_kill() {
    let b = busybox();
    let id = b.ok(&["run", "-d", "--name", "sleeper", "busybox", "sleep", "1000"]).trim().to_string();
    assert_eq!(id.len(), 64);
    let ps = b.ok(&["ps"]);
    let row = ps.lines().find(|l| l.starts_with(&id[..12])).unwrap_or_else(|| panic!("{ps}"));
    assert!(row.contains("Up "), "{row}");
    assert!(row.contains("\"sleep 1000\"") && row.ends_with("sleeper"), "{row}");
    assert_eq!(
        ps.lines().next().unwrap().split("   ").map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]
    );
    // sleep as PID 1 ignores SIGTERM: stop escalates to SIGKILL after -t.
    let t0 = Instant::now();
    assert_eq!(b.ok(&["stop", "-t", "1", "sleeper"]), "sleeper\n");
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", "sleeper"]), "exited 137\n");
    assert!(b.ok(&["ps"]).lines().count() == 1);
    let all = b.ok(&["ps", "-a"]);
    assert!(all.contains("Exited (137)"), "{all}");
    // A process that handles SIGTERM exits on its own, within the timeout.
    b.ok(&["run", "-d", "--name", "polite", "busybox", "sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.1; done"]);
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    b.ok(&["stop", "-t", "20", "polite"]);
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(b.ok(&["wait", "polite"]), "143\n");
    // kill: SIGKILL by default.
    b.ok(&["run", "-d", "--name", "victim", "busybox", "sleep", "1000"]);
    assert_eq!(b.ok(&["kill", "victim"]), "victim\n");
    assert_eq!(b.ok(&["wait", "victim"]), "137\n");
    let err = b.fails(&["kill", "victim"]);
    assert!(err.contains("is not running"), "{err}");
    // start again: it runs again under the same id.
    b.ok(&["start", "victim"]);
    assert!(b.ok(&["ps", "-q"]).contains(&b.ok(&["inspect", "-f", "{{.Id}}", "victim"])[..12]));
    b.ok(&["rm", "-f", "victim", "sleeper", "polite"]);
    for n in ["victim", "sleeper", "polite"] {
        assert!(b.fails(&["inspect", n]).contains("No such object"));
    }
    assert_gone(&b, &id);
}

#[test]
fn isolation_from_inside() {
    let b = busybox();
    let sh = |script: &str| -> (i32, String, String) { run(&b, &["run", "--rm", "busybox", "sh", "-c", script]) };
    // Docker's 14 default capabilities, nothing more.
    let (code, out, err) = sh("grep CapEff /proc/self/status");
    assert_eq!(out.trim(), "CapEff:\t00000000a80425fb", "exit {code}: {err}");
    // Own hostname: the short ID by default, or -h.
    let (_, out, _) = sh("hostname");
    assert_eq!(out.trim().len(), 12);
    assert_ne!(out.trim(), nix_hostname());
    assert_eq!(run(&b, &["run", "--rm", "-h", "box1", "busybox", "cat", "/etc/hostname"]).1, "box1\n");
    // Host processes are invisible: ps, as PID 1, is all there is.
    let (_, out, _) = run(&b, &["run", "--rm", "busybox", "ps", "-o", "pid,comm"]);
    assert_eq!(out.lines().skip(1).map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>(), ["1 ps"], "{out}");
    // Privileged operations fail (seccomp + capabilities).
    for script in ["mount -t tmpfs none /tmp", "unshare -n true", "echo h > /proc/sysrq-trigger", "hostname other"] {
        let (code, _, _) = sh(script);
        assert_ne!(code, 0, "{script} should fail in a container");
    }
    // Masked paths read as empty, read-only ones refuse writes.
    if Path::new("/proc/kcore").exists() {
        assert_eq!(sh("wc -c < /proc/kcore").1.trim(), "0");
    }
    assert_eq!(sh("cat /proc/keys | wc -l").1.trim(), "0");
    // Network: its own interface on the default bridge and loopback, up (tests/networks.rs
    // has the rest); with --network none only loopback.
    let (_, out, _) = sh("ls /sys/class/net; ping -c1 -W2 127.0.0.1 >/dev/null && echo pong");
    assert_eq!(out, "eth0\nlo\npong\n");
    let (_, out, _) = run(
        &b,
        &["run", "--rm", "--network", "none", "busybox", "sh", "-c", "ls /sys/class/net; ping -c1 -W2 127.0.0.1 >/dev/null && echo pong"],
    );
    assert_eq!(out, "lo\npong\n");
    // --network host sees the host's interfaces.
    // (Other tests' veths and bridges come and go meanwhile: the host's own ones are compared.)
    let own = |n: &str| !(n.starts_with("veth") || n.starts_with("berth") || n.starts_with("br-"));
    let mut host_ifs: Vec<String> = std::fs::read_dir("/sys/class/net")
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| own(n))
        .collect();
    host_ifs.sort();
    let (_, out, _) = run(&b, &["run", "--rm", "--network", "host", "busybox", "ls", "/sys/class/net"]);
    let mut seen: Vec<String> = out.split_whitespace().filter(|n| own(n)).map(String::from).collect();
    seen.sort();
    assert_eq!(seen, host_ifs);
    // --privileged: all capabilities we hold, no seccomp, mount works.
    let (code, out, err) =
        run(&b, &["run", "--rm", "--privileged", "busybox", "sh", "-c", "mount -t tmpfs none /tmp && grep Seccomp: /proc/self/status"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.split_whitespace().nth(1), Some("0"), "{out}");
}

fn nix_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string()
}

#[test]
fn user_env_workdir_from_flags_and_image() {
    let b = busybox();
    let (_, out, _) = run(&b, &["run", "--rm", "-u", "nobody", "busybox", "id"]);
    assert_eq!(out.trim(), "uid=65534(nobody) gid=65534(nobody)");
    let (_, out, _) = run(&b, &["run", "--rm", "-u", "1234:5678", "busybox", "id", "-u"]);
    assert_eq!(out.trim(), "1234");
    let (code, _, err) = run(&b, &["run", "--rm", "-u", "nosuchuser", "busybox", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("unable to find user nosuchuser"), "{err}");
    let (_, out, _) = run(&b, &["run", "--rm", "-w", "/made/for/you", "busybox", "pwd"]);
    assert_eq!(out, "/made/for/you\n");
    let envf = b.dir.path().join("env");
    std::fs::write(&envf, "# comment\nFROM_FILE=yes\n").unwrap();
    let (_, out, _) = run(&b, &["run", "--rm", "-e", "A=1", "--env-file", envf.to_str().unwrap(), "busybox", "env"]);
    assert!(out.lines().any(|l| l == "A=1") && out.lines().any(|l| l == "FROM_FILE=yes"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("PATH=/usr/local/sbin")), "{out}");
    let (code, out, err) = run(&b, &["run", "--rm", "--entrypoint", "echo", "busybox", "via", "entrypoint"]);
    assert_eq!(out, "via entrypoint\n", "exit {code}: {err}");
}

#[test]
fn memory_hog_is_oom_killed() {
    let b = busybox();
    let (code, _, err) = run(&b, &["run", "--name", "hog", "--memory", "16m", "busybox", "tail", "/dev/zero"]);
    assert_eq!(code, 137, "{err}");
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.OOMKilled}} {{.State.ExitCode}}", "hog"]), "true 137\n");
    // A container within its limit is not marked.
    run(&b, &["run", "--name", "fine", "--memory", "16m", "busybox", "true"]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.OOMKilled}}", "fine"]), "false\n");
}

#[test]
fn limits_reach_the_cgroup() {
    let b = busybox();
    let id = b
        .ok(&["run", "-d", "--memory", "32m", "--cpus", "0.5", "--pids-limit", "20", "--cpu-shares", "512", "busybox", "sleep", "1000"])
        .trim()
        .to_string();
    let read = |sub: &str, f: &str| std::fs::read_to_string(format!("/sys/fs/cgroup/{sub}/berth/{id}/{f}")).map(|s| s.trim().to_string());
    if Path::new("/sys/fs/cgroup/memory").is_dir() {
        assert_eq!(read("memory", "memory.limit_in_bytes").unwrap(), (32 << 20).to_string());
        assert_eq!(read("pids", "pids.max").unwrap(), "20");
        assert_eq!(read("cpu", "cpu.cfs_quota_us").unwrap(), "50000");
        assert_eq!(read("cpu", "cpu.shares").unwrap(), "512");
    } else {
        assert_eq!(read("", "memory.max").unwrap(), (32 << 20).to_string());
        assert_eq!(read("", "pids.max").unwrap(), "20");
        assert_eq!(read("", "cpu.max").unwrap(), "50000 100000");
    }
    // A fork bomb stops at the pids limit instead of hurting the host.
    let (code, _, err) =
        run(&b, &["run", "--rm", "--pids-limit", "5", "busybox", "sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done"]);
    assert_ne!(code, 0);
    assert!(err.contains("fork"), "{err}");
    b.ok(&["rm", "-f", &id]);
    assert_gone(&b, &id);
}

#[test]
fn container_outlives_a_killed_front_end() {
    let b = busybox();
    let mut child = b
        .cmd()
        .args(["run", "--name", "survivor", "busybox", "sh", "-c", "echo first; sleep 2; echo second; exit 3"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the container to run", Duration::from_secs(20), || b.ok(&["ps", "-q"]).lines().count() == 1);
    unsafe {
        libc::kill(child.id() as i32, libc::SIGKILL);
    }
    let _ = child.wait();
    assert!(b.ok(&["ps"]).contains("survivor"));
    assert_eq!(b.ok(&["wait", "survivor"]), "3\n");
    assert_eq!(b.ok(&["logs", "survivor"]), "first\nsecond\n");
    assert!(b.ok(&["ps", "-a"]).contains("Exited (3)"));
    assert_eq!(b.ok(&["logs", "--tail", "1", "survivor"]), "second\n");
    // --since/--until split the output at the sleep between the two lines.
    let ts = b.ok(&["logs", "-t", "survivor"]);
    let t2 = ts.lines().nth(1).unwrap().split_once(' ').unwrap().0.to_string();
    let t2 = chrono::DateTime::parse_from_rfc3339(&t2).unwrap();
    let mid = (t2 - chrono::Duration::milliseconds(500)).to_rfc3339();
    assert_eq!(b.ok(&["logs", "--since", &mid, "survivor"]), "second\n");
    assert_eq!(b.ok(&["logs", "--until", &mid, "survivor"]), "first\n");
    assert_eq!(b.ok(&["logs", "--since", "1h", "survivor"]), "first\nsecond\n");
    assert!(b.fails(&["logs", "--since", "yesterday", "survivor"]).contains("invalid time"));
    // Follow a running container's log until it ends.
    b.ok(&["run", "-d", "--name", "talker", "busybox", "sh", "-c", "for i in 1 2 3; do echo $i; sleep 0.2; done"]);
    assert_eq!(b.ok(&["logs", "-f", "talker"]), "1\n2\n3\n");
    let ts = b.ok(&["logs", "-t", "talker"]);
    let first = ts.lines().next().unwrap();
    let (t, rest) = first.split_once(' ').unwrap();
    assert_eq!(rest, "1");
    assert!(t.ends_with('Z') && t.contains('T'), "{first}");
    let raw = std::fs::read_to_string(
        b.root()
            .join("containers")
            .join(b.ok(&["inspect", "-f", "{{.Id}}", "talker"]).trim())
            .join(format!("{}-json.log", b.ok(&["inspect", "-f", "{{.Id}}", "talker"]).trim())),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(raw.lines().next().unwrap()).unwrap();
    assert_eq!((v["log"].as_str(), v["stream"].as_str()), (Some("1\n"), Some("stdout")));
}

#[test]
fn bad_input_changes_nothing() {
    let b = busybox();
    let id = b.ok(&["run", "-d", "--name", "taken", "busybox", "sleep", "1000"]).trim().to_string();
    let before = b.snapshot_tree();
    let ps_before = b.ok(&["ps", "-aq", "--no-trunc"]);
    for (args, want) in [
        (&["run", "--rm", "--pull", "never", "nosuchimage", "true"][..], "No such image"),
        (&["run", "--rm", "--memory", "abc", "busybox", "true"], "invalid"),
        (&["run", "--name", "taken", "busybox", "true"], "already in use"),
        (&["create", "--name", "bad name", "busybox"], "Invalid container name"),
        (&["run", "--rm", "--network", "nosuchnet", "busybox", "true"], "network nosuchnet not found"),
        (&["run", "--rm", "--cpus", "lots", "busybox", "true"], "--cpus"),
        (&["rm", "taken"], "container is running"),
        (&["stop", "nosuch"], "No such container"),
        (&["rm", "nosuch"], "No such container"),
    ] {
        let out = b.cmd().args(args).output().unwrap();
        let err = stderr(&out);
        assert!(!out.status.success(), "{args:?} should fail");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    assert_eq!(run(&b, &["run", "--rm", "nosuchimage", "true"]).0, 125);
    assert_eq!(b.snapshot_tree(), before);
    assert_eq!(b.ok(&["ps", "-aq", "--no-trunc"]), ps_before);
    assert!(b.ok(&["ps"]).contains("taken"));
    b.ok(&["rm", "-f", "taken"]);
    assert_gone(&b, &id);
}

#[test]
fn names_and_id_prefixes_resolve_like_docker() {
    let b = busybox();
    let a = b.ok(&["create", "busybox", "true"]).trim().to_string();
    let name = b.ok(&["inspect", "-f", "{{.Name}}", &a]).trim().trim_start_matches('/').to_string();
    let (adj, sur) = name.split_once('_').unwrap_or_else(|| panic!("{name}"));
    assert!(!adj.is_empty() && !sur.is_empty());
    assert_eq!(b.ok(&["inspect", "-f", "{{.Id}}", &a[..5]]).trim(), a);
    assert_eq!(b.ok(&["inspect", "-f", "{{.Id}}", &name]).trim(), a);
    assert!(b.ok(&["ps", "-a"]).contains("Created"));
    assert_eq!(b.ok(&["ps", "-q"]), "");
    assert_eq!(b.ok(&["start", "-a", &name]), "");
    assert_eq!(b.ok(&["ps", "-aq"]).trim(), &a[..12]);
    assert_eq!(b.ok(&["ps", "-l", "-q", "--no-trunc"]).trim(), a);
    b.ok(&["rm", &a[..12]]);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

/// Read from a PTY master until `want` shows up (or panic after `secs`).
fn read_until(master: i32, want: &str, secs: u64, seen: &mut String) {
    let t0 = Instant::now();
    while !seen.contains(want) {
        assert!(t0.elapsed() < Duration::from_secs(secs), "timed out waiting for {want:?}; got {seen:?}");
        let mut pfd = libc::pollfd { fd: master, events: libc::POLLIN, revents: 0 };
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            continue;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n as usize]));
    }
}

fn wait_child(child: &mut std::process::Child) -> Option<i32> {
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "berth did not exit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn type_in(master: i32, s: &str) {
    assert_eq!(unsafe { libc::write(master, s.as_ptr().cast(), s.len()) }, s.len() as isize);
}

#[test]
fn detach_and_attach_again() {
    let b = busybox();
    let (mut child, master) = spawn_in_pty(&b, &["run", "-it", "--name", "shell", "busybox", "sh"]);
    let mut seen = String::new();
    read_until(master, "# ", 20, &mut seen);
    type_in(master, "echo one\r");
    read_until(master, "one\r\n", 10, &mut seen);
    // ctrl-p ctrl-q: berth returns 0, the shell keeps running.
    type_in(master, "\x10\x11");
    assert_eq!(wait_child(&mut child), Some(0));
    unsafe { libc::close(master) };
    assert!(b.ok(&["ps"]).contains("shell"));
    let (mut child, master) = spawn_in_pty(&b, &["attach", "shell"]);
    std::thread::sleep(Duration::from_millis(300));
    let mut seen = String::new();
    type_in(master, "echo $((20+22))\r");
    read_until(master, "42", 10, &mut seen);
    type_in(master, "exit 6\r");
    assert_eq!(wait_child(&mut child), Some(6));
    unsafe { libc::close(master) };
    assert_eq!(b.ok(&["wait", "shell"]), "6\n");
    let err = b.fails(&["attach", "shell"]);
    assert!(err.contains("start it first"), "{err}");
}

#[test]
fn interactive_shell_through_a_real_pty() {
    let b = busybox();
    let (mut child, master) = spawn_in_pty(&b, &["run", "--rm", "-it", "busybox", "sh"]);
    let mut seen = String::new();
    read_until(master, "# ", 20, &mut seen);
    let write = |s: &str| type_in(master, s);
    // Typed input reaches the shell; the window size is right from the start.
    write("stty size; echo $((6*7))\r");
    read_until(master, "42", 10, &mut seen);
    assert!(seen.contains("30 100"), "{seen:?}");
    // A resize of the outer terminal reaches the container.
    set_size(master, 40, 120);
    std::thread::sleep(Duration::from_millis(600));
    seen.clear();
    write("stty size\r");
    read_until(master, "40 120", 10, &mut seen);
    // ctrl-c reaches the container's shell (not berth): the shell survives it.
    write("sleep 30\r");
    std::thread::sleep(Duration::from_millis(300));
    write("\x03");
    seen.clear();
    write("echo still-here\r");
    read_until(master, "still-here\r\n", 10, &mut seen);
    write("exit 3\r");
    assert_eq!(wait_child(&mut child), Some(3));
    unsafe { libc::close(master) };
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn stdin_is_piped_with_dash_i() {
    let b = busybox();
    let mut child = b
        .cmd()
        .args(["run", "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z; exit 4"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"hello\nworld\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!((out.status.code(), stdout(&out).as_str()), (Some(4), "HELLO\nWORLD\n"));
}

#[test]
fn restart_policies() {
    let b = busybox();
    // on-failure:2 -> three runs in all, then it stays down.
    b.ok(&["run", "-d", "--name", "flaky", "--restart", "on-failure:2", "busybox", "sh", "-c", "echo run; exit 1"]);
    wait_until("two restarts", Duration::from_secs(20), || {
        b.ok(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "flaky"]) == "2 exited\n"
    });
    assert_eq!(b.ok(&["logs", "flaky"]), "run\nrun\nrun\n");
    assert_eq!(b.ok(&["wait", "flaky"]), "1\n");
    // A clean exit is not a failure.
    b.ok(&["run", "-d", "--name", "fine", "--restart", "on-failure", "busybox", "true"]);
    assert_eq!(b.ok(&["wait", "fine"]), "0\n");
    assert_eq!(b.ok(&["inspect", "-f", "{{.RestartCount}}", "fine"]), "0\n");
    // always: comes back after it exits, until `stop`.
    b.ok(&["run", "-d", "--name", "phoenix", "--restart", "always", "busybox", "sh", "-c", "sleep 0.2"]);
    wait_until("a restart", Duration::from_secs(20), || b.ok(&["inspect", "-f", "{{.RestartCount}}", "phoenix"]).trim() != "0");
    b.ok(&["stop", "-t", "1", "phoenix"]);
    let n = b.ok(&["inspect", "-f", "{{.RestartCount}}", "phoenix"]);
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(b.ok(&["inspect", "-f", "{{.RestartCount}} {{.State.Status}}", "phoenix"]), format!("{} exited\n", n.trim()));
    let err = b.fails(&["run", "--rm", "--restart", "always", "busybox", "true"]);
    assert!(err.contains("conflicting options"), "{err}");
    let err = b.fails(&["run", "--restart", "sometimes", "busybox", "true"]);
    assert!(err.contains("invalid restart policy"), "{err}");
    b.ok(&["rm", "-f", "flaky", "fine", "phoenix"]);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn fifty_concurrent_containers_start_and_go_without_leaks() {
    let b = busybox();
    let ids: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..50).map(|_| s.spawn(|| run(&b, &["run", "-d", "busybox", "sleep", "1000"]))).collect();
        hs.into_iter()
            .map(|h| {
                let (code, out, err) = h.join().unwrap();
                assert_eq!(code, 0, "{err}");
                out.trim().to_string()
            })
            .collect()
    });
    let running = b.ok(&["ps", "-q", "--no-trunc"]);
    assert_eq!(running.lines().count(), 50);
    for id in &ids {
        assert!(running.contains(id.as_str()));
    }
    let names: std::collections::HashSet<String> =
        b.ok(&["ps", "-a"]).lines().skip(1).map(|l| l.split_whitespace().last().unwrap().to_string()).collect();
    assert_eq!(names.len(), 50, "random names must not collide");
    std::thread::scope(|s| {
        for chunk in ids.chunks(10) {
            let b = &b;
            s.spawn(move || {
                let mut args = vec!["rm", "-f"];
                args.extend(chunk.iter().map(String::as_str));
                b.ok(&args);
            });
        }
    });
    for id in &ids {
        assert_gone(&b, id);
    }
    assert!(mounts_under(&b.root()).is_empty());
    let rows: i64 = berth_engine::store::db::Db::open(&b.root())
        .unwrap()
        .query_opt("SELECT COUNT(*) FROM containers", [], |r| r.get(0))
        .unwrap()
        .unwrap();
    assert_eq!(rows, 0);
}

#[test]
fn a_killed_monitor_is_noticed_and_cleaned_up() {
    let b = busybox();
    let id = b.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "1000"]).trim().to_string();
    let monitors: Vec<i32> = processes_with(&id).into_iter().filter(|p| processes_cmdline(*p).contains("monitor")).collect();
    assert_eq!(monitors.len(), 1);
    unsafe { libc::kill(monitors[0], libc::SIGKILL) };
    // The container itself is still there; kill it and the record says what happened.
    b.ok(&["kill", "orphan"]);
    wait_until("the exit to be noticed", Duration::from_secs(10), || b.ok(&["ps", "-a"]).contains("Exited (255)"));
    assert!(b.ok(&["inspect", "-f", "{{.State.Error}}", "orphan"]).contains("monitor exited unexpectedly"));
    // It starts again (stale runtime state and mount are cleared first) and stops normally.
    b.ok(&["start", "orphan"]);
    assert!(b.ok(&["ps"]).contains("orphan"));
    b.ok(&["stop", "-t", "1", "orphan"]);
    assert_eq!(b.ok(&["wait", "orphan"]), "137\n");
    b.ok(&["rm", "orphan"]);
    assert_gone(&b, &id);
}

fn processes_cmdline(pid: i32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()).replace('\0', " ")
}

#[test]
fn ps_filters_and_formats_like_docker() {
    let b = busybox();
    b.ok(&["run", "-d", "--name", "web", "-l", "tier=front", "busybox", "sleep", "1000"]);
    b.ok(&["run", "--name", "done", "busybox", "true"]);
    run(&b, &["run", "--name", "failed", "busybox", "sh", "-c", "exit 3"]);
    b.ok(&["create", "--name", "fresh", "busybox"]);
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["ps", "--format", "{{.Names}}"];
        a.extend_from_slice(args);
        let mut v: Vec<String> = b.ok(&a).lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!(names(&[]), ["web"]);
    assert_eq!(names(&["-a"]), ["done", "failed", "fresh", "web"]);
    assert_eq!(names(&["--filter", "status=exited"]), ["done", "failed"]);
    assert_eq!(names(&["--filter", "status=created"]), ["fresh"]);
    assert_eq!(names(&["--filter", "exited=3"]), ["failed"]);
    assert_eq!(names(&["-a", "--filter", "label=tier=front"]), ["web"]);
    assert_eq!(names(&["-a", "--filter", "label=tier"]), ["web"]);
    assert_eq!(names(&["-a", "--filter", "name=e", "--filter", "status=exited"]), ["done", "failed"]);
    assert_eq!(names(&["-a", "--filter", "ancestor=busybox", "--filter", "name=web"]), ["web"]);
    assert_eq!(names(&["-a", "--filter", "ancestor=alpine"]), Vec::<String>::new());
    let t = b.ok(&["ps", "-a", "--filter", "name=failed", "--format", "table {{.Names}}\\t{{.Status}}\\t{{.State}}"]);
    let rows: Vec<Vec<&str>> = t.lines().map(|l| l.split("   ").map(str::trim).filter(|s| !s.is_empty()).collect()).collect();
    assert_eq!(rows[0], ["NAMES", "STATUS", "STATE"]);
    assert_eq!(rows[1][0], "failed");
    assert!(rows[1][1].starts_with("Exited (3)"), "{t}");
    assert_eq!(rows[1][2], "exited");
    let err = b.fails(&["ps", "--filter", "bogus=1"]);
    assert_eq!(err.lines().count(), 1);
    assert!(err.contains("invalid filter"), "{err}");
}

#[test]
fn security_flags_caps_readonly_tmpfs_binds() {
    let b = busybox();
    let sh = |flags: &[&str], script: &str| -> (i32, String, String) {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(flags);
        a.extend_from_slice(&["busybox", "sh", "-c", script]);
        run(&b, &a)
    };
    // --cap-add SYS_ADMIN: the capability and the seccomp rules that come with it.
    let (code, out, err) = sh(&["--cap-add", "sys_admin"], "mount -t tmpfs none /tmp && grep CapEff /proc/self/status");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "CapEff:\t00000000a82425fb");
    assert_eq!(sh(&["--cap-drop", "ALL"], "grep CapEff /proc/self/status").1.trim(), "CapEff:\t0000000000000000");
    assert_ne!(sh(&["--cap-drop", "CHOWN"], "chown 1 /tmp").0, 0);
    // --read-only root, with a writable --tmpfs.
    assert_ne!(sh(&["--read-only"], "touch /x").0, 0);
    let (code, out, _) = sh(&["--read-only", "--tmpfs", "/scratch:size=1m"], "touch /scratch/x && grep ' /scratch ' /proc/mounts");
    assert_eq!(code, 0);
    assert!(out.contains("tmpfs") && out.contains("size=1024k") && out.contains("noexec"), "{out}");
    assert_eq!(sh(&["--security-opt", "no-new-privileges"], "grep NoNewPrivs /proc/self/status").1.trim(), "NoNewPrivs:\t1");
    // -v HOST:CTR[:ro]
    let host = b.dir.path().join("share");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("f"), "from host\n").unwrap();
    let rw = format!("{}:/data", host.display());
    let ro = format!("{}:/data:ro", host.display());
    assert_eq!(sh(&["-v", &rw], "cat /data/f && echo back > /data/g").1, "from host\n");
    assert_eq!(std::fs::read_to_string(host.join("g")).unwrap(), "back\n");
    assert_ne!(sh(&["-v", &ro], "touch /data/h").0, 0);
    assert!(!host.join("h").exists());
    // inspect reports what was asked for, in docker's shapes.
    let id = b.ok(&["create", "--read-only", "--cap-add", "sys_admin", "-v", &ro, "busybox", "true"]);
    let hc = b.ok(&["inspect", "-f", "{{json .HostConfig}}", id.trim()]);
    let hc: serde_json::Value = serde_json::from_str(&hc).unwrap();
    assert_eq!(hc["ReadonlyRootfs"], true, "{hc}");
    assert_eq!(hc["CapAdd"], serde_json::json!(["CAP_SYS_ADMIN"]), "{hc}");
    assert_eq!(hc["CapDrop"], serde_json::Value::Null, "{hc}");
    assert_eq!(hc["Binds"], serde_json::json!([ro]), "{hc}");
    b.ok(&["rm", id.trim()]);
    for (flags, want) in [
        (&["--cap-add", "bogus"][..], "unknown capability"),
        (&["-v", "rel/ative:/x"], "invalid volume specification"),
        (&["-v", "/tmp:/x:rx"], "invalid volume specification"),
        (&["--tmpfs", "relative"], "invalid tmpfs"),
        (&["--security-opt", "seccomp=unconfined"], "invalid --security-opt"),
    ] {
        let (code, _, err) = sh(flags, "true");
        assert_eq!(code, 125, "{flags:?}");
        assert!(err.contains(want) && err.lines().count() == 1, "{flags:?}: {err}");
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn pause_unpause_restart_rename() {
    let b = busybox();
    b.ok(&["run", "-d", "--name", "ticker", "busybox", "sh", "-c", "while true; do echo t; sleep 0.1; done"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(b.ok(&["pause", "ticker"]), "ticker\n");
    assert!(b.ok(&["ps"]).contains("(Paused)"));
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Status}} {{.State.Paused}}", "ticker"]), "paused true\n");
    let frozen = b.ok(&["logs", "ticker"]).lines().count();
    std::thread::sleep(Duration::from_millis(600));
    assert_eq!(b.ok(&["logs", "ticker"]).lines().count(), frozen, "a paused container must not run");
    assert!(b.fails(&["pause", "ticker"]).contains("already paused"));
    b.ok(&["unpause", "ticker"]);
    wait_until("output after unpause", Duration::from_secs(10), || b.ok(&["logs", "ticker"]).lines().count() > frozen);
    assert!(b.fails(&["unpause", "ticker"]).contains("not paused"));
    // rename: the old name is free, the new one resolves; taken names are refused.
    b.ok(&["rename", "ticker", "clock"]);
    assert!(b.fails(&["inspect", "ticker"]).contains("No such object"));
    b.ok(&["create", "--name", "other", "busybox"]);
    assert!(b.fails(&["rename", "clock", "other"]).contains("already in use"));
    // restart: a new process under the same container.
    let pid1 = b.ok(&["inspect", "-f", "{{.State.Pid}}", "clock"]);
    b.ok(&["restart", "-t", "1", "clock"]);
    let pid2 = b.ok(&["inspect", "-f", "{{.State.Pid}}", "clock"]);
    assert_ne!(pid1, pid2);
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Running}}", "clock"]), "true\n");
    // stop works on a paused container too.
    b.ok(&["pause", "clock"]);
    b.ok(&["stop", "-t", "1", "clock"]);
    assert_eq!(b.ok(&["wait", "clock"]), "137\n");
    b.ok(&["rm", "clock", "other"]);
}

#[test]
fn exec_runs_inside_the_container() {
    let b = busybox();
    b.ok(&["run", "-d", "--name", "host1", "-h", "insider", "busybox", "sleep", "1000"]);
    assert_eq!(run(&b, &["exec", "host1", "sh", "-c", "hostname; exit 4"]), (4, "insider\n".to_string(), String::new()));
    let (_, out, _) = run(&b, &["exec", "-e", "FOO=bar", "-w", "/tmp", "-u", "nobody", "host1", "sh", "-c", "echo $FOO $(pwd) $(id -u)"]);
    assert_eq!(out, "bar /tmp 65534\n");
    // Same isolation as the container's own process.
    let (_, out, _) = run(&b, &["exec", "host1", "grep", "CapEff", "/proc/self/status"]);
    assert_eq!(out.trim(), "CapEff:\t00000000a80425fb");
    assert_ne!(run(&b, &["exec", "host1", "unshare", "-n", "true"]).0, 0);
    // stdin with -i.
    let mut child = b
        .cmd()
        .args(["exec", "-i", "host1", "tr", "a-z", "A-Z"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"quiet\n").unwrap();
    assert_eq!(stdout(&child.wait_with_output().unwrap()), "QUIET\n");
    let (code, _, err) = run(&b, &["exec", "host1", "nosuchcmd"]);
    assert_eq!(code, 127, "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    // The container's user by default, -u overrides.
    b.ok(&["run", "-d", "--name", "unpriv", "-u", "nobody", "busybox", "sleep", "1000"]);
    assert_eq!(b.ok(&["exec", "unpriv", "id", "-u"]), "65534\n");
    assert_eq!(b.ok(&["exec", "-u", "0", "unpriv", "id", "-u"]), "0\n");
    b.ok(&["stop", "-t", "0", "host1"]);
    let (code, _, err) = run(&b, &["exec", "host1", "true"]);
    assert_ne!(code, 0);
    assert!(err.contains("is not running") && err.lines().count() == 1, "{err}");
}

#[test]
fn exec_it_gets_a_terminal() {
    let b = busybox();
    b.ok(&["run", "-d", "--name", "box", "busybox", "sleep", "1000"]);
    let (mut child, master) = spawn_in_pty(&b, &["exec", "-it", "box", "sh"]);
    let mut seen = String::new();
    read_until(master, "# ", 20, &mut seen);
    type_in(master, "tty; stty size; echo $((6*7))\r");
    read_until(master, "42", 10, &mut seen);
    assert!(seen.contains("/dev/pts/") && seen.contains("30 100"), "{seen:?}");
    set_size(master, 44, 111);
    std::thread::sleep(Duration::from_millis(400));
    seen.clear();
    type_in(master, "stty size\r");
    read_until(master, "44 111", 10, &mut seen);
    type_in(master, "exit 5\r");
    assert_eq!(wait_child(&mut child), Some(5));
    unsafe { libc::close(master) };
    // The container itself is untouched, and no exec leftovers remain in its directory.
    assert!(b.ok(&["ps"]).contains("box"));
    let id = b.ok(&["inspect", "-f", "{{.Id}}", "box"]).trim().to_string();
    let left: Vec<String> = std::fs::read_dir(b.root().join("containers").join(&id))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("exec-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn events_record_the_lifecycle() {
    let b = busybox();
    run(&b, &["run", "--name", "ev", "busybox", "sh", "-c", "exit 2"]);
    b.ok(&["rename", "ev", "ev2"]);
    b.ok(&["rm", "ev2"]);
    run(&b, &["run", "--rm", "--name", "hog", "--memory", "16m", "busybox", "tail", "/dev/zero"]);
    let all = b.ok(&["events", "--since", "10m", "--until", "0s", "--format", "{{.Action}} {{.Actor.Attributes.name}}"]);
    let got: Vec<&str> = all.lines().collect();
    assert_eq!(
        got,
        ["create ev", "start ev", "die ev", "rename ev2", "destroy ev2", "create hog", "start hog", "oom hog", "die hog", "destroy hog"]
    );
    let dies = b.ok(&["events", "--since", "10m", "--until", "0s", "--filter", "event=die", "--format", "{{json .Actor.Attributes}}"]);
    assert!(dies.lines().next().unwrap().contains("\"exitCode\":\"2\""), "{dies}");
    // A streaming `events` sees what another berth process does.
    let child = b.cmd().args(["events", "--filter", "event=start"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    b.ok(&["run", "--rm", "--name", "later", "busybox", "true"]);
    std::thread::sleep(Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let out = stdout(&child.wait_with_output().unwrap());
    assert!(out.contains("container start") && out.contains("name=later"), "{out}");
    assert!(b.fails(&["events", "--filter", "bogus=1"]).contains("invalid filter"));
}

/// Development helper: `BERTH_DEV_ROOT=/tmp/x cargo test --test containers dev_import -- --ignored`.
#[test]
#[ignore = "a development helper, not a check"]
fn dev_import() {
    let Some(root) = std::env::var_os("BERTH_DEV_ROOT") else { return };
    let b = Berth::new();
    import_fixture(&b, "busybox");
    let _ = std::fs::remove_dir_all(&root);
    run_ok(Command::new("cp").arg("-a").arg(b.root()).arg(&root));
}

/// A newcomer's first command: the built-in image is created on first use, offline.
#[test]
fn run_hello_on_a_fresh_store() {
    let b = TestBerth(Berth::new());
    let out = b.ok(&["run", "--rm", "hello"]);
    assert!(out.contains("Hello from berth!"), "{out}");
    assert!(b.ok(&["images"]).contains("hello"), "the image stays for the next run");
    assert!(b.ok(&["ps", "-aq"]).trim().is_empty(), "--rm left a container");
}

/// The images list counts every container that uses an image (the dashboard's USED column),
/// running or not, as `system df -v` counts them: on the embedded engine, and on dockerd,
/// whose image list says -1 unless asked for `system df`.
#[test]
fn images_count_every_container_using_them() {
    use berth_engine::api::{ContainerBackend, ImageListOptions};
    const N: usize = 8;
    let b = busybox();
    for _ in 0..N {
        b.ok(&["create", "busybox", "true"]);
    }
    b.ok(&["run", "-d", "busybox", "sleep", "100"]);
    let dockerd = Dockerd::start();
    dockerd.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    for _ in 0..N {
        dockerd.ok(&["create", "--network", "none", "testimg/busybox", "true"]);
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let local = berth_engine::local::LocalEngine::open(&b.root()).unwrap();
        let docker = berth_engine::docker::DockerBackend::connect(&dockerd.host()).await.unwrap();
        for (backend, image) in [(&local as &dyn ContainerBackend, "busybox:latest"), (&docker, "testimg/busybox:latest")] {
            let listed = backend.list_images(&ImageListOptions::default()).await.unwrap();
            let img = listed.iter().find(|i| i.repo_tags.iter().any(|t| t == image)).unwrap_or_else(|| panic!("{image} in {listed:?}"));
            let df = backend.disk_usage().await.unwrap();
            let df_count = df.images.iter().find(|i| i.id == img.id).map(|i| i.containers).unwrap();
            let want = if image == "busybox:latest" { N + 1 } else { N };
            assert_eq!(img.containers, want as i64, "{}: images list count", backend.describe());
            assert_eq!(df_count, want as u64, "{}: system df -v count", backend.describe());
        }
    });
}

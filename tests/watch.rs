//! Watching real containers, as root: `stats` figures against what the kernel did (a CPU
//! burner, a 64 MiB tmpfs file, a memory limit, processes, direct writes, traffic on a veth
//! pair inside the container's network namespace), `top` against the cgroup, inspect's JSON
//! types, and bad input.
mod common;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

/// A state root holding testimg/busybox; removes its containers even when a test fails.
fn busybox() -> TestBerth {
    let b = Berth::new();
    let tar = images().join("busybox.tar");
    b.ok(&["load", "-i", tar.to_str().unwrap()]);
    b.ok(&["tag", "testimg/busybox", "busybox"]);
    TestBerth(b)
}

fn run_d(b: &Berth, args: &[&str]) -> String {
    let mut a = vec!["run", "-d", "--network", "none"];
    a.extend_from_slice(args);
    b.ok(&a).trim().to_string()
}

fn pid_of(b: &Berth, id: &str) -> i32 {
    b.ok(&["inspect", "-f", "{{.State.Pid}}", id]).trim().parse().unwrap()
}

/// `stats --no-stream --format json` rows by name.
fn stats(b: &Berth, names: &[&str]) -> Vec<Value> {
    let mut a = vec!["stats", "--no-stream", "--format", "json"];
    a.extend_from_slice(names);
    b.ok(&a).lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))).collect()
}

fn field(v: &Value, k: &str) -> String {
    v[k].as_str().unwrap_or_else(|| panic!("{k} missing in {v}")).to_string()
}

fn percent(v: &Value, k: &str) -> f64 {
    field(v, k).trim_end_matches('%').parse().unwrap()
}

/// "64.77MiB" / "1.5kB" -> bytes.
fn bytes(s: &str) -> f64 {
    let s = s.trim();
    let i = s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len());
    let n: f64 = s[..i].parse().unwrap();
    let mul = match &s[i..] {
        "B" => 1.0,
        "kB" => 1e3,
        "MB" => 1e6,
        "GB" => 1e9,
        "KiB" => 1024.0,
        "MiB" => 1048576.0,
        "GiB" => 1073741824.0,
        u => panic!("unit {u}"),
    };
    n * mul
}

fn pair(v: &Value, k: &str) -> (f64, f64) {
    let s = field(v, k);
    let (a, b) = s.split_once(" / ").unwrap();
    (bytes(a), bytes(b))
}

/// utime+stime of `pid` in clock ticks (100/s here).
fn cpu_ticks(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = s[s.rfind(')').unwrap() + 2..].split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn stats_cpu_of_a_burner_and_under_cpus_half() {
    let b = busybox();
    let burn = run_d(&b, &["--name", "burn", "busybox", "sh", "-c", "while :; do :; done"]);
    run_d(&b, &["--name", "half", "--cpus", "0.5", "busybox", "sh", "-c", "while :; do :; done"]);
    std::thread::sleep(Duration::from_millis(500));
    // What the kernel says the burner got over the same window, to tell a busy shared host
    // (other work on both cores) from a wrong figure.
    let pid = pid_of(&b, &burn);
    let (t0, c0) = (Instant::now(), cpu_ticks(pid));
    let rows = stats(&b, &["burn", "half"]);
    let kernel = (cpu_ticks(pid) - c0) as f64 / t0.elapsed().as_secs_f64();
    let (full, half) = (percent(&rows[0], "CPUPerc"), percent(&rows[1], "CPUPerc"));
    assert_eq!(field(&rows[0], "Name"), "burn");
    eprintln!("burner {full}% (kernel {kernel:.0}%), --cpus 0.5 {half}%");
    assert!(half <= 60.0 && half > 20.0, "--cpus 0.5 burner at {half}%");
    assert!(full <= 110.0, "burner at {full}%");
    if kernel >= 85.0 {
        assert!(full >= 80.0, "burner at {full}% while the kernel gave it {kernel:.0}%");
    } else {
        assert!((full - kernel).abs() < 25.0, "burner at {full}% but the kernel gave it {kernel:.0}% (busy host)");
    }
}

#[test]
fn stats_memory_limit_and_pids() {
    let b = busybox();
    run_d(
        &b,
        &[
            "--name",
            "mem",
            "--memory",
            "100m",
            "busybox",
            "sh",
            "-c",
            "dd if=/dev/zero bs=1M count=64 | cat >/dev/shm/x; sleep 100 & sleep 101 & sleep 102 & wait",
        ],
    );
    run_d(&b, &["--name", "idle", "busybox", "sleep", "100"]);
    let t0 = Instant::now();
    let rows = loop {
        let rows = stats(&b, &["mem", "idle"]);
        if pair(&rows[0], "MemUsage").0 >= 64.0 * 1048576.0 || t0.elapsed() > Duration::from_secs(10) {
            break rows;
        }
    };
    let (usage, limit) = pair(&rows[0], "MemUsage");
    assert!(usage >= 64.0 * 1048576.0, "{rows:?}");
    assert!(field(&rows[0], "MemUsage").ends_with(" / 100MiB"), "{rows:?}");
    assert_eq!(limit, 100.0 * 1048576.0);
    let mp = percent(&rows[0], "MemPerc");
    assert!((64.0..=100.0).contains(&mp), "{mp}");
    // sh and its three sleeps.
    assert_eq!(field(&rows[0], "PIDs"), "4");
    assert_eq!(field(&rows[1], "PIDs"), "1");
    // Unlimited: the host's memory is the limit, as docker shows it.
    let (idle_use, host) = pair(&rows[1], "MemUsage");
    assert!(idle_use < 8.0 * 1048576.0 && host > 1e9, "{rows:?}");
}

#[test]
fn stats_block_io_grows_after_direct_writes() {
    let b = busybox();
    let id = run_d(
        &b,
        &["busybox", "sh", "-c", "while [ ! -e /go ]; do sleep 0.1; done; dd if=/dev/zero of=/f bs=1M count=8 oflag=direct; sleep 100"],
    );
    let before = pair(&stats(&b, &[&id])[0], "BlockIO").1;
    // cgroup v1 counts block I/O only on devices with a throttle rule: the engine gives
    // every container an unreachable one on the state root's disk, so nothing is set here.
    std::fs::write(b.root().join("containers").join(&id).join("rootfs/go"), "").unwrap();
    let t0 = Instant::now();
    loop {
        let after = pair(&stats(&b, &[&id])[0], "BlockIO").1;
        if after >= before + 8e6 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(15), "BLOCK I/O write stayed at {after} (before {before})");
    }
}

#[test]
fn stats_net_io_counts_a_veth_inside_the_container_but_not_loopback() {
    let b = busybox();
    let id = run_d(&b, &["--name", "net", "busybox", "sleep", "100"]);
    let pid = pid_of(&b, &id).to_string();
    let (rx0, tx0) = pair(&stats(&b, &["net"])[0], "NetIO");
    assert_eq!((rx0, tx0), (0.0, 0.0));
    let ns = |script: &str| run_ok(std::process::Command::new("nsenter").args(["-t", &pid, "-n", "sh", "-c", script]));
    // Loopback traffic inside the container: docker leaves lo out, so must we.
    ns(
        "ip link set lo up; python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(20): s.sendto(b\"x\"*1000,(\"127.0.0.1\",9))'",
    );
    assert_eq!(pair(&stats(&b, &["net"])[0], "NetIO"), (0.0, 0.0));
    // A veth pair, both ends inside the namespace; 10 UDP datagrams to a static neighbour.
    ns("ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up && ip addr add 10.99.0.1/24 dev v0 \
        && ip neigh add 10.99.0.2 lladdr 02:00:00:00:00:02 dev v0 \
        && python3 -c 'import socket; s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\nfor i in range(10): s.sendto(b\"x\"*1000,(\"10.99.0.2\",9))'");
    let (rx, tx) = pair(&stats(&b, &["net"])[0], "NetIO");
    // v0 sent ~10.3 kB and v1 received it: each side counts once.
    assert!(tx >= 10_000.0 && rx >= 10_000.0 && tx < 20_000.0, "rx {rx} tx {tx}");
}

#[test]
fn top_lists_exactly_the_containers_processes() {
    let b = busybox();
    let id = run_d(&b, &["--name", "tp", "busybox", "sh", "-c", "sleep 100 & sleep 101 & sleep 102 & wait"]);
    let procs = std::path::Path::new("/sys/fs/cgroup/pids/berth").join(&id).join("cgroup.procs");
    let procs = if procs.exists() { procs } else { std::path::Path::new("/sys/fs/cgroup/berth").join(&id).join("cgroup.procs") };
    let t0 = Instant::now();
    let want: BTreeSet<String> = loop {
        let s: BTreeSet<String> = std::fs::read_to_string(&procs).unwrap().lines().map(String::from).collect();
        if s.len() == 4 || t0.elapsed() > Duration::from_secs(5) {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(want.len(), 4);
    let out = b.ok(&["top", "tp"]);
    let mut lines = out.lines();
    assert_eq!(lines.next().unwrap().split_whitespace().collect::<Vec<_>>(), ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]);
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    let got: BTreeSet<String> = rows.iter().map(|r| r[1].to_string()).collect();
    assert_eq!(got, want, "{out}");
    assert!(!got.contains(&std::process::id().to_string()));
    assert!(!got.contains("1"), "host init listed: {out}");
    assert_eq!(rows.iter().filter(|r| r[7] == "sleep").count(), 3, "{out}");
    assert!(rows.iter().all(|r| r[0] == "root"));
    // With ps options: the host's ps, filtered to the container's PIDs.
    let out = b.ok(&["top", "tp", "-o", "pid,comm"]);
    let got: BTreeSet<String> = out.lines().skip(1).map(|l| l.split_whitespace().next().unwrap().to_string()).collect();
    assert_eq!(got, want, "{out}");
    assert!(out.starts_with("PID"), "{out}");
}

#[test]
fn inspect_has_docker_fields_with_docker_types() {
    let b = busybox();
    let id = run_d(
        &b,
        &[
            "--name",
            "ins",
            "--memory",
            "64m",
            "--cpus",
            "0.5",
            "--restart",
            "on-failure:3",
            "-e",
            "A=1",
            "-l",
            "k=v",
            "busybox",
            "sleep",
            "100",
        ],
    );
    let v: Value = serde_json::from_str(&b.ok(&["inspect", "ins"])).unwrap();
    let c = &v[0];
    assert_eq!(c["Id"], id.as_str());
    assert_eq!(c["Name"], "/ins");
    assert_eq!(c["Path"], "sleep");
    assert_eq!(c["Args"], serde_json::json!(["100"]));
    assert!(c["Created"].as_str().unwrap().ends_with('Z'));
    assert!(c["Image"].as_str().unwrap().starts_with("sha256:"));
    let s = &c["State"];
    assert_eq!(s["Status"], "running");
    assert_eq!(s["Running"], true);
    for k in ["Paused", "Restarting", "OOMKilled", "Dead"] {
        assert_eq!(s[k], false, "{k}");
    }
    assert!(s["Pid"].as_i64().unwrap() > 1);
    assert_eq!(s["ExitCode"], 0);
    assert!(s["Error"].is_string() && s["StartedAt"].is_string() && s["FinishedAt"].is_string());
    let cfg = &c["Config"];
    assert!(cfg["Env"].as_array().unwrap().iter().any(|e| e == "A=1"));
    assert_eq!(cfg["Cmd"], serde_json::json!(["sleep", "100"]));
    assert_eq!(cfg["Image"], "busybox");
    assert_eq!(cfg["Labels"]["k"], "v");
    for k in ["Tty", "OpenStdin", "AttachStdout"] {
        assert!(cfg[k].is_boolean(), "{k}");
    }
    assert!(cfg["Hostname"].is_string() && cfg["User"].is_string() && cfg["WorkingDir"].is_string());
    let h = &c["HostConfig"];
    assert_eq!(h["Memory"], 64 << 20);
    assert_eq!(h["NanoCpus"], 500_000_000);
    assert_eq!(h["RestartPolicy"], serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 3}));
    assert_eq!(h["NetworkMode"], "none");
    for k in ["Privileged", "AutoRemove", "ReadonlyRootfs"] {
        assert_eq!(h[k], false, "{k}");
    }
    assert!(h["MemorySwap"].is_i64() && h["CpuShares"].is_i64());
    assert_eq!(c["Mounts"], serde_json::json!([]));
    assert_eq!(c["NetworkSettings"]["Ports"], serde_json::json!({}));
    assert!(c["NetworkSettings"]["Networks"]["none"].is_object());
    assert_eq!(c["NetworkSettings"]["IPAddress"], "");
    assert!(std::path::Path::new(c["LogPath"].as_str().unwrap()).is_file());
    assert_eq!(c["RestartCount"], 0);
    assert_eq!(c["Driver"], "overlay2");
    assert_eq!(c["Platform"], "linux");
    // Templates.
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Pid}}", "ins"]).trim(), s["Pid"].to_string());
    let j: Value = serde_json::from_str(&b.ok(&["container", "inspect", "-f", "{{json .Config}}", "ins"])).unwrap();
    assert_eq!(&j, cfg);
    // Images too, containers first: `inspect NAME` of an image name gives the image.
    let img: Value = serde_json::from_str(&b.ok(&["inspect", "testimg/busybox"])).unwrap();
    assert!(img[0]["RootFS"].is_object() || img[0]["Config"].is_object(), "{img}");
    assert_eq!(b.ok(&["inspect", "--type", "container", "-f", "{{.Name}}", &id]).trim(), "/ins");
}

#[test]
fn port_info_df_version() {
    let b = busybox();
    run_d(&b, &["--name", "pp", "busybox", "sleep", "100"]);
    assert_eq!(b.ok(&["port", "pp"]), "");
    let info = b.ok(&["info"]);
    for l in [" Containers: 1", "  Running: 1", " Images: 1", " Storage Driver: overlay2", " Cgroup Driver: cgroupfs"] {
        assert!(info.lines().any(|x| x == l), "{l:?} missing in\n{info}");
    }
    assert!(info.contains(&format!(" Root Dir: {}", b.root().display())));
    let df = b.ok(&["system", "df"]);
    let images = df.lines().find(|l| l.starts_with("Images")).unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(&images[1..3], ["1", "1"], "{df}");
    let containers = df.lines().find(|l| l.starts_with("Containers")).unwrap().split_whitespace().collect::<Vec<_>>();
    assert_eq!(&containers[1..3], ["1", "1"], "{df}");
    assert!(b.ok(&["system", "df", "-v"]).contains("testimg/busybox"));
    let v = b.ok(&["version"]);
    assert!(v.starts_with("Client:") && v.contains("\nServer: berth") && v.contains(env!("CARGO_PKG_VERSION")), "{v}");
}

#[test]
fn bad_input_is_one_line_and_non_zero() {
    let b = busybox();
    let stopped = b.ok(&["create", "busybox", "true"]).trim().to_string();
    for args in [
        vec!["top", "nope"],
        vec!["inspect", "nope"],
        vec!["port", "nope"],
        vec!["stats", "--no-stream", "nope"],
        vec!["top", &stopped],
        vec!["stats", "--no-stream", "--format", "{{.Nope", &stopped],
    ] {
        let err = b.fails(&args);
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.starts_with("Error"), "{args:?}: {err}");
    }
    // A stopped container in --all is listed with zeros.
    let all = b.ok(&["stats", "--no-stream", "--all"]);
    assert!(all.contains(&stopped[..12]) && all.contains("0.00%"), "{all}");
    assert_eq!(b.ok(&["stats", "--no-stream"]).lines().count(), 1);
}

/// CPU time (user, system) of this thread, µs.
fn thread_cpu() -> (f64, f64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    (us(ru.ru_utime), us(ru.ru_stime))
}

fn children_cpu() -> f64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    let us = |t: libc::timeval| t.tv_sec as f64 * 1e6 + t.tv_usec as f64;
    us(ru.ru_utime) + us(ru.ru_stime)
}

/// Clock ticks of every process whose command line mentions `needle`.
fn cpu_of_processes_with(needle: &str) -> u64 {
    let mut t = 0;
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline"))
            && String::from_utf8_lossy(&c).contains(needle)
            && std::fs::metadata(format!("/proc/{pid}/stat")).is_ok()
        {
            t += std::panic::catch_unwind(|| cpu_ticks(pid)).unwrap_or(0);
        }
    }
    t
}

/// The sampler benchmark (bench/sampler.sh runs it): N idle busybox `sleep` containers on
/// the embedded engine, the sampler's CPU time per container per sample; then the same
/// count on a private dockerd, `docker stats --no-stream` wall time and the daemon side's
/// CPU. BENCH_COUNTS="100 500" (default "100"), BENCH_DOCKER=0 skips docker.
#[test]
#[ignore = "a benchmark (bench/sampler.sh runs it), not a check"]
fn bench_sampler() {
    let counts: Vec<usize> =
        std::env::var("BENCH_COUNTS").unwrap_or_else(|_| "100".into()).split_whitespace().map(|s| s.parse().unwrap()).collect();
    let docker = std::env::var("BENCH_DOCKER").map(|v| v != "0").unwrap_or(true);
    let tar = images().join("busybox.tar");
    for &n in &counts {
        let b = busybox();
        for _ in 0..n {
            run_d(&b, &["--memory", "16m", "--pids-limit", "16", "testimg/busybox", "sleep", "3600"]);
        }
        let engine = berth_engine::local::LocalEngine::open(&b.root()).unwrap();
        let targets = berth_engine::local::watch::running_targets(&engine).unwrap();
        assert_eq!(targets.len(), n);
        let mut s = berth_engine::stats::sampler::Sampler::new();
        assert_eq!(s.sample(&targets).len(), n);
        let iters = 20;
        let (u0, s0) = thread_cpu();
        let t0 = Instant::now();
        for _ in 0..iters {
            assert_eq!(s.sample(&targets).len(), n);
        }
        let wall = t0.elapsed().as_secs_f64() * 1e6;
        let (u1, s1) = thread_cpu();
        let per = |x: f64| x / (iters * n) as f64;
        eprintln!(
            "BENCH berth n={n}: sampler CPU {:.1} µs/container/sample (user {:.1}, sys {:.1}), wall {:.1} µs/container/sample",
            per(u1 - u0 + s1 - s0),
            per(u1 - u0),
            per(s1 - s0),
            per(wall)
        );
        let c0 = children_cpu();
        let t0 = Instant::now();
        let out = b.ok(&["stats", "--no-stream"]);
        eprintln!(
            "BENCH berth n={n}: `berth stats --no-stream` wall {:.2} s, CPU {:.0} ms, {} rows",
            t0.elapsed().as_secs_f64(),
            (children_cpu() - c0) / 1e3,
            out.lines().count() - 1
        );
        drop(b);
        if docker {
            let d = Dockerd::start();
            d.ok(&["load", "-i", tar.to_str().unwrap()]);
            for _ in 0..n {
                d.ok(&["run", "-d", "--network", "none", "--memory", "16m", "--pids-limit", "16", "testimg/busybox", "sleep", "3600"]);
            }
            let needle = d.dir.path().display().to_string();
            std::thread::sleep(Duration::from_secs(2));
            let k0 = cpu_of_processes_with(&needle);
            let t0 = Instant::now();
            let out = d.ok(&["stats", "--no-stream"]);
            let wall = t0.elapsed().as_secs_f64();
            let k1 = cpu_of_processes_with(&needle);
            eprintln!(
                "BENCH docker n={n}: `docker stats --no-stream` wall {wall:.2} s, dockerd+containerd+shims CPU {} ms, {} rows",
                (k1 - k0) * 10,
                out.lines().count() - 1
            );
            let ids: Vec<String> = d.ok(&["ps", "-aq"]).lines().map(String::from).collect();
            for chunk in ids.chunks(50) {
                let _ = d.docker().arg("rm").arg("-f").args(chunk).output();
            }
        }
    }
}

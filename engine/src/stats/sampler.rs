//! One sampler for all running containers: each `sample` call reads every container's
//! cgroup and network counters in one pass and turns deltas into rates. Consumers (CLI
//! `stats`, the dashboard) keep their own history; the sampler keeps only the last reading.
//!
//! This is the measured hot path (`bench/sampler.sh`: at most 20 µs of CPU per container
//! per sample), so it reads `/proc/<pid>/net/dev` and `/proc/stat` by hand through files
//! kept open between samples (see [`net`] and [`crate::stats::cpu`]) rather than with
//! procfs, which opens and parses per call: measured with the ignored test `hand_vs_procfs`
//! below (opt-level 3, 2 vCPUs shared with other builds), net/dev costs 7–10 µs by hand and
//! 60–87 µs through `procfs::process::Process::dev_status`. Host figures, read once, come
//! from sysinfo.
use std::collections::HashMap;

use crate::api::StatsSample;
use crate::stats::cgroup::{CgroupPaths, CgroupSample, OpenFiles, Reuse};
use crate::stats::cpu::{SystemCpu, cpu_percent};
use crate::stats::net;

/// What the sampler needs to know about a running container.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: String,
    pub name: String,
    pub pid: i32,
    pub cgroup: CgroupPaths,
}

/// What the sampler keeps per container between samples.
struct Kept {
    /// The pid the files were opened for (a restarted container gets fresh files).
    pid: i32,
    files: OpenFiles,
    prev: CgroupSample,
    mem: Reuse,
}

#[derive(Default)]
pub struct Sampler {
    /// Per container: its open files and last reading. Rebuilt each round by moving entries
    /// (no key clones): containers that left drop out, closing their files.
    kept: HashMap<String, Kept>,
    rounds: u64,
    prev_sys: Option<SystemCpu>,
    host_memory: u64,
    buf: String,
}

/// Total host memory, the "limit" docker shows for an unlimited container (0 if unknown).
pub fn host_memory() -> u64 {
    use sysinfo::{MemoryRefreshKind, RefreshKind, System};
    System::new_with_specifics(RefreshKind::nothing().with_memory(MemoryRefreshKind::nothing().with_ram()))
        .map(|s| s.total_memory())
        .unwrap_or(0)
}

impl Sampler {
    pub fn new() -> Self {
        Self { host_memory: host_memory(), ..Default::default() }
    }

    /// Read all targets once. Containers whose cgroup vanished (they just stopped) are
    /// skipped. The first sample of a container reports 0 % CPU (no delta yet).
    pub fn sample(&mut self, targets: &[Target]) -> Vec<StatsSample> {
        let sys = SystemCpu::read().ok();
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
        let mut out = Vec::with_capacity(targets.len());
        let mut kept = HashMap::with_capacity(targets.len());
        // The limit and memory.stat are reread for everyone every 10th round regardless.
        let refresh = self.rounds.is_multiple_of(10);
        for t in targets {
            let (key, old) = match self.kept.remove_entry(&t.id) {
                Some((k, old)) if old.pid == t.pid => (k, Some(old)),
                Some((k, _)) => (k, None),
                None => (t.id.clone(), None),
            };
            let (mut files, prev, reuse) = match old {
                Some(k) => (k.files, Some(k.prev), (!refresh).then_some(k.mem)),
                None => (OpenFiles::default(), None, None),
            };
            let Ok((cg, mem)) = t.cgroup.sample_reusing(&mut files, &mut self.buf, reuse) else { continue };
            let cpu = match (prev, self.prev_sys, sys) {
                (Some(p), Some(ps), Some(s)) => cpu_percent(p.cpu_ns, cg.cpu_ns, ps, s),
                _ => 0.0,
            };
            let netv = if t.pid > 0 {
                let pid = t.pid;
                files
                    .read_keyed("net/dev", || format!("/proc/{pid}/net/dev").into(), &mut self.buf)
                    .map(net::parse_net_dev)
                    .unwrap_or_default()
            } else {
                Default::default()
            };
            let limit = cg.memory_limit.unwrap_or(self.host_memory).min(if self.host_memory > 0 { self.host_memory } else { u64::MAX });
            out.push(StatsSample {
                id: t.id.clone(),
                name: t.name.clone(),
                time: now.clone(),
                cpu_percent: cpu,
                cpu_total_ns: cg.cpu_ns,
                online_cpus: sys.map(|s| s.online).unwrap_or(1),
                memory_usage: cg.memory,
                memory_limit: limit,
                pids: cg.pids,
                block_read: cg.blkio_read,
                block_write: cg.blkio_write,
                net_rx: netv.rx_bytes,
                net_tx: netv.tx_bytes,
            });
            kept.insert(key, Kept { pid: t.pid, files, prev: cg, mem });
        }
        // Containers that left close their files here.
        self.kept = kept;
        self.rounds += 1;
        self.prev_sys = sys;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_memory_is_the_machines() {
        let kb: u64 = std::fs::read_to_string("/proc/meminfo")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap();
        assert_eq!(host_memory(), kb * 1024);
    }

    /// The figures quoted in the module docs: the hand-written reads of the hot path against
    /// procfs's, per call.
    #[test]
    #[ignore = "a benchmark, not a check"]
    fn hand_vs_procfs() {
        use procfs::CurrentSI;
        use std::os::unix::fs::FileExt;
        let n = 20_000;
        let per_call = |t: std::time::Instant| t.elapsed().as_nanos() as f64 / n as f64 / 1000.0;
        let pid = std::process::id() as i32;
        let t = std::time::Instant::now();
        for _ in 0..n {
            std::hint::black_box(SystemCpu::read().unwrap());
        }
        let stat_hand = per_call(t);
        let t = std::time::Instant::now();
        for _ in 0..n {
            let k = procfs::KernelStats::current().unwrap();
            std::hint::black_box((k.total.user, k.cpu_time.len()));
        }
        let stat_procfs = per_call(t);
        let f = std::fs::File::open(format!("/proc/{pid}/net/dev")).unwrap();
        let mut buf = vec![0u8; 8192];
        let t = std::time::Instant::now();
        for _ in 0..n {
            let k = f.read_at(&mut buf, 0).unwrap();
            std::hint::black_box(net::parse_net_dev(std::str::from_utf8(&buf[..k]).unwrap()));
        }
        let net_hand = per_call(t);
        let t = std::time::Instant::now();
        for _ in 0..n {
            let d = procfs::process::Process::new(pid).unwrap().dev_status().unwrap();
            std::hint::black_box(d.values().filter(|x| x.name != "lo").map(|x| x.recv_bytes).sum::<u64>());
        }
        let net_procfs = per_call(t);
        eprintln!(
            "BENCH /proc/stat: by hand {stat_hand:.1} µs, procfs {stat_procfs:.1} µs; \
             /proc/<pid>/net/dev: kept file {net_hand:.1} µs, procfs {net_procfs:.1} µs"
        );
    }
}

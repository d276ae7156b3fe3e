//! One sampler for all running containers: each `sample` call reads every container's
//! cgroup and network counters in one pass and turns deltas into rates. Consumers (CLI
//! `stats`, the dashboard) keep their own history; the sampler keeps only the last reading.
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

/// Total host memory, the "limit" docker shows for an unlimited container.
pub fn host_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("MemTotal:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok()))
        })
        .map(|kb| kb * 1024)
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

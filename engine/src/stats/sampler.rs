//! One sampler for all running containers: each `sample` call reads every container's
//! cgroup and network counters in one pass and turns deltas into rates. Consumers (CLI
//! `stats`, the dashboard) keep their own history; the sampler keeps only the last reading.
use std::collections::HashMap;

use crate::api::StatsSample;
use crate::stats::cgroup::{CgroupPaths, CgroupSample, OpenFiles, Source};
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

#[derive(Default)]
pub struct Sampler {
    prev: HashMap<String, CgroupSample>,
    /// Each container's files, kept open between samples (with the pid they were opened for).
    open: HashMap<String, (i32, OpenFiles)>,
    /// `(raw usage, inactive_file)` per container, to skip memory.stat while usage is still.
    mem: HashMap<String, (u64, u64)>,
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
        let mut seen = HashMap::with_capacity(targets.len());
        let mut open = HashMap::with_capacity(targets.len());
        let mut mem = HashMap::with_capacity(targets.len());
        for t in targets {
            let (pid, mut files) = self.open.remove(&t.id).filter(|(p, _)| *p == t.pid).unwrap_or_else(|| (t.pid, OpenFiles::default()));
            // memory.stat is reread whenever usage moves, and every 10th round regardless.
            let reuse = if self.rounds.is_multiple_of(10) { None } else { self.mem.get(&t.id).copied() };
            let Ok((cg, raw)) = t.cgroup.sample_reusing(&mut files, &mut self.buf, reuse) else { continue };
            mem.insert(t.id.clone(), raw);
            let cpu = match (self.prev.get(&t.id), self.prev_sys, sys) {
                (Some(p), Some(ps), Some(s)) => cpu_percent(p.cpu_ns, cg.cpu_ns, ps, s),
                _ => 0.0,
            };
            let netv = if t.pid > 0 {
                files
                    .read(std::path::Path::new(&format!("/proc/{}/net/dev", t.pid)), &mut self.buf)
                    .map(net::parse_net_dev)
                    .unwrap_or_default()
            } else {
                Default::default()
            };
            open.insert(t.id.clone(), (pid, files));
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
            seen.insert(t.id.clone(), cg);
        }
        self.prev = seen;
        // Containers that left close their files here.
        self.open = open;
        self.mem = mem;
        self.rounds += 1;
        self.prev_sys = sys;
        out
    }
}

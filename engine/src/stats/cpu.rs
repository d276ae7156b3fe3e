//! The system CPU clock and docker's CPU % formula.
//!
//! `/proc/stat` is parsed here rather than with procfs's `KernelStats`: the sampler reads it
//! once per round, and procfs parses every line (per-CPU times, the long `intr` line) into
//! owned strings. Measured with `cargo test -p berth-engine --config
//! profile.dev.package.berth-engine.opt-level=3 hand_vs_procfs -- --ignored --nocapture`
//! (2 vCPUs shared with other builds): 7–12 µs by hand, 12–17 µs with procfs, per read.
use std::io;

/// `/proc/stat`'s aggregate line as nanoseconds, and the number of online CPUs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SystemCpu {
    pub total_ns: u64,
    pub online: u32,
}

/// Parse `/proc/stat` text: the sum of the `cpu ` line's fields (user … steal) in clock
/// ticks, converted to ns, and the count of `cpuN` lines.
pub fn parse_proc_stat(text: &str, ticks_per_sec: u64) -> Option<SystemCpu> {
    let mut total = None;
    let mut online = 0;
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("cpu ") {
            // user nice system idle iowait irq softirq steal (guest time is already in user).
            let ticks: u64 = rest.split_whitespace().take(8).filter_map(|v| v.parse::<u64>().ok()).sum();
            total = Some(ticks.saturating_mul(1_000_000_000 / ticks_per_sec.max(1)));
        } else if l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(|b| b.is_ascii_digit()) {
            online += 1;
        }
    }
    Some(SystemCpu { total_ns: total?, online: online.max(1) })
}

impl SystemCpu {
    pub fn read() -> io::Result<Self> {
        let text = std::fs::read_to_string("/proc/stat")?;
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        parse_proc_stat(&text, if hz > 0 { hz as u64 } else { 100 })
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "/proc/stat has no cpu line"))
    }
}

/// Docker's CPU %: container CPU time delta over system CPU time delta, times online CPUs.
/// 100 % is one core fully used.
pub fn cpu_percent(prev_cpu_ns: u64, cur_cpu_ns: u64, prev: SystemCpu, cur: SystemCpu) -> f64 {
    let cd = cur_cpu_ns.saturating_sub(prev_cpu_ns) as f64;
    let sd = cur.total_ns.saturating_sub(prev.total_ns) as f64;
    if cd <= 0.0 || sd <= 0.0 {
        return 0.0;
    }
    cd / sd * cur.online as f64 * 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_stat() {
        let t = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n";
        let s = parse_proc_stat(t, 100).unwrap();
        assert_eq!(s, SystemCpu { total_ns: 1000 * 10_000_000, online: 2 });
        assert!(parse_proc_stat("intr 1\n", 100).is_none());
    }

    #[test]
    fn docker_formula() {
        let a = SystemCpu { total_ns: 0, online: 2 };
        // System advanced 2 s of CPU time across 2 CPUs (1 s wall); the container used 1 s: one full core.
        let b = SystemCpu { total_ns: 2_000_000_000, online: 2 };
        assert!((cpu_percent(0, 1_000_000_000, a, b) - 100.0).abs() < 1e-9);
        assert_eq!(cpu_percent(5, 5, a, b), 0.0);
        assert_eq!(cpu_percent(0, 5, b, b), 0.0);
    }

    #[test]
    fn reads_this_machine() {
        let s = SystemCpu::read().unwrap();
        assert!(s.total_ns > 0 && s.online >= 1);
    }
}

//! `top`: the processes of a container from procfs, as `ps -ef` would print them
//! (UID PID PPID C STIME TTY TIME CMD), PIDs as seen from the host like docker.
use std::collections::HashMap;
use std::fs;
use std::io;

/// One process.
#[derive(Clone, Debug, PartialEq)]
pub struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub uid: u32,
    pub user: String,
    /// Lifetime CPU use, % of one core (ps's C column).
    pub cpu_percent: f64,
    /// Resident memory, bytes.
    pub rss: u64,
    /// Unix seconds.
    pub start: i64,
    pub tty: String,
    /// Cumulative CPU time, seconds.
    pub cpu_time: u64,
    pub cmd: String,
}

/// Fields of `/proc/<pid>/stat` after the `(comm)`: index 0 is `state`.
fn stat_fields(stat: &str) -> Option<(String, Vec<&str>)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    Some((comm, stat[close + 1..].split_whitespace().collect()))
}

fn tty_name(tty_nr: u64) -> String {
    if tty_nr == 0 {
        return "?".into();
    }
    let major = ((tty_nr >> 8) & 0xfff) as u32;
    let minor = ((tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00)) as u32;
    match major {
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 => format!("tty{minor}"),
        _ => "?".into(),
    }
}

/// Host user names by uid (ps on the host prints the host's names, as docker top does).
pub fn host_users() -> HashMap<u32, String> {
    fs::read_to_string("/etc/passwd")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.split(':');
            let name = it.next()?;
            let uid = it.nth(1)?.parse().ok()?;
            Some((uid, name.to_string()))
        })
        .collect()
}

/// Boot time (unix seconds) and clock ticks per second.
fn clock() -> (i64, u64) {
    let btime = fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("btime ").and_then(|v| v.trim().parse().ok())))
        .unwrap_or(0);
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (btime, if hz > 0 { hz as u64 } else { 100 })
}

/// Read one process; None if it is gone.
pub fn read_proc(pid: i32, users: &HashMap<u32, String>, now: i64) -> Option<ProcInfo> {
    let (btime, hz) = clock();
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (comm, f) = stat_fields(&stat)?;
    let num = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let ppid = num(1) as i32;
    let tty = tty_name(num(4));
    let cpu_ticks = num(11) + num(12);
    let start = btime + (num(19) / hz) as i64;
    let rss = num(21) * 4096;
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let uid = status.lines().find_map(|l| l.strip_prefix("Uid:").and_then(|v| v.split_whitespace().next()?.parse().ok())).unwrap_or(0);
    let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let cmd =
        if cmdline.is_empty() { format!("[{comm}]") } else { String::from_utf8_lossy(&cmdline).trim_end_matches('\0').replace('\0', " ") };
    let elapsed = (now - start).max(1) as f64;
    Some(ProcInfo {
        pid,
        ppid,
        uid,
        user: users.get(&uid).cloned().unwrap_or_else(|| uid.to_string()),
        cpu_percent: (cpu_ticks as f64 / hz as f64) / elapsed * 100.0,
        rss,
        start,
        tty,
        cpu_time: cpu_ticks / hz,
        cmd,
    })
}

/// Read all of `pids` that still exist.
pub fn processes(pids: &[i32]) -> Vec<ProcInfo> {
    let users = host_users();
    let now = crate::human::now_unix();
    pids.iter().filter_map(|&p| read_proc(p, &users, now)).collect()
}

/// ps's TIME column: `[DD-]HH:MM:SS`.
pub fn format_cpu_time(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 { format!("{d}-{h:02}:{m:02}:{s:02}") } else { format!("{h:02}:{m:02}:{s:02}") }
}

/// ps's STIME column: `HH:MM` today, else `MonDD`.
pub fn format_stime(start: i64, now: i64) -> String {
    use chrono::{Local, TimeZone};
    let (Some(t), Some(n)) = (Local.timestamp_opt(start, 0).single(), Local.timestamp_opt(now, 0).single()) else { return "?".into() };
    if t.date_naive() == n.date_naive() { t.format("%H:%M").to_string() } else { t.format("%b%d").to_string() }
}

/// The default `top` table: (titles, rows).
pub fn ps_ef(procs: &[ProcInfo]) -> (Vec<String>, Vec<Vec<String>>) {
    let now = crate::human::now_unix();
    let titles = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"].map(String::from).to_vec();
    let rows = procs
        .iter()
        .map(|p| {
            vec![
                p.user.clone(),
                p.pid.to_string(),
                p.ppid.to_string(),
                format!("{}", p.cpu_percent as u64),
                format_stime(p.start, now),
                p.tty.clone(),
                format_cpu_time(p.cpu_time),
                p.cmd.clone(),
            ]
        })
        .collect();
    (titles, rows)
}

/// Reads this process's own entry (used by tests and as a sanity check).
pub fn read_self() -> io::Result<ProcInfo> {
    let pid = std::process::id() as i32;
    read_proc(pid, &host_users(), crate::human::now_unix()).ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "own /proc entry"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_comm() {
        let (comm, f) = stat_fields("42 (my (odd) proc) S 1 42 42 34816 42 4194560 100 0 0 0 7 3 0 0 20 0 1 0 12345 1000 250").unwrap();
        assert_eq!(comm, "my (odd) proc");
        assert_eq!(f[0], "S");
        assert_eq!(f[1], "1");
        assert_eq!(tty_name(f[4].parse().unwrap()), "pts/0");
    }

    #[test]
    fn formats_like_ps() {
        assert_eq!(format_cpu_time(0), "00:00:00");
        assert_eq!(format_cpu_time(3723), "01:02:03");
        assert_eq!(format_cpu_time(90000), "1-01:00:00");
        assert_eq!(tty_name(0), "?");
    }

    #[test]
    fn reads_own_process() {
        let me = read_self().unwrap();
        assert_eq!(me.pid, std::process::id() as i32);
        assert!(me.cmd.contains("berth_engine") || !me.cmd.is_empty());
        assert!(me.rss > 0);
    }
}

//! `top`: the processes of a container from procfs, as `ps -ef` would print them
//! (UID PID PPID C STIME TTY TIME CMD), PIDs as seen from the host like docker.
use std::collections::HashMap;

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

/// ps's TTY column from a `(major, minor)` device number: `pts/N`, `ttyN`, or `?`.
fn tty_name((major, minor): (i32, i32)) -> String {
    match major {
        0 => "?".into(),
        136..=143 => format!("pts/{}", minor + (major - 136) * 256),
        4 => format!("tty{minor}"),
        _ => "?".into(),
    }
}

/// Host user names by uid (ps on the host prints the host's names, as docker top does),
/// looked up once per uid.
#[derive(Default)]
pub struct Users(HashMap<u32, String>);

impl Users {
    pub fn name(&mut self, uid: u32) -> String {
        self.0
            .entry(uid)
            .or_insert_with(|| match nix::unistd::User::from_uid(uid.into()) {
                Ok(Some(u)) => u.name,
                _ => uid.to_string(),
            })
            .clone()
    }
}

/// Read one process with procfs; None if it is gone.
pub fn read_proc(pid: i32, users: &mut Users, now: i64) -> Option<ProcInfo> {
    let p = procfs::process::Process::new(pid).ok()?;
    let stat = p.stat().ok()?;
    let uid = p.status().ok()?.euid;
    let hz = procfs::ticks_per_second().max(1);
    let btime = procfs::boot_time_secs().unwrap_or(0) as i64;
    let cpu_ticks = stat.utime + stat.stime;
    let start = btime + (stat.starttime / hz) as i64;
    // Kernel threads have no command line: ps shows their name in brackets.
    let cmd = match p.cmdline() {
        Ok(args) if !args.is_empty() => args.join(" "),
        _ => format!("[{}]", stat.comm),
    };
    let elapsed = (now - start).max(1) as f64;
    Some(ProcInfo {
        pid,
        ppid: stat.ppid,
        uid,
        user: users.name(uid),
        cpu_percent: (cpu_ticks as f64 / hz as f64) / elapsed * 100.0,
        rss: stat.rss * procfs::page_size(),
        start,
        tty: tty_name(stat.tty_nr()),
        cpu_time: cpu_ticks / hz,
        cmd,
    })
}

/// Read all of `pids` that still exist.
pub fn processes(pids: &[i32]) -> Vec<ProcInfo> {
    let mut users = Users::default();
    let now = crate::human::now_unix();
    pids.iter().filter_map(|&p| read_proc(p, &mut users, now)).collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tty_names_like_ps() {
        assert_eq!(tty_name((136, 0)), "pts/0");
        assert_eq!(tty_name((137, 3)), "pts/259");
        assert_eq!(tty_name((4, 1)), "tty1");
        assert_eq!(tty_name((0, 0)), "?");
        assert_eq!(tty_name((5, 1)), "?");
    }

    #[test]
    fn formats_like_ps() {
        assert_eq!(format_cpu_time(0), "00:00:00");
        assert_eq!(format_cpu_time(3723), "01:02:03");
        assert_eq!(format_cpu_time(90000), "1-01:00:00");
    }

    #[test]
    fn reads_a_process_as_ps_shows_it() {
        // A child of ours, so its parent, user and start time are known.
        let mut child = std::process::Command::new("sleep").arg("100").spawn().unwrap();
        let pid = child.id() as i32;
        // Until it has exec'd, the child has no command line of its own.
        let t0 = std::time::Instant::now();
        while std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default() != b"sleep\x00100\x00" {
            assert!(t0.elapsed() < std::time::Duration::from_secs(10), "sleep never started");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let procs = processes(&[pid, -1]);
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(procs.len(), 1, "a pid that does not exist is skipped");
        let me = &procs[0];
        assert_eq!((me.pid, me.ppid), (pid, std::process::id() as i32));
        assert_eq!(me.cmd, "sleep 100");
        assert_eq!(me.user, "root");
        assert!(me.rss > 0);
        let now = crate::human::now_unix();
        assert!((now - me.start).abs() <= 2, "started {} s from now", now - me.start);
        let ps = std::process::Command::new("ps").args(["-o", "tty=", "-p", &std::process::id().to_string()]).output().unwrap();
        let my_tty = String::from_utf8_lossy(&ps.stdout).trim().to_string();
        let mine = processes(&[std::process::id() as i32]);
        assert_eq!(mine[0].tty, my_tty, "our own TTY as ps prints it");
    }
}

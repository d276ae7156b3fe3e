//! Is a recorded process still the one berth started? A pid alone can be reused after the
//! process is gone; a pid with its start time (`/proc/<pid>/stat`'s `starttime`, read with
//! procfs) names one process for good.

/// Start time of a live process in clock ticks since boot; None if it is gone or a zombie
/// (dead for our purposes: its parent may never reap it).
pub fn proc_start_time(pid: i32) -> Option<u64> {
    if pid <= 0 {
        return None;
    }
    let stat = procfs::process::Process::new(pid).ok()?.stat().ok()?;
    if matches!(stat.state, 'Z' | 'X' | 'x') {
        return None;
    }
    Some(stat.starttime)
}

/// Whether the process recorded as (`pid`, `start`) is still the same live process.
pub fn alive(pid: i32, start: u64) -> bool {
    pid > 0 && proc_start_time(pid).is_some_and(|s| s == start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pid_with_another_start_time_is_not_alive() {
        let me = std::process::id() as i32;
        assert!(alive(me, proc_start_time(me).unwrap()));
        assert!(!alive(me, 1));
        assert!(!alive(0, 0) && proc_start_time(-1).is_none());
    }

    #[test]
    fn a_zombie_is_dead() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not reaped yet: a zombie once it has exited.
        let t0 = std::time::Instant::now();
        while procfs::process::Process::new(pid).and_then(|p| p.stat()).is_ok_and(|s| s.state != 'Z') {
            assert!(t0.elapsed() < std::time::Duration::from_secs(10), "child never exited");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(proc_start_time(pid), None);
        child.wait().unwrap();
    }
}

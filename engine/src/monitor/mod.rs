//! The per-container monitor: `berth monitor <id>` re-executes the berth binary, detaches
//! (double fork, own session), and stays single-threaded (no tokio) because libcontainer's
//! `build()` forks with clone3 and runs Rust in the child. It mounts the rootfs, writes the
//! bundle, creates and starts the container as its own child, writes the container's
//! output to the json-file log, `waitpid`s the init, records exit code, finish time and OOM
//! kill in the database, then removes the cgroup and the mount (and everything with --rm).
//!
//! The process that asked for the start ([`spawn`]) gets a status pipe: `ok <pid>` once the
//! container runs (or `error <code> <message>`), then `exit <code>` when it ends — so
//! `berth run` without -d learns the exit code even with --rm, and nothing depends on that
//! process staying alive.
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use crate::error::{EngineError, Result};
use crate::runtime::bundle::{self, Paths};
use crate::runtime::rootfs;
use crate::runtime::state::{self, ContainerRecord, now_nanos};
use crate::store::db::Db;

pub mod log;

/// Where libcontainer keeps its per-container state.
pub fn runtime_root(root: &Path) -> PathBuf {
    root.join("rt")
}

/// What the monitor told the process that started it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Started(i32),
    Exited(i32),
}

/// A started monitor: its status pipe.
pub struct Started {
    pub pid: i32,
    reader: BufReader<std::fs::File>,
}

impl Started {
    /// Block until the container exits; its exit code. None if the monitor went away
    /// without saying (killed).
    pub fn wait_exit(&mut self) -> Option<i32> {
        let mut line = String::new();
        loop {
            line.clear();
            match self.reader.read_line(&mut line) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {
                    if let Some(c) = line.trim().strip_prefix("exit ") {
                        return c.parse().ok();
                    }
                }
            }
        }
    }
    /// The pipe's fd, to poll it alongside other work.
    pub fn fd(&self) -> RawFd {
        self.reader.get_ref().as_raw_fd()
    }
}

/// An error starting a container, with the exit code docker would use (125/126/127).
#[derive(Debug)]
pub struct StartError {
    pub code: i32,
    pub message: String,
}

/// Spawn `exe monitor --root ROOT ID` and wait until the container runs. Safe to call from
/// a multi-threaded process (it only spawns a process).
pub fn spawn(exe: &Path, root: &Path, id: &str) -> std::result::Result<Started, StartError> {
    let err = |m: String| StartError { code: 125, message: m };
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| err(format!("pipe: {e}")))?;
    let wfd = w.as_raw_fd();
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("monitor")
        .arg("--root")
        .arg(root)
        .arg("--status-fd")
        .arg(wfd.to_string())
        .arg(id)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    unsafe {
        use std::os::unix::process::CommandExt;
        cmd.pre_exec(move || {
            // Keep the status pipe's write end across exec.
            let flags = libc::fcntl(wfd, libc::F_GETFD);
            libc::fcntl(wfd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|e| err(format!("cannot start the monitor {}: {e}", exe.display())))?;
    drop(w);
    // The first stage forks and exits at once; the monitor lives on in its own session.
    let _ = child.wait();
    let mut reader = BufReader::new(std::fs::File::from(r));
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(n) if n > 0 => {}
        _ => return Err(err("the container monitor exited before starting the container".into())),
    }
    let line = line.trim_end();
    if let Some(pid) = line.strip_prefix("ok ") {
        return Ok(Started { pid: pid.parse().unwrap_or(0), reader });
    }
    if let Some(rest) = line.strip_prefix("error ") {
        let (code, msg) = rest.split_once(' ').unwrap_or(("125", rest));
        return Err(StartError { code: code.parse().unwrap_or(125), message: msg.to_string() });
    }
    Err(err(format!("unexpected message from the container monitor: {line}")))
}

/// Entry point of `berth monitor`: never returns.
pub fn main(root: &Path, id: &str, status_fd: RawFd) -> ! {
    // SAFETY: the fd was passed to us by the starter; we own it from here.
    let status = unsafe { OwnedFd::from_raw_fd(status_fd) };
    unsafe {
        libc::fcntl(status_fd, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    // Double fork + setsid: the monitor belongs to no terminal and no caller.
    unsafe {
        match libc::fork() {
            -1 => std::process::exit(1),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        match libc::fork() {
            -1 => std::process::exit(1),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
    let mut status = std::fs::File::from(status);
    let code = match Monitor::new(root, id) {
        Ok(mut m) => m.run(&mut status),
        Err(e) => {
            let _ = writeln!(status, "error 125 {}", one_line(&e.to_string()));
            1
        }
    };
    std::process::exit(code)
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

struct Monitor {
    root: PathBuf,
    db: Db,
    rec: ContainerRecord,
    paths: Paths,
}

/// docker's exit codes for a process that could not be started.
fn start_failure_code(msg: &str) -> i32 {
    let m = msg.to_ascii_lowercase();
    if m.contains("not found") || m.contains("no such file") {
        127
    } else if m.contains("permission") || m.contains("not executable") || m.contains("is a directory") {
        126
    } else {
        125
    }
}

impl Monitor {
    fn new(root: &Path, id: &str) -> Result<Self> {
        let db = Db::open(root)?;
        let rec = state::get(&db, id)?.ok_or_else(|| EngineError::ContainerNotFound(id.to_string()))?;
        let paths = Paths::new(root, id);
        Ok(Self { root: root.to_path_buf(), db, rec, paths })
    }

    fn layer_links(&self) -> Result<Vec<String>> {
        self.db.query_all(
            "SELECT l.link FROM image_layers il JOIN layers l ON l.diff_id = il.diff_id WHERE il.image_id = ?1 ORDER BY il.idx DESC",
            [&self.rec.image_id],
            |r| r.get(0),
        )
    }

    fn run(&mut self, status: &mut std::fs::File) -> i32 {
        let me = std::process::id() as i32;
        let _ = state::set_monitor(&mut self.db, &self.rec.id, me, state::proc_start_time(me).unwrap_or(0));
        let (container, out_r, err_r) = match self.create() {
            Ok(x) => x,
            Err(msg) => {
                let code = start_failure_code(&msg);
                let _ = writeln!(status, "error {code} {}", one_line(&msg));
                let _ = state::set_exited(&mut self.db, &self.rec.id, code, false, &msg);
                self.cleanup(None);
                return 1;
            }
        };
        let pid = container.pid().map(|p| p.as_raw()).unwrap_or(0);
        let _ = state::set_running(&mut self.db, &self.rec.id, pid, state::proc_start_time(pid).unwrap_or(0), now_nanos());
        let _ = writeln!(status, "ok {pid}");
        let code = self.supervise(pid, out_r, err_r);
        let oom = oom_killed(&self.rec.id);
        let _ = state::set_exited(&mut self.db, &self.rec.id, code, oom, "");
        self.cleanup(Some(container));
        let _ = writeln!(status, "exit {code}");
        0
    }

    /// Mount, write the bundle, build and start the container. Errors are one line.
    fn create(&mut self) -> std::result::Result<(libcontainer::container::Container, OwnedFd, OwnedFd), String> {
        let links = self.layer_links().map_err(|e| e.to_string())?;
        let snapshots = self.root.join("snapshots");
        rootfs::mount_rootfs(&snapshots, &links, &self.paths).map_err(|e| e.to_string())?;
        bundle::write_bundle(&self.rec, &self.paths).map_err(|e| e.to_string())?;
        let log_path = self.paths.log(&self.rec.id);
        std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
        let (out_r, out_w) = nix::unistd::pipe2(cloexec).map_err(|e| format!("pipe: {e}"))?;
        let (err_r, err_w) = nix::unistd::pipe2(cloexec).map_err(|e| format!("pipe: {e}"))?;
        let null = std::fs::File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
        let rt = runtime_root(&self.root);
        std::fs::create_dir_all(&rt).map_err(|e| format!("{}: {e}", rt.display()))?;
        let lc = |e: libcontainer::error::LibcontainerError| e.to_string();
        let mut container = libcontainer::container::builder::ContainerBuilder::new(
            self.rec.id.clone(),
            libcontainer::syscall::syscall::SyscallType::default(),
        )
        .with_root_path(&rt)
        .map_err(lc)?
        .with_stdin(OwnedFd::from(null))
        .with_stdout(out_w)
        .with_stderr(err_w)
        .as_init(&self.paths.dir)
        .with_systemd(false)
        .with_detach(true)
        .build()
        .map_err(|e| {
            let mut m = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                m.push_str(": ");
                m.push_str(&s.to_string());
                src = s.source();
            }
            m
        })
        .map_err(|m| match m.rsplit_once("error in executing process : ") {
            // libcontainer wraps the reason in three layers of context; docker says "exec: …".
            Some((_, reason)) => format!("exec: {reason}"),
            None => m,
        })?;
        let pid = container.pid().map(|p| p.as_raw()).unwrap_or(0);
        if self.rec.config.network != "host"
            && let Err(e) = loopback_up(pid)
        {
            let _ = container.delete(true);
            return Err(format!("bringing up the loopback interface: {e}"));
        }
        if let Err(e) = container.start() {
            let _ = container.delete(true);
            return Err(e.to_string());
        }
        Ok((container, out_r, err_r))
    }

    /// Copy output to the log until the init exits; its exit code (128+signal if killed).
    fn supervise(&mut self, pid: i32, out_r: OwnedFd, err_r: OwnedFd) -> i32 {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGCHLD);
        let _ = mask.thread_block();
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok();
        let mut log = log::JsonLog::open(&self.paths.log(&self.rec.id));
        let mut streams: Vec<Option<(OwnedFd, &'static str)>> = vec![Some((out_r, "stdout")), Some((err_r, "stderr"))];
        let mut code: Option<i32> = None;
        let mut deadline: Option<std::time::Instant> = None;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            if code.is_none() {
                code = reap(pid);
                if code.is_some() {
                    // Output still in the pipes is drained, but not forever.
                    deadline = Some(std::time::Instant::now() + std::time::Duration::from_secs(2));
                }
            }
            if code.is_some() && (streams.iter().all(|s| s.is_none()) || deadline.is_some_and(|d| std::time::Instant::now() > d)) {
                break;
            }
            let mut fds: Vec<PollFd> = Vec::new();
            let mut idx = Vec::new();
            for (i, s) in streams.iter().enumerate() {
                if let Some((fd, _)) = s {
                    fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
                    idx.push(i);
                }
            }
            if let Some(s) = &sfd {
                fds.push(PollFd::new(s.as_fd(), PollFlags::POLLIN));
            }
            let timeout = if sfd.is_some() && code.is_none() { PollTimeout::from(1000u16) } else { PollTimeout::from(50u16) };
            if let Err(e) = poll(&mut fds, timeout)
                && e != nix::errno::Errno::EINTR
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
            drop(fds);
            for (k, &i) in idx.iter().enumerate() {
                if !ready[k] {
                    continue;
                }
                let Some((fd, stream)) = &streams[i] else { continue };
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n > 0 {
                    log.write(stream, &buf[..n as usize]);
                } else if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    log.finish(stream);
                    streams[i] = None;
                }
            }
            if let Some(s) = &sfd {
                while let Ok(Some(_)) = s.read_signal() {}
            }
        }
        log.finish("stdout");
        log.finish("stderr");
        code.unwrap_or(255)
    }

    /// Remove the runtime state and cgroup, unmount, and with --rm remove everything.
    fn cleanup(&mut self, container: Option<libcontainer::container::Container>) {
        if let Some(mut c) = container {
            let _ = c.refresh_status();
            let _ = c.delete(true);
        } else if let Ok(mut c) = libcontainer::container::Container::load(runtime_root(&self.root).join(&self.rec.id)) {
            let _ = c.delete(true);
        }
        let _ = rootfs::unmount_rootfs(&self.paths);
        if self.rec.config.auto_remove {
            let _ = remove_container_files(&self.paths);
            let _ = state::delete(&mut self.db, &self.rec.id);
        }
    }
}

/// Set `lo` up in the network namespace of `pid`, as docker does. A forked child joins the
/// namespace so the monitor's own stays untouched (the monitor is single-threaded: fork is safe).
fn loopback_up(pid: i32) -> std::io::Result<()> {
    let ns = std::fs::File::open(format!("/proc/{pid}/ns/net"))?;
    // SAFETY: single-threaded process; the child only makes async-signal-safe calls.
    let child = unsafe { libc::fork() };
    if child < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if child == 0 {
        unsafe {
            let mut ok = libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) == 0;
            let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            ok &= sock >= 0;
            let mut req: libc::ifreq = std::mem::zeroed();
            for (i, b) in b"lo\0".iter().enumerate() {
                req.ifr_name[i] = *b as libc::c_char;
            }
            ok = ok && libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) == 0;
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            ok = ok && libc::ioctl(sock, libc::SIOCSIFFLAGS, &req) == 0;
            libc::_exit(if ok { 0 } else { 1 });
        }
    }
    match waitpid(Pid::from_raw(child), None) {
        Ok(WaitStatus::Exited(_, 0)) => Ok(()),
        _ => Err(std::io::Error::other("could not set lo up in the container's network namespace")),
    }
}

/// Reap children; the exit code of `pid` once it has ended.
fn reap(pid: i32) -> Option<i32> {
    let mut out = None;
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, c)) => {
                if p.as_raw() == pid {
                    out = Some(c);
                }
            }
            Ok(WaitStatus::Signaled(p, s, _)) => {
                if p.as_raw() == pid {
                    out = Some(128 + s as i32);
                }
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return out,
            Ok(_) => {}
        }
    }
}

/// Whether the kernel OOM-killed a process of the container's cgroup (v1 or v2).
pub fn oom_killed(id: &str) -> bool {
    for p in [
        format!("/sys/fs/cgroup/memory/berth/{id}/memory.oom_control"),
        format!("/sys/fs/cgroup/berth/{id}/memory.events"),
        format!("/sys/fs/cgroup/unified/berth/{id}/memory.events"),
    ] {
        if let Ok(s) = std::fs::read_to_string(&p) {
            for l in s.lines() {
                if let Some(n) = l.strip_prefix("oom_kill ")
                    && n.trim().parse::<u64>().unwrap_or(0) > 0
                {
                    return true;
                }
            }
        }
    }
    false
}

/// Remove `containers/<id>/` (after the rootfs is unmounted).
pub fn remove_container_files(paths: &Paths) -> Result<()> {
    if rootfs::is_mounted(&paths.rootfs()) {
        rootfs::unmount_rootfs(paths)?;
    }
    crate::store::snapshots::remove_tree(&paths.dir).map_err(|e| EngineError::io(&paths.dir, e))
}

/// Read a whole status pipe line by line (for tests and tools).
pub fn read_all(mut r: impl Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

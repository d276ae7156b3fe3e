//! The per-container monitor: `berth monitor <id>` re-executes the berth binary, detaches
//! (double fork, own session), and stays single-threaded (no tokio) because libcontainer's
//! `build()` forks with clone3 and runs Rust in the child. It mounts the rootfs, writes the
//! bundle, creates and starts the container as its own child, writes the container's
//! output to the json-file log, `waitpid`s the init, records exit code, finish time and OOM
//! kill in the database, then removes the cgroup, the network set-up and the mount (and
//! everything with --rm). The network is set up before the container is built
//! (`crate::network::start`: a namespace file the spec points at), in this same process.
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
use crate::runtime::process::proc_start_time;
use crate::runtime::rootfs;
use crate::store::containers::{self, ContainerRecord, now_nanos};
use crate::store::db::Db;
use crate::store::images::ImageStore;
use crate::store::volumes;

pub mod attach;
pub mod exec;
pub(crate) mod external;
pub(crate) mod log;
pub(crate) mod memory;

/// The runtime side of a created container: libcontainer's handle, or an external OCI
/// runtime binary (`--runtime`) that knows it by id.
enum Handle {
    Lib(libcontainer::container::Container),
    Ext(external::Runtime),
}

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
    /// The monitor waits for an attach client before it starts the container.
    pub attach_pending: bool,
    reader: BufReader<std::fs::File>,
}

impl Started {
    /// After connecting to the attach socket: wait until the container runs.
    pub fn wait_running(&mut self) -> std::result::Result<i32, StartError> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => {}
            _ => return Err(StartError { code: 125, message: "the container monitor exited before starting the container".into() }),
        }
        self.attach_pending = false;
        let pid = status_line(line.trim_end())?.unwrap_or(0);
        self.pid = pid;
        Ok(pid)
    }

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
}

/// An error starting a container, with the exit code docker would use (125/126/127).
#[derive(Debug)]
pub struct StartError {
    pub code: i32,
    pub message: String,
}

/// Spawn `exe monitor --root ROOT ID` and wait until the container runs. Safe to call from
/// a multi-threaded process (it only spawns a process).
/// With `wait_attach` it returns as soon as the attach socket is up (`attach_pending`):
/// connect, then [`Started::wait_running`].
pub fn spawn(exe: &Path, root: &Path, id: &str, wait_attach: bool) -> std::result::Result<Started, StartError> {
    let err = |m: String| StartError { code: 125, message: m };
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| err(format!("pipe: {e}")))?;
    let wfd = w.as_raw_fd();
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("monitor")
        .arg("--root")
        .arg(root)
        .arg("--status-fd")
        .arg(wfd.to_string())
        .args(if wait_attach { &["--wait-attach"][..] } else { &[] })
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
    match status_line(line.trim_end())? {
        Some(pid) => Ok(Started { pid, attach_pending: false, reader }),
        None => Ok(Started { pid: 0, attach_pending: true, reader }),
    }
}

/// `ok PID` -> Some(pid); `attach` -> None; `error CODE MSG` -> Err.
fn status_line(line: &str) -> std::result::Result<Option<i32>, StartError> {
    if let Some(pid) = line.strip_prefix("ok ") {
        return Ok(Some(pid.parse().unwrap_or(0)));
    }
    if line == "attach" {
        return Ok(None);
    }
    if let Some(rest) = line.strip_prefix("error ") {
        let (code, msg) = rest.split_once(' ').unwrap_or(("125", rest));
        return Err(StartError { code: code.parse().unwrap_or(125), message: msg.to_string() });
    }
    Err(StartError { code: 125, message: format!("unexpected message from the container monitor: {line}") })
}

/// Entry point of `berth monitor`: never returns.
pub fn main(root: &Path, id: &str, status_fd: RawFd, wait_attach: bool) -> ! {
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
        Ok(mut m) => m.run(&mut status, wait_attach),
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
    /// Where client stdin goes: the PTY master (-t) or the stdin pipe (-i).
    input: Option<OwnedFd>,
    /// The PTY master, for window sizes.
    pty: Option<OwnedFd>,
    attach: Option<std::os::unix::net::UnixListener>,
    clients: Vec<Client>,
    /// Reservations of the published host ports, held while the container runs.
    ports: Vec<crate::network::Held>,
}

struct Client {
    sock: std::os::unix::net::UnixStream,
    buf: Vec<u8>,
}

/// docker's exit codes for a process that could not be started.
pub(crate) fn start_failure_code(msg: &str) -> i32 {
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
        let rec = containers::get(&db, id)?.ok_or_else(|| EngineError::ContainerNotFound(id.to_string()))?;
        let paths = Paths::new(root, id);
        Ok(Self { root: root.to_path_buf(), db, rec, paths, input: None, pty: None, attach: None, clients: Vec::new(), ports: Vec::new() })
    }

    fn run(&mut self, status: &mut std::fs::File, wait_attach: bool) -> i32 {
        let me = std::process::id() as i32;
        let _ = containers::set_monitor(&mut self.db, &self.rec.id, me, proc_start_time(me).unwrap_or(0));
        let mut first = true;
        let mut delay = std::time::Duration::from_millis(100);
        // The loop ends with the exit code and what is left to clean (None: already clean).
        let (code, pending) = loop {
            let (container, streams) = match self.create(status, wait_attach && first) {
                Ok(x) => x,
                Err(msg) => {
                    let code = start_failure_code(&msg);
                    if first {
                        let _ = writeln!(status, "error {code} {}", one_line(&msg));
                    }
                    let _ = containers::set_exited(&mut self.db, &self.rec.id, code, false, &msg);
                    if first {
                        self.cleanup(None, true);
                        let _ = containers::clear_monitor(&mut self.db, &self.rec.id);
                        return 1;
                    }
                    break (code, Some(None));
                }
            };
            let (container, pid) = container;
            let started = std::time::Instant::now();
            let _ = containers::set_running(&mut self.db, &self.rec.id, pid, proc_start_time(pid).unwrap_or(0), now_nanos());
            containers::event(&mut self.db, &self.rec, if first { "start" } else { "restart" }, &[]);
            if first {
                let _ = writeln!(status, "ok {pid}");
            }
            first = false;
            let code = self.supervise(pid, streams);
            tracing::debug!(code, "container exited");
            let oom = oom_killed(&self.rec.id);
            let _ = containers::set_exited(&mut self.db, &self.rec.id, code, oom, "");
            if oom {
                containers::event(&mut self.db, &self.rec, "oom", &[]);
            }
            containers::event(&mut self.db, &self.rec, "die", &[("exitCode", code.to_string())]);
            if !self.should_restart(code) {
                break (code, Some(Some(container)));
            }
            // Restart policy: docker's back-off, doubling from 100 ms, reset after 10 s of running.
            self.cleanup(Some(container), false);
            let _ = containers::set_restarting(&mut self.db, &self.rec.id);
            if started.elapsed() > std::time::Duration::from_secs(10) {
                delay = std::time::Duration::from_millis(100);
            }
            std::thread::sleep(delay);
            delay = (delay * 2).min(std::time::Duration::from_secs(60));
            // Stopped or removed while we waited?
            if !matches!(containers::manual_stop(&self.db, &self.rec.id), Ok(Some(false))) {
                let _ = containers::set_exited(&mut self.db, &self.rec.id, code, oom, "");
                break (code, Some(None));
            }
            if let Ok(Some(r)) = containers::get(&self.db, &self.rec.id) {
                self.rec = r;
            }
        };
        if let Some(container) = pending {
            self.finish(container, code, status);
        }
        0
    }

    /// The last cleanup, then `exit CODE` to the starter. With --rm the part a user can see
    /// (mount, row, directory: renamed into trash/) goes first and the slow part (cgroups,
    /// runtime state, deleting files: unlinks cost milliseconds each on this ext4) after the
    /// starter has its exit code.
    fn finish(&mut self, container: Option<Handle>, code: i32, status: &mut std::fs::File) {
        if !self.rec.config.auto_remove {
            self.cleanup(container, true);
            let _ = containers::clear_monitor(&mut self.db, &self.rec.id);
            let _ = writeln!(status, "exit {code}");
            return;
        }
        let _ = rootfs::unmount_rootfs(&self.paths);
        let trash = self.root.join("trash").join(format!("{}-{:016x}", self.rec.id, fastrand::u64(..)));
        let moved = std::fs::create_dir_all(self.root.join("trash")).is_ok() && std::fs::rename(&self.paths.dir, &trash).is_ok();
        // --rm takes the anonymous volumes with it (named ones stay), as docker's does.
        let anon = volumes::anonymous_of(&self.db, &self.rec.id).unwrap_or_default();
        let _ = containers::delete(&mut self.db, &self.rec.id);
        let trashed = volumes::remove_unused_later(&mut self.db, &self.root, &anon);
        containers::event(&mut self.db, &self.rec, "destroy", &[]);
        // The host ports are free before anyone learns of the exit (a `run -p` right after
        // must find them free); the network's teardown follows in `cleanup`.
        self.ports.clear();
        let _ = writeln!(status, "exit {code}");
        self.cleanup(container, true);
        if moved {
            let _ = crate::store::snapshots::remove_tree(&trash);
        }
        for v in trashed {
            let _ = crate::store::snapshots::remove_tree(&v);
        }
    }

    /// Whether the restart policy starts the container again after it exited with `code`.
    fn should_restart(&self, code: i32) -> bool {
        let Ok(Some(manual)) = containers::manual_stop(&self.db, &self.rec.id) else { return false };
        if manual {
            return false;
        }
        let count = containers::get(&self.db, &self.rec.id).ok().flatten().map(|r| r.restart_count).unwrap_or(0);
        self.rec.config.restart.restarts_after(code, count)
    }

    /// Mount, write the bundle, build and start the container. Errors are one line.
    #[allow(clippy::type_complexity)]
    fn create(
        &mut self,
        status: &mut std::fs::File,
        wait_attach: bool,
    ) -> std::result::Result<((Handle, i32), Vec<(OwnedFd, &'static str)>), String> {
        let links = ImageStore::layer_links(&self.db, &self.rec.image_id).map_err(|e| e.to_string())?;
        let snapshots = self.root.join("snapshots");
        rootfs::mount_rootfs(&snapshots, &links, &self.paths).map_err(|e| e.to_string())?;
        for v in &self.rec.config.volumes {
            crate::volume::copy_up(&self.paths.rootfs(), &v.destination, &volumes::data_dir(&self.root, &v.name))
                .map_err(|e| e.to_string())?;
        }
        let mut net = crate::network::start(&mut self.db, &self.root, &self.rec).map_err(|e| e.to_string())?;
        self.ports = std::mem::take(&mut net.held);
        // The driver sets the namespace up while the bundle is written and the runtime
        // builds the container; its process starts only once that is done.
        let pending = net.pending.take();
        match &net.share_etc_from {
            Some(from) => {
                for f in ["hostname", "hosts", "resolv.conf"] {
                    std::fs::copy(from.join(f), self.paths.dir.join(f)).map_err(|e| format!("{}: {e}", from.join(f).display()))?;
                }
            }
            None => crate::network::etc::write(&self.paths.dir, &self.rec.config, &net.etc).map_err(|e| e.to_string())?,
        }
        bundle::write_bundle(&self.rec, &self.paths, net.netns.as_deref()).map_err(|e| e.to_string())?;
        let log_path = self.paths.log(&self.rec.id);
        std::fs::OpenOptions::new().create(true).append(true).open(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
        let dir = self.paths.dir.clone();
        self.attach = Some(attach::bind(&dir, attach::SOCKET).map_err(|e| format!("attach socket in {}: {e}", dir.display()))?);
        let tty = self.rec.config.tty;
        let console = if tty { Some(attach::bind(&dir, "console.sock").map_err(|e| format!("console socket: {e}"))?) } else { None };
        let mut streams = Vec::new();
        let (mut stdin, mut stdout, mut stderr) = (None, None, None);
        if !tty {
            let (out_r, out_w) = nix::unistd::pipe2(cloexec).map_err(|e| format!("pipe: {e}"))?;
            let (err_r, err_w) = nix::unistd::pipe2(cloexec).map_err(|e| format!("pipe: {e}"))?;
            streams.push((out_r, "stdout"));
            streams.push((err_r, "stderr"));
            stdout = Some(out_w);
            stderr = Some(err_w);
            if self.rec.config.open_stdin {
                let (in_r, in_w) = nix::unistd::pipe2(cloexec).map_err(|e| format!("pipe: {e}"))?;
                stdin = Some(in_r);
                self.input = Some(in_w);
            } else {
                stdin = Some(OwnedFd::from(std::fs::File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?));
            }
        }
        if !self.rec.runtime.is_empty() {
            if let Some(p) = pending {
                p.wait().map_err(|e| e.to_string())?;
            }
            return self.create_external(status, wait_attach, console, streams, (stdin, stdout, stderr));
        }
        let rt = runtime_root(&self.root);
        std::fs::create_dir_all(&rt).map_err(|e| format!("{}: {e}", rt.display()))?;
        let lc = |e: libcontainer::error::LibcontainerError| e.to_string();
        let mut builder = libcontainer::container::builder::ContainerBuilder::new(
            self.rec.id.clone(),
            libcontainer::syscall::syscall::SyscallType::default(),
        )
        .with_root_path(&rt)
        .map_err(lc)?;
        if let (Some(i), Some(o), Some(e)) = (stdin, stdout, stderr) {
            builder = builder.with_stdin(i).with_stdout(o).with_stderr(e);
        }
        if tty {
            builder = builder.with_console_socket(Some(dir.join("console.sock")));
        }
        let mut container = builder
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
        if let Some(c) = console {
            match receive_pty(&c) {
                Ok(m) => {
                    let dup = m.try_clone().map_err(|e| format!("dup pty: {e}"))?;
                    let dup2 = m.try_clone().map_err(|e| format!("dup pty: {e}"))?;
                    streams.push((dup, "stdout"));
                    self.input = Some(dup2);
                    self.pty = Some(m);
                }
                Err(e) => {
                    let _ = container.delete(true);
                    return Err(format!("receiving the container's terminal: {e}"));
                }
            }
            let _ = std::fs::remove_file(dir.join("console.sock"));
        }
        let pid = container.pid().map(|p| p.as_raw()).unwrap_or(0);
        if let Some(p) = pending
            && let Err(e) = p.wait()
        {
            let _ = container.delete(true);
            return Err(e.to_string());
        }
        if wait_attach {
            // `run -i/-t`: the client attaches before the container can print anything.
            let _ = writeln!(status, "attach");
            let l = self.attach.as_ref().expect("attach socket");
            let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
            if !matches!(poll(&mut fds, PollTimeout::from(30_000u16)), Ok(n) if n > 0) {
                let _ = container.delete(true);
                return Err("no client attached within 30 seconds".into());
            }
            self.accept();
        }
        if let Err(e) = container.start() {
            let _ = container.delete(true);
            return Err(e.to_string());
        }
        Ok(((Handle::Lib(container), pid), streams))
    }

    /// [`Self::create`] through `--runtime`: `create`, then `start` once an attach client
    /// (if awaited) is there.
    #[allow(clippy::type_complexity)]
    fn create_external(
        &mut self,
        status: &mut std::fs::File,
        wait_attach: bool,
        console: Option<std::os::unix::net::UnixListener>,
        mut streams: Vec<(OwnedFd, &'static str)>,
        stdio: (Option<OwnedFd>, Option<OwnedFd>, Option<OwnedFd>),
    ) -> std::result::Result<((Handle, i32), Vec<(OwnedFd, &'static str)>), String> {
        let rt = external::Runtime::new(&self.rec.runtime, &self.root);
        let dir = self.paths.dir.clone();
        let stdio = match stdio {
            (Some(stdin), Some(stdout), Some(stderr)) => Some(external::Stdio3 { stdin, stdout, stderr }),
            _ => None,
        };
        let sock = dir.join("console.sock");
        let created = rt.create(&self.rec.id, &dir, console.as_ref().map(|l| (l, sock.as_path())), stdio);
        if console.is_some() {
            let _ = std::fs::remove_file(&sock);
        }
        let (pid, pty) = created.map_err(|e| e.to_string())?;
        if let Some(m) = pty {
            let dup = m.try_clone().map_err(|e| format!("dup pty: {e}"))?;
            let dup2 = m.try_clone().map_err(|e| format!("dup pty: {e}"))?;
            streams.push((dup, "stdout"));
            self.input = Some(dup2);
            self.pty = Some(m);
        }
        let id = self.rec.id.clone();
        let fail = |rt: &external::Runtime, msg: String| {
            let _ = rt.delete(&id);
            Err(msg)
        };
        if wait_attach {
            let _ = writeln!(status, "attach");
            let l = self.attach.as_ref().expect("attach socket");
            let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
            if !matches!(poll(&mut fds, PollTimeout::from(30_000u16)), Ok(n) if n > 0) {
                return fail(&rt, "no client attached within 30 seconds".into());
            }
            self.accept();
        }
        if let Err(e) = rt.start(&self.rec.id) {
            return fail(&rt, e.to_string());
        }
        Ok(((Handle::Ext(rt), pid), streams))
    }

    /// Copy output to the log until the init exits; its exit code (128+signal if killed).
    fn accept(&mut self) {
        if let Some(l) = &self.attach
            && let Ok((sock, _)) = l.accept()
        {
            let _ = sock.set_nonblocking(true);
            self.clients.push(Client { sock, buf: Vec::new() });
        }
    }

    /// Handle what a client sent; false when it is gone.
    fn client_input(&mut self, i: usize) -> bool {
        let mut tmp = [0u8; 8192];
        let n = match self.clients[i].sock.read(&mut tmp) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::Interrupted => return true,
            Err(_) => return false,
        };
        self.clients[i].buf.extend_from_slice(&tmp[..n]);
        let Ok(frames) = attach::parse(&mut self.clients[i].buf) else { return false };
        for (kind, p) in frames {
            match kind {
                attach::STDIN => {
                    if let Some(fd) = &self.input {
                        let _ = nix::unistd::write(fd, &p);
                    }
                }
                attach::CLOSE_STDIN if self.pty.is_none() => self.input = None,
                attach::RESIZE if p.len() == 4 => {
                    if let Some(m) = &self.pty {
                        let ws = libc::winsize {
                            ws_row: u16::from_be_bytes([p[0], p[1]]),
                            ws_col: u16::from_be_bytes([p[2], p[3]]),
                            ws_xpixel: 0,
                            ws_ypixel: 0,
                        };
                        unsafe { libc::ioctl(m.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
                    }
                }
                _ => {}
            }
        }
        true
    }

    fn broadcast(&mut self, stream: &str, data: &[u8]) {
        if self.clients.is_empty() {
            return;
        }
        let f = attach::frame(if stream == "stderr" { attach::STDERR } else { attach::STDOUT }, data);
        self.clients.retain_mut(|c| {
            // A client that cannot keep up is dropped rather than stalling the container.
            let _ = c.sock.set_nonblocking(false);
            let _ = c.sock.set_write_timeout(Some(std::time::Duration::from_secs(2)));
            let ok = c.sock.write_all(&f).is_ok();
            let _ = c.sock.set_nonblocking(true);
            ok
        });
    }

    fn supervise(&mut self, pid: i32, streams: Vec<(OwnedFd, &'static str)>) -> i32 {
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGCHLD);
        let _ = mask.thread_block();
        let sfd = SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC).ok();
        let mut log = log::JsonLog::open(&self.paths.log(&self.rec.id));
        let mut streams: Vec<Option<(OwnedFd, &'static str)>> = streams.into_iter().map(Some).collect();
        let mut code: Option<i32> = None;
        let mut deadline: Option<std::time::Instant> = None;
        let mut buf = vec![0u8; 32 * 1024];
        let mut released = false;
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
            let attach_at = fds.len();
            if let Some(l) = &self.attach {
                fds.push(PollFd::new(l.as_fd(), PollFlags::POLLIN));
            }
            let clients_at = fds.len();
            for c in &self.clients {
                fds.push(PollFd::new(c.sock.as_fd(), PollFlags::POLLIN));
            }
            // SIGCHLD arrives through the signalfd (blocked since before the init ran, so
            // never lost): no need to wake up while the container runs.
            let timeout = if sfd.is_some() && code.is_none() { PollTimeout::NONE } else { PollTimeout::from(50u16) };
            if !released {
                // From here on the monitor mostly waits: give back what starting took, at
                // the last moment, so that little code runs between the release and the wait.
                released = true;
                self.db.sleep();
                memory::release();
            }
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
                let stream = *stream;
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n > 0 {
                    log.write(stream, &buf[..n as usize]);
                    let data = buf[..n as usize].to_vec();
                    self.broadcast(stream, &data);
                } else if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                    log.finish(stream);
                    streams[i] = None;
                }
            }
            if let Some(s) = &sfd {
                while let Ok(Some(_)) = s.read_signal() {}
            }
            if self.attach.is_some() && ready.get(attach_at).copied().unwrap_or(false) {
                self.accept();
            }
            let n_clients = ready.len().saturating_sub(clients_at);
            let mut gone = Vec::new();
            for k in 0..n_clients.min(self.clients.len()) {
                if ready[clients_at + k] && !self.client_input(k) {
                    gone.push(k);
                }
            }
            for k in gone.into_iter().rev() {
                self.clients.remove(k);
            }
        }
        log.finish("stdout");
        log.finish("stderr");
        // The exit must be recorded: a database busy for long is waited for.
        for _ in 0..100 {
            match self.db.wake() {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!("reopening the state database: {e}");
                    std::thread::sleep(std::time::Duration::from_millis(300));
                }
            }
        }
        code.unwrap_or(255)
    }

    /// Remove the runtime state and cgroup, unmount, and with --rm remove everything.
    /// `last`: the monitor is done with this container (not restarting it).
    fn cleanup(&mut self, container: Option<Handle>, last: bool) {
        match container {
            Some(Handle::Lib(mut c)) => {
                let _ = c.refresh_status();
                let _ = c.delete(true);
            }
            Some(Handle::Ext(rt)) => {
                let _ = rt.delete(&self.rec.id);
            }
            None => delete_runtime_state(&self.root, &self.rec),
        }
        tracing::debug!("cleanup: runtime state removed");
        self.ports.clear();
        let _ = rootfs::unmount_rootfs(&self.paths);
        tracing::debug!("cleanup: unmounted");
        if last && self.rec.config.auto_remove {
            let _ = remove_container_files(&self.paths);
            tracing::debug!("cleanup: files removed");
            let anon = volumes::anonymous_of(&self.db, &self.rec.id).unwrap_or_default();
            let _ = containers::delete(&mut self.db, &self.rec.id);
            volumes::remove_unused(&mut self.db, &self.root, &anon);
            tracing::debug!("cleanup: row deleted");
        }
        // Last: nobody waits for it (the row of a --rm container is gone already).
        crate::network::stop(&mut self.db, &self.root, &self.rec.id);
        tracing::debug!("cleanup: network torn down");
    }
}

/// Remove whatever runtime state `rec` left (libcontainer's or its `--runtime`'s): the
/// runtime kills what is left of the container and removes its cgroup.
pub fn delete_runtime_state(root: &Path, rec: &ContainerRecord) {
    if rec.runtime.is_empty() {
        let dir = runtime_root(root).join(&rec.id);
        if let Ok(mut c) = libcontainer::container::Container::load(dir.clone()) {
            let _ = c.delete(true);
        }
        if dir.exists() {
            let _ = crate::store::snapshots::remove_tree(&dir);
        }
    } else {
        let rt = external::Runtime::new(&rec.runtime, root);
        if rt.has_state(&rec.id) {
            let _ = rt.delete(&rec.id);
        }
    }
}

/// Receive the PTY master that the container's init sends over the console socket.
pub(crate) fn receive_pty(l: &std::os::unix::net::UnixListener) -> std::io::Result<OwnedFd> {
    use nix::sys::socket::{ControlMessageOwned, MsgFlags, recvmsg};
    let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
    if !matches!(poll(&mut fds, PollTimeout::from(10_000u16)), Ok(n) if n > 0) {
        return Err(std::io::Error::other("timed out"));
    }
    let (conn, _) = l.accept()?;
    let mut data = [0u8; 4096];
    let mut iov = [std::io::IoSliceMut::new(&mut data)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = recvmsg::<()>(conn.as_raw_fd(), &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC).map_err(std::io::Error::from)?;
    for c in msg.cmsgs().map_err(std::io::Error::from)? {
        if let ControlMessageOwned::ScmRights(v) = c
            && let Some(&fd) = v.first()
        {
            // SAFETY: the kernel just gave us this descriptor.
            return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
        }
    }
    Err(std::io::Error::other("no descriptor received"))
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
    oom_killed_in(Path::new("/sys/fs/cgroup"), id)
}

/// [`oom_killed`] over a cgroupfs mounted at `base`: v1 `memory/berth/<id>/memory.oom_control`
/// (`oom_kill N`, kernel 4.13+), v2 `berth/<id>/memory.events` (or under `unified/` on a
/// hybrid host).
pub fn oom_killed_in(base: &Path, id: &str) -> bool {
    let files = [
        base.join("memory/berth").join(id).join("memory.oom_control"),
        base.join("berth").join(id).join("memory.events"),
        base.join("unified/berth").join(id).join("memory.events"),
    ];
    files
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .any(|s| s.lines().any(|l| l.strip_prefix("oom_kill ").is_some_and(|n| n.trim().parse::<u64>().unwrap_or(0) > 0)))
}

/// Remove `containers/<id>/` (after the rootfs is unmounted).
pub fn remove_container_files(paths: &Paths) -> Result<()> {
    if rootfs::is_mounted(&paths.rootfs()) {
        rootfs::unmount_rootfs(paths)?;
    }
    crate::store::snapshots::remove_tree(&paths.dir).map_err(|e| EngineError::io(&paths.dir, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oom_kills_are_read_from_v1_and_v2_trees() {
        let t = tempfile::tempdir().unwrap();
        let put = |rel: &str, text: &str| {
            let p = t.path().join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        };
        assert!(!oom_killed_in(t.path(), "a"));
        put("memory/berth/a/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n");
        assert!(!oom_killed_in(t.path(), "a"));
        put("memory/berth/a/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
        assert!(oom_killed_in(t.path(), "a"));
        put("berth/b/memory.events", "low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\noom_group_kill 0\n");
        assert!(oom_killed_in(t.path(), "b"));
        put("unified/berth/c/memory.events", "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n");
        assert!(!oom_killed_in(t.path(), "c"));
    }
}

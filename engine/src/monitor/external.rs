//! `--runtime PATH`: another OCI runtime binary (runc's command line: `create`, `start`,
//! `kill`, `pause`, `resume`, `exec`, `delete`) driven by the same `berth monitor`. The
//! monitor is a child subreaper, so the container init that `runtime create` leaves behind
//! becomes its child once the runtime exits: it reaps it and records the exit code as it
//! does for libcontainer. Stdio pipes are handed to `create` as its own stdio (the runtime
//! passes them through to the init); a terminal comes back over the console socket as a
//! PTY master. Logs, attach and exit codes therefore work unchanged.
//!
//! The runtime's state lives under `<root>/rt-ext` (its `--root`), apart from
//! libcontainer's `<root>/rt`. Its error messages are read from its `--log` file (JSON),
//! because with pipes its stderr is the container's.
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// What can go wrong driving an external runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("invalid --runtime {path}: no such file")]
    NotFound { path: String },
    #[error("invalid --runtime {path}: not an executable file")]
    NotExecutable { path: String },
    #[error("invalid --runtime {path}: not found in $PATH")]
    NotInPath { path: String },
    #[error("running the OCI runtime {}: {source}", .path.display())]
    Spawn { path: PathBuf, source: std::io::Error },
    #[error("{verb}: {message}")]
    Failed { verb: &'static str, message: String },
}

/// The runtime's state directory (its `--root`).
pub fn state_root(root: &Path) -> PathBuf {
    root.join("rt-ext")
}

/// Check what the user gave to `--runtime` and make it an absolute path: an absolute or
/// relative path to an executable file, or a bare name found in `$PATH`.
pub fn resolve(given: &str) -> Result<PathBuf, RuntimeError> {
    use std::os::unix::fs::PermissionsExt;
    let is_exe = |p: &Path| std::fs::metadata(p).map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !given.contains('/') {
        let path = std::env::var_os("PATH").unwrap_or_default();
        return std::env::split_paths(&path)
            .map(|d| d.join(given))
            .find(|p| matches!(is_exe(p), Ok(true)))
            .ok_or_else(|| RuntimeError::NotInPath { path: given.to_string() });
    }
    let p = std::path::absolute(given).map_err(|_| RuntimeError::NotFound { path: given.to_string() })?;
    match is_exe(&p) {
        Ok(true) => Ok(p),
        Ok(false) => Err(RuntimeError::NotExecutable { path: given.to_string() }),
        Err(_) => Err(RuntimeError::NotFound { path: given.to_string() }),
    }
}

/// One OCI runtime binary with berth's state root for it.
#[derive(Debug, Clone)]
pub struct Runtime {
    exe: PathBuf,
    root: PathBuf,
}

/// The standard streams handed to `create` (the init inherits them).
pub struct Stdio3 {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

impl Runtime {
    pub fn new(exe: impl Into<PathBuf>, berth_root: &Path) -> Self {
        Self { exe: exe.into(), root: state_root(berth_root) }
    }

    fn command(&self, log: Option<&Path>) -> Command {
        let mut c = Command::new(&self.exe);
        c.arg("--root").arg(&self.root);
        if let Some(l) = log {
            c.arg("--log").arg(l).arg("--log-format").arg("json");
        }
        c
    }

    /// Run a short verb (`start`, `kill`, `pause`...): its stderr becomes the error.
    fn verb(&self, verb: &'static str, args: &[&str]) -> Result<(), RuntimeError> {
        let out = self
            .command(None)
            .arg(verb)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|source| RuntimeError::Spawn { path: self.exe.clone(), source })?;
        if out.status.success() {
            return Ok(());
        }
        let msg = String::from_utf8_lossy(&out.stderr).trim().replace('\n', " ");
        Err(RuntimeError::Failed { verb, message: if msg.is_empty() { out.status.to_string() } else { msg } })
    }

    /// `create --bundle DIR --pid-file P [--console-socket S]`: the init waits for `start`.
    /// With `console` the PTY master is returned (received while the runtime runs: it
    /// blocks until we accept). Returns the init's pid.
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        console: Option<(&std::os::unix::net::UnixListener, &Path)>,
        stdio: Option<Stdio3>,
    ) -> Result<(i32, Option<OwnedFd>), RuntimeError> {
        std::fs::create_dir_all(&self.root).map_err(|source| RuntimeError::Spawn { path: self.root.clone(), source })?;
        let log = bundle.join("runtime.log");
        let pid_file = bundle.join("runtime.pid");
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(&pid_file);
        let mut c = self.command(Some(&log));
        c.arg("create").arg("--bundle").arg(bundle).arg("--pid-file").arg(&pid_file);
        let mut _dir = None;
        if let Some((_, sock)) = console {
            let (d, short) = short_socket_path(sock)?;
            _dir = Some(d);
            c.arg("--console-socket").arg(short);
        }
        c.arg(id);
        match stdio {
            Some(s) => c.stdin(Stdio::from(s.stdin)).stdout(Stdio::from(s.stdout)).stderr(Stdio::from(s.stderr)),
            None => c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()),
        };
        let mut child = c.spawn().map_err(|source| RuntimeError::Spawn { path: self.exe.clone(), source })?;
        // Our copies of the pipes' write ends went with `c`.
        drop(c);
        let mut pty = None;
        if let Some((l, _)) = console {
            pty = receive_while_running(l, &mut child);
        }
        let status = child.wait().map_err(|source| RuntimeError::Spawn { path: self.exe.clone(), source })?;
        if !status.success() {
            return Err(RuntimeError::Failed { verb: "create", message: last_error(&log).unwrap_or_else(|| status.to_string()) });
        }
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok())
            .ok_or_else(|| RuntimeError::Failed { verb: "create", message: format!("no pid in {}", pid_file.display()) })?;
        if console.is_some() && pty.is_none() {
            let _ = self.delete(id);
            return Err(RuntimeError::Failed { verb: "create", message: "the runtime sent no terminal".into() });
        }
        Ok((pid, pty))
    }

    pub fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.verb("start", &[id])
    }

    /// `kill ID SIGNAL` (signal number).
    pub fn kill(&self, id: &str, signal: i32) -> Result<(), RuntimeError> {
        self.verb("kill", &[id, &signal.to_string()])
    }

    pub fn pause(&self, id: &str, pause: bool) -> Result<(), RuntimeError> {
        if pause { self.verb("pause", &[id]) } else { self.verb("resume", &[id]) }
    }

    /// `delete --force ID`: kills what is left, removes the cgroup and the state.
    pub fn delete(&self, id: &str) -> Result<(), RuntimeError> {
        self.verb("delete", &["--force", id])
    }

    /// Whether the runtime still has state for `id`.
    pub fn has_state(&self, id: &str) -> bool {
        self.root.join(id).exists()
    }

    /// `exec --process FILE ID` in the foreground with our stdio: the runtime waits for the
    /// process and exits with its code. (code, the runtime's error if it could not start it).
    pub fn exec(&self, id: &str, process: &Path, log: &Path) -> Result<(i32, Option<String>), RuntimeError> {
        let status = self
            .command(Some(log))
            .arg("exec")
            .arg("--process")
            .arg(process)
            .arg(id)
            .status()
            .map_err(|source| RuntimeError::Spawn { path: self.exe.clone(), source })?;
        let code = status.code().unwrap_or(255);
        Ok((code, if code == 0 { None } else { last_error(log) }))
    }

    /// `exec -d --tty --console-socket S --pid-file P --process FILE ID`: the process's pid
    /// and PTY master. The caller must be a child subreaper to wait for the process.
    pub fn exec_tty(
        &self,
        id: &str,
        process: &Path,
        console: (&std::os::unix::net::UnixListener, &Path),
        dir: &Path,
        tag: &str,
    ) -> Result<(i32, OwnedFd), RuntimeError> {
        let log = dir.join(format!("exec-{tag}.log"));
        let pid_file = dir.join(format!("exec-{tag}.pid"));
        let (_dir, sock) = short_socket_path(console.1)?;
        let mut child = self
            .command(Some(&log))
            .arg("exec")
            .arg("--detach")
            .arg("--tty")
            .arg("--console-socket")
            .arg(&sock)
            .arg("--pid-file")
            .arg(&pid_file)
            .arg("--process")
            .arg(process)
            .arg(id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|source| RuntimeError::Spawn { path: self.exe.clone(), source })?;
        let pty = receive_while_running(console.0, &mut child);
        let status = child.wait().map_err(|source| RuntimeError::Spawn { path: self.exe.clone(), source });
        let err = last_error(&log);
        let pid = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse::<i32>().ok());
        let _ = std::fs::remove_file(&log);
        let _ = std::fs::remove_file(&pid_file);
        let status = status?;
        match (status.success(), pid, pty) {
            (true, Some(pid), Some(pty)) => Ok((pid, pty)),
            _ => Err(RuntimeError::Failed { verb: "exec", message: err.unwrap_or_else(|| status.to_string()) }),
        }
    }
}

/// A socket path under a long state root can exceed the 108-byte `sun_path`: the runtime
/// gets it through our descriptor of its directory (kept open while the runtime runs).
fn short_socket_path(sock: &Path) -> Result<(OwnedFd, PathBuf), RuntimeError> {
    let (Some(dir), Some(name)) = (sock.parent(), sock.file_name()) else {
        return Err(RuntimeError::Failed { verb: "create", message: format!("bad socket path {}", sock.display()) });
    };
    let flags = nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC;
    let fd = nix::fcntl::open(dir, flags, nix::sys::stat::Mode::empty())
        .map_err(|e| RuntimeError::Spawn { path: dir.to_path_buf(), source: e.into() })?;
    let short = PathBuf::from(format!("/proc/{}/fd/{}", std::process::id(), std::os::fd::AsRawFd::as_raw_fd(&fd))).join(name);
    Ok((fd, short))
}

/// Accept the console socket's connection and take the PTY master, unless the runtime
/// exits first (it failed before it had a terminal to send).
fn receive_while_running(l: &std::os::unix::net::UnixListener, child: &mut Child) -> Option<OwnedFd> {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < std::time::Duration::from_secs(30) {
        let mut fds = [PollFd::new(l.as_fd(), PollFlags::POLLIN)];
        if matches!(poll(&mut fds, PollTimeout::from(50u16)), Ok(n) if n > 0) {
            return super::receive_pty(l).ok();
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return None;
        }
    }
    None
}

/// The last `error` (or `fatal`) message of a runtime's JSON log.
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find_map(|v| {
        matches!(v["level"].as_str(), Some("error" | "fatal")).then(|| v["msg"].as_str().unwrap_or_default().replace('\n', " "))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_paths_are_checked() {
        assert!(matches!(resolve("/nonexistent/runc"), Err(RuntimeError::NotFound { .. })));
        let t = tempfile::tempdir().unwrap();
        let plain = t.path().join("plain");
        std::fs::write(&plain, "#!/bin/sh\n").unwrap();
        assert!(matches!(resolve(plain.to_str().unwrap()), Err(RuntimeError::NotExecutable { .. })));
        assert!(matches!(resolve("/"), Err(RuntimeError::NotExecutable { .. })));
        assert!(matches!(resolve("no-such-runtime-here"), Err(RuntimeError::NotInPath { .. })));
        assert_eq!(resolve("sh").unwrap().file_name().unwrap(), "sh");
        assert!(resolve("/bin/sh").unwrap().is_absolute());
    }

    #[test]
    fn errors_come_from_the_json_log() {
        let t = tempfile::tempdir().unwrap();
        let p = t.path().join("log");
        std::fs::write(
            &p,
            "{\"level\":\"info\",\"msg\":\"hello\"}\n{\"level\":\"error\",\"msg\":\"exec: \\\"nosuch\\\": executable file not found in $PATH\"}\n",
        )
        .unwrap();
        assert_eq!(last_error(&p).unwrap(), "exec: \"nosuch\": executable file not found in $PATH");
        assert_eq!(last_error(&t.path().join("none")), None);
    }
}

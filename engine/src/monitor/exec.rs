//! `berth exec`: a process started inside a running container. libcontainer's tenant
//! builder forks like `build()` does, so it runs in a fresh single-threaded helper process
//! (`berth exec-helper`, dispatched before tokio) that inherits the caller's stdio, waits for
//! the process and exits with its code.
use std::collections::HashMap;
use std::path::Path;

use nix::sys::wait::{WaitStatus, waitpid};

use crate::runtime::bundle::{Paths, resolve_user};

/// What to run.
#[derive(Debug, Default, Clone)]
pub struct ExecSpec {
    /// Allocate a terminal (`-t`): the helper relays its own stdio to the PTY.
    pub tty: bool,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub user: Option<String>,
    /// With `tty`: relay the PTY over this already-connected socket in the attach
    /// protocol's frames (stdin, resize in; output, then the exit code out) instead of our
    /// own stdio. This is how the dashboard and the `ContainerBackend` trait exec.
    pub frames_fd: Option<i32>,
    /// With `tty` on our own stdio: the detach keys (docker's format). Typing them leaves
    /// the process running (its output is then drained and dropped) and the helper exits 0.
    pub detach_keys: Option<String>,
}

impl ExecSpec {
    /// Helper command-line arguments after `exec-helper --root R ID`.
    pub fn to_args(&self) -> Vec<String> {
        let mut v = Vec::new();
        for e in &self.env {
            v.push("--env".into());
            v.push(e.clone());
        }
        if let Some(c) = &self.cwd {
            v.push("--cwd".into());
            v.push(c.clone());
        }
        if let Some(u) = &self.user {
            v.push("--user".into());
            v.push(u.clone());
        }
        if self.tty {
            v.push("--tty".into());
        }
        if let Some(fd) = self.frames_fd {
            v.push("--frames-fd".into());
            v.push(fd.to_string());
        }
        if let Some(k) = &self.detach_keys {
            v.push("--detach-keys".into());
            v.push(k.clone());
        }
        v.push("--".into());
        v.extend(self.args.iter().cloned());
        v
    }
}

/// Run `spec` in container `id` and return the exit code (126/127 when it cannot be
/// started, as docker does). Must be called in a single-threaded process.
pub fn run(root: &Path, id: &str, spec: &ExecSpec) -> i32 {
    let paths = Paths::new(root, id);
    let runtime = crate::store::db::Db::open(root)
        .and_then(|db| crate::store::containers::get(&db, id))
        .ok()
        .flatten()
        .map(|r| r.runtime)
        .unwrap_or_default();
    if !runtime.is_empty() {
        return run_external(root, id, spec, super::external::Runtime::new(runtime, root));
    }
    let builder = match libcontainer::container::builder::ContainerBuilder::new(
        id.to_string(),
        libcontainer::syscall::syscall::SyscallType::default(),
    )
    .with_root_path(super::runtime_root(root))
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("Error: {e}");
            return 125;
        }
    };
    let env = env_map(spec);
    if spec.tty {
        return run_tty(root, id, spec, builder, env);
    }
    let mut t = builder.as_tenant().with_container_args(spec.args.clone()).with_env(env).with_detach(false).with_cwd(spec.cwd.clone());
    if let Some(u) = &spec.user {
        match resolve_user(&paths.rootfs(), u) {
            Ok(r) => t = t.with_user(Some(r.uid)).with_group(Some(r.gid)).with_additional_gids(r.additional_gids),
            Err(e) => {
                eprintln!("Error: {e}");
                return 126;
            }
        }
    }
    let pid = match t.build() {
        Ok(p) => p,
        Err(e) => return build_error(&e),
    };
    wait_for(pid.as_raw())
}

/// `-e K=V` and `-e K` (from our environment).
fn env_map(spec: &ExecSpec) -> HashMap<String, String> {
    let mut env = HashMap::new();
    for e in &spec.env {
        if let Some((k, v)) = e.split_once('=') {
            env.insert(k.to_string(), v.to_string());
        } else if let Ok(v) = std::env::var(e) {
            env.insert(e.clone(), v);
        }
    }
    env
}

/// `exec` through the container's `--runtime`: the same process description (the
/// container's own, with our changes) handed to `runtime exec --process`.
fn run_external(root: &Path, id: &str, spec: &ExecSpec, rt: super::external::Runtime) -> i32 {
    let paths = Paths::new(root, id);
    let tag = format!("{:016x}", fastrand::u64(..));
    let fail = |m: String| {
        eprintln!("Error: {m}");
        126
    };
    let p = match process_json(&paths, spec, &env_map(spec)) {
        Ok(p) => p,
        Err(m) => return fail(m),
    };
    let pfile = paths.dir.join(format!("exec-{tag}.json"));
    if std::fs::write(&pfile, p.to_string()).is_err() {
        return fail("cannot write the exec process".into());
    }
    if !spec.tty {
        let log = paths.dir.join(format!("exec-{tag}.log"));
        let res = rt.exec(id, &pfile, &log);
        let _ = std::fs::remove_file(&pfile);
        let _ = std::fs::remove_file(&log);
        return match res {
            Ok((_, Some(err))) => super::start_failure_code(&err),
            Ok((code, None)) => code,
            Err(e) => fail(e.to_string()),
        };
    }
    // The process is the runtime's child; once the runtime exits it is ours to wait for.
    unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    let sock_name = format!("exec-{tag}.sock");
    let listener = match super::attach::bind(&paths.dir, &sock_name) {
        Ok(l) => l,
        Err(e) => return fail(format!("console socket: {e}")),
    };
    let sock = paths.dir.join(&sock_name);
    let res = rt.exec_tty(id, &pfile, (&listener, &sock), &paths.dir, &tag);
    let _ = std::fs::remove_file(&pfile);
    let _ = std::fs::remove_file(&sock);
    match res {
        Ok((pid, master)) => relay_tty(master, pid, spec),
        Err(e) => {
            let m = e.to_string();
            eprintln!("Error: {m}");
            super::start_failure_code(&m)
        }
    }
}

/// The process description for an exec: the container's (capabilities, env, user) from its
/// bundle, with the command, terminal, env, cwd and user asked for.
fn process_json(paths: &Paths, spec: &ExecSpec, env: &HashMap<String, String>) -> Result<serde_json::Value, String> {
    let bundle = std::fs::read(paths.dir.join("config.json")).map_err(|_| "container config not found".to_string())?;
    let cfg = serde_json::from_slice::<serde_json::Value>(&bundle).map_err(|_| "container config unreadable".to_string())?;
    let mut p = cfg["process"].clone();
    p["terminal"] = serde_json::json!(spec.tty);
    p["args"] = serde_json::json!(spec.args);
    let mut envs: Vec<String> =
        p["env"].as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(String::from)).collect()).unwrap_or_default();
    for (k, v) in env {
        envs.retain(|e| e.split_once('=').map(|(a, _)| a) != Some(k.as_str()));
        envs.push(format!("{k}={v}"));
    }
    if spec.tty && !envs.iter().any(|e| e.starts_with("TERM=")) {
        envs.push("TERM=xterm".into());
    }
    p["env"] = serde_json::json!(envs);
    if let Some(c) = &spec.cwd {
        p["cwd"] = serde_json::json!(c);
    }
    if let Some(u) = &spec.user {
        let r = resolve_user(&paths.rootfs(), u).map_err(|e| e.to_string())?;
        p["user"] = serde_json::json!({"uid": r.uid, "gid": r.gid, "additionalGids": r.additional_gids});
    }
    Ok(p)
}

fn build_error(e: &libcontainer::error::LibcontainerError) -> i32 {
    {
        {
            let mut m = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                m.push_str(": ");
                m.push_str(&s.to_string());
                src = s.source();
            }
            let m = match m.rsplit_once("error in executing process : ") {
                Some((_, r)) => format!("exec: {r}"),
                None => m,
            };
            eprintln!("Error: {m}");
            super::start_failure_code(&m)
        }
    }
}

fn wait_for(pid: i32) -> i32 {
    loop {
        match waitpid(nix::unistd::Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, c)) => return c,
            Ok(WaitStatus::Signaled(_, s, _)) => return 128 + s as i32,
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return 255,
        }
    }
}

/// `exec -t`: the process gets a PTY (through a console socket, as the monitor's does); this
/// helper puts its own terminal in raw mode and relays bytes and window sizes until the
/// process ends.
fn run_tty(
    root: &Path,
    id: &str,
    spec: &ExecSpec,
    builder: libcontainer::container::builder::ContainerBuilder,
    env: HashMap<String, String>,
) -> i32 {
    let paths = Paths::new(root, id);
    let tag = format!("{:016x}", fastrand::u64(..));
    let fail = |m: String| {
        eprintln!("Error: {m}");
        126
    };
    // The process: the container's own (capabilities, env, user), with our changes.
    let p = match process_json(&paths, spec, &env) {
        Ok(p) => p,
        Err(m) => return fail(m),
    };
    let pfile = paths.dir.join(format!("exec-{tag}.json"));
    if std::fs::write(&pfile, p.to_string()).is_err() {
        return fail("cannot write the exec process".into());
    }
    let sock_name = format!("exec-{tag}.sock");
    let listener = match super::attach::bind(&paths.dir, &sock_name) {
        Ok(l) => l,
        Err(e) => return fail(format!("console socket: {e}")),
    };
    let res =
        builder.with_console_socket(Some(paths.dir.join(&sock_name))).as_tenant().with_process(Some(&pfile)).with_detach(true).build();
    let _ = std::fs::remove_file(&pfile);
    let pid = match res {
        Ok(p) => p.as_raw(),
        Err(e) => {
            let _ = std::fs::remove_file(paths.dir.join(&sock_name));
            return build_error(&e);
        }
    };
    let master = super::receive_pty(&listener);
    let _ = std::fs::remove_file(paths.dir.join(&sock_name));
    let Ok(master) = master else { return wait_for(pid) };
    relay_tty(master, pid, spec)
}

/// Relay a PTY master (to the framed socket, or to our own terminal in raw mode) until the
/// process `pid` closes it; its exit code.
fn relay_tty(master: std::os::fd::OwnedFd, pid: i32, spec: &ExecSpec) -> i32 {
    use std::os::fd::{AsFd, AsRawFd};

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    if let Some(fd) = spec.frames_fd {
        relay_frames(&master, fd);
        let code = wait_for(pid);
        let sock = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
        let _ = nix::unistd::write(sock, &super::attach::frame(EXIT_FRAME, &code.to_be_bytes()));
        return code;
    }
    // Raw mode for our terminal while the session lasts.
    let saved = unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::isatty(0) == 1 && libc::tcgetattr(0, &mut t) == 0 {
            let s = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
            Some(s)
        } else {
            None
        }
    };
    let set_size = || unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 || libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    };
    set_size();
    let mut mask = nix::sys::signal::SigSet::empty();
    mask.add(nix::sys::signal::Signal::SIGWINCH);
    let _ = mask.thread_block();
    let winch = nix::sys::signalfd::SignalFd::with_flags(&mask, nix::sys::signalfd::SfdFlags::SFD_NONBLOCK).ok();
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut buf = [0u8; 8192];
    let mut keys = spec.detach_keys.as_deref().and_then(|k| crate::detach_keys::DetachKeys::parse(k).ok()).map(|k| k.matcher());
    loop {
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if stdin_open {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        let wfd = winch.as_ref().map(|w| w.as_fd());
        if let Some(w) = wfd {
            fds.push(PollFd::new(w, PollFlags::POLLIN));
        }
        if poll(&mut fds, PollTimeout::NONE).is_err() {
            continue;
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        if ready[0] {
            let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            unsafe { libc::write(1, buf.as_ptr().cast(), n as usize) };
        }
        if stdin_open && ready.get(1).copied().unwrap_or(false) {
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                stdin_open = false;
                if let Some(k) = keys.as_mut() {
                    let _ = nix::unistd::write(master.as_fd(), &k.flush());
                }
            } else {
                let data = &buf[..n as usize];
                match keys.as_mut().map(|k| k.feed(data)) {
                    None => {
                        let _ = nix::unistd::write(master.as_fd(), data);
                    }
                    Some(crate::detach_keys::Fed::Forward(d)) => {
                        let _ = nix::unistd::write(master.as_fd(), &d);
                    }
                    Some(crate::detach_keys::Fed::Detach { before }) => {
                        let _ = nix::unistd::write(master.as_fd(), &before);
                        if let Some(s) = saved {
                            unsafe { libc::tcsetattr(0, libc::TCSANOW, &s) };
                        }
                        detach_and_drain(master);
                        return 0;
                    }
                }
            }
        }
        if let Some(w) = &winch
            && ready.last().copied().unwrap_or(false)
        {
            while let Ok(Some(_)) = w.read_signal() {}
            set_size();
        }
    }
    if let Some(s) = saved {
        unsafe { libc::tcsetattr(0, libc::TCSANOW, &s) };
    }
    wait_for(pid)
}

/// After the detach keys: the caller gets exit code 0 now, while a forked child of this
/// helper keeps the PTY master open (the process would get SIGHUP if it closed) and
/// drains its output until the process ends. The process itself is reparented and reaped
/// by init once this helper exits.
fn detach_and_drain(master: std::os::fd::OwnedFd) {
    use std::os::fd::AsRawFd;
    // The child must be out of the caller's session before the caller can exit: when the
    // session leader (the `berth` on the user's terminal) exits, the kernel hangs up its
    // foreground process group, and a child still in it would die and take the master with
    // it. So it ignores SIGHUP, leaves the session, and only then lets us return (pipe EOF).
    let mut ready = [0i32; 2];
    if unsafe { libc::pipe2(ready.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        ready = [-1, -1];
    }
    // Single-threaded helper: fork is safe here.
    match unsafe { libc::fork() } {
        0 => unsafe {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            libc::setsid();
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
            for fd in 0..3 {
                libc::dup2(null, fd);
            }
            libc::close(ready[0]);
            libc::close(ready[1]);
            let mut buf = [0u8; 8192];
            while libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) > 0 {}
            libc::_exit(0);
        },
        pid => unsafe {
            libc::close(ready[1]);
            if pid > 0 && ready[0] >= 0 {
                let mut b = 0u8;
                while libc::read(ready[0], (&mut b as *mut u8).cast(), 1) < 0 && *libc::__errno_location() == libc::EINTR {}
            }
            libc::close(ready[0]);
            drop(master);
        },
    }
}

/// Frame kind carrying the exit code (i32 BE) at the end of a framed exec.
pub const EXIT_FRAME: u8 = 5;

/// Relay between the PTY master and a framed socket until the process closes the PTY.
/// A client that goes away stops input; output is drained until the process ends.
fn relay_frames(master: &std::os::fd::OwnedFd, sock: i32) {
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let sock_fd = unsafe { BorrowedFd::borrow_raw(sock) };
    let mut client = true;
    let mut inbuf: Vec<u8> = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        let mut fds = vec![PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        if client {
            fds.push(PollFd::new(sock_fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => return,
        }
        let ready: Vec<bool> = fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect();
        drop(fds);
        if ready[0] {
            let n = unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                return;
            }
            if client && nix::unistd::write(sock_fd, &super::attach::frame(super::attach::STDOUT, &buf[..n as usize])).is_err() {
                client = false;
            }
        }
        if client && ready.get(1).copied().unwrap_or(false) {
            let n = unsafe { libc::read(sock, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                client = false;
                continue;
            }
            inbuf.extend_from_slice(&buf[..n as usize]);
            let Ok(frames) = super::attach::parse(&mut inbuf) else {
                client = false;
                continue;
            };
            for (kind, payload) in frames {
                match kind {
                    super::attach::STDIN => {
                        let _ = nix::unistd::write(master.as_fd(), &payload);
                    }
                    super::attach::RESIZE if payload.len() == 4 => unsafe {
                        let mut ws: libc::winsize = std::mem::zeroed();
                        ws.ws_row = u16::from_be_bytes([payload[0], payload[1]]);
                        ws.ws_col = u16::from_be_bytes([payload[2], payload[3]]);
                        libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
                    },
                    _ => {}
                }
            }
        }
    }
}

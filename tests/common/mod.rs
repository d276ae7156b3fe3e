//! Shared helpers for the end-to-end tests: a berth command on a private state root, the
//! offline test images from ../shared/fixtures, a loopback registry, and a private dockerd.
//! Everything a test starts is stopped by `Drop`, by PID.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/fixtures` (CI places `shared/` beside the clone).
pub fn fixture_scripts() -> PathBuf {
    let p = std::env::var_os("BERTH_FIXTURES").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared/fixtures"));
    assert!(p.join("make-test-images.sh").is_file(), "test fixtures not found at {} (set BERTH_FIXTURES)", p.display());
    p
}

/// Build the offline test images once per machine build (shared by every test binary,
/// serialised with flock) and return their directory: `oci/<name>`, `<name>.tar`, `digests.txt`.
pub fn images() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = workspace().join("target/test-images");
        std::fs::create_dir_all(&dir).unwrap();
        let script = format!(
            "exec 9>'{d}.lock'; flock 9; [ -s '{d}/digests.txt' ] || '{s}/make-test-images.sh' '{d}' >/dev/null",
            d = dir.display(),
            s = fixture_scripts().display()
        );
        run_ok(Command::new("bash").arg("-c").arg(script));
        dir
    })
}

/// Digests recorded by make-test-images.sh: `(name, key) -> value`, e.g. ("busybox", "config").
pub fn image_digest(name: &str, key: &str) -> String {
    let txt = std::fs::read_to_string(images().join("digests.txt")).unwrap();
    for line in txt.lines() {
        let mut it = line.split_whitespace();
        let (Some(first), Some(second)) = (it.next(), it.next()) else { continue };
        if first == "layer" {
            if second == name {
                for kv in it {
                    if let Some(v) = kv.strip_prefix(&format!("{key}=")) {
                        return v.to_string();
                    }
                }
            }
            continue;
        }
        if first == name {
            for kv in std::iter::once(second).chain(it) {
                if let Some(v) = kv.strip_prefix(&format!("{key}=")) {
                    return v.to_string();
                }
            }
        }
    }
    panic!("no {key} for {name} in digests.txt")
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed: {}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A berth state root and config dir of its own.
pub struct Berth {
    pub dir: tempfile::TempDir,
}

impl Berth {
    pub fn new() -> Self {
        Self { dir: tempfile::Builder::new().prefix("berth-test-").tempdir().unwrap() }
    }
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }
    /// `berth` with BERTH_ROOT and BERTH_CONFIG_DIR set, and docker's config kept private.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_berth"));
        c.env("BERTH_ROOT", self.root())
            .env("BERTH_CONFIG_DIR", self.config_dir())
            .env("DOCKER_CONFIG", self.dir.path().join("docker-config"))
            .env_remove("DOCKER_HOST")
            .stdin(Stdio::null());
        c
    }
    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        stdout(&run_ok(self.cmd().args(args)))
    }
    /// Run and require failure; returns stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(!out.status.success(), "berth {args:?} should fail but printed {}", stdout(&out));
        stderr(&out)
    }
    /// Everything under the state root, for "nothing changed" checks (ignores the db's WAL files).
    pub fn snapshot_tree(&self) -> Vec<String> {
        let mut v = Vec::new();
        walk(&self.root(), &self.root(), &mut v);
        v.retain(|p| !p.contains("berth.db"));
        v.sort();
        v
    }
}

fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(p) else { return };
    for e in rd.flatten() {
        let path = e.path();
        out.push(path.strip_prefix(base).unwrap().display().to_string());
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            walk(base, &path, out);
        }
    }
}

/// A [`Berth`] that removes every container it made when dropped (even when an
/// assertion fails), so no test leaves containers, mounts or monitors behind.
pub struct TestBerth(pub Berth);

impl std::ops::Deref for TestBerth {
    type Target = Berth;
    fn deref(&self) -> &Berth {
        &self.0
    }
}

impl Drop for TestBerth {
    fn drop(&mut self) {
        if let Ok(o) = self.0.cmd().args(["ps", "-aq", "--no-trunc"]).output() {
            let ids: Vec<String> = stdout(&o).lines().map(String::from).collect();
            if !ids.is_empty() {
                let _ = self.0.cmd().arg("rm").arg("-f").args(&ids).output();
            }
        }
    }
}

/// A Debian docker-registry on 127.0.0.1, optionally with htpasswd auth.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub auth: Option<(String, String)>,
}

impl Registry {
    pub fn start(auth: Option<(&str, &str)>) -> Self {
        let dir = tempfile::Builder::new().prefix("berth-registry-").tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut c = Command::new(fixture_scripts().join("start-registry.sh"));
            c.arg(port.to_string()).arg(dir.path());
            if let Some((u, p)) = auth {
                c.arg(u).arg(p);
            }
            if c.output().map(|o| o.status.success()).unwrap_or(false) {
                return Self { dir, port, auth: auth.map(|(u, p)| (u.to_string(), p.to_string())) };
            }
        }
        panic!("could not start docker-registry (apt-get install docker-registry)")
    }
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    /// Push every fixture image (NAME:latest as OCI, NAME:v2s2 as Docker v2.2).
    pub fn push_fixtures(&self) {
        let mut c = Command::new(fixture_scripts().join("push-test-images.sh"));
        c.arg(images()).arg(self.addr());
        if let Some((u, p)) = &self.auth {
            c.arg(format!("{u}:{p}"));
        }
        run_ok(&mut c);
    }
    pub fn pid(&self) -> Option<i32> {
        std::fs::read_to_string(self.dir.path().join("registry.pid")).ok()?.trim().parse().ok()
    }
    pub fn stop(&self) {
        let _ = Command::new(fixture_scripts().join("stop-registry.sh")).arg(self.dir.path()).output();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A private dockerd (own data root, exec root and socket) for cross-checks with docker.
pub struct Dockerd {
    pub dir: tempfile::TempDir,
    pub pid: i32,
    child: std::process::Child,
}

impl Dockerd {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("berth-dockerd-").tempdir_in("/tmp").unwrap();
        let d = dir.path();
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        // Default bridge (never --bridge none: it would delete a docker0 another dockerd uses).
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", d.join("docker.sock").display()))
            .arg("--iptables=false")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("dockerd not found (apt-get install docker.io)");
        let mut me = Self { pid: child.id() as i32, dir, child };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if me.docker().arg("version").output().map(|o| o.status.success()).unwrap_or(false) {
                return me;
            }
            if let Ok(Some(st)) = me.child.try_wait() {
                panic!("dockerd exited ({st}): {}", std::fs::read_to_string(me.dir.path().join("dockerd.log")).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("dockerd did not come up: {}", std::fs::read_to_string(me.dir.path().join("dockerd.log")).unwrap_or_default());
    }
    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }
    /// The docker CLI talking to this daemon, with a private config dir.
    pub fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", self.host()).env("DOCKER_CONFIG", self.dir.path().join("config")).stdin(Stdio::null());
        c
    }
    pub fn ok(&self, args: &[&str]) -> String {
        stdout(&run_ok(self.docker().args(args)))
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.pid, libc::SIGTERM);
        }
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) && !matches!(self.child.try_wait(), Ok(Some(_))) {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Overlay mounts under the data root must go before the temp dir is removed.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("grep -o '{}[^ ]*' /proc/mounts | sort -r | xargs -r umount -l", self.dir.path().display()))
            .status();
    }
}

// --- Containers and terminals (tests/runtimes.rs, tests/boot.rs) ---

/// A state root holding the fixture busybox as `busybox:latest`; its containers are removed
/// when dropped.
pub fn busybox_root() -> TestBerth {
    let b = Berth::new();
    let tar = images().join("busybox.tar");
    b.ok(&["load", "-i", tar.to_str().unwrap()]);
    b.ok(&["tag", "testimg/busybox", "busybox"]);
    TestBerth(b)
}

/// Poll `f` every 50 ms until it holds; panic naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Mount points at or below `p`.
pub fn mounts_below(p: &Path) -> Vec<String> {
    let m = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let p = p.display().to_string();
    m.lines().filter_map(|l| l.split(' ').nth(4)).filter(|m| m.starts_with(&p)).map(String::from).collect()
}

/// Processes whose command line mentions `needle`.
pub fn pids_with(needle: &str) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if let Ok(c) = std::fs::read(format!("/proc/{pid}/cmdline"))
            && String::from_utf8_lossy(&c).contains(needle)
        {
            v.push(pid);
        }
    }
    v
}

/// The command line of `pid`, NULs as spaces.
pub fn cmdline_of(pid: i32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default()).replace('\0', " ")
}

/// cgroup directories of container `id` (v1 controllers and the v2/unified tree).
pub fn cgroups_of(id: &str) -> Vec<String> {
    let mut v = Vec::new();
    for base in ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"] {
        for sub in std::fs::read_dir(base).map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>()).unwrap_or_default() {
            let p = sub.join("berth").join(id);
            if p.exists() {
                v.push(p.display().to_string());
            }
        }
        let p = Path::new(base).join("berth").join(id);
        if p.exists() {
            v.push(p.display().to_string());
        }
    }
    v
}

/// Set a terminal's window size (rows, cols).
pub fn set_size(fd: i32, rows: u16, cols: u16) {
    let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
    unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws) };
}

/// Start berth on a fresh PTY (30x100) as its controlling terminal; (child, master fd).
pub fn spawn_in_pty(b: &Berth, args: &[&str]) -> (std::process::Child, i32) {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (0, 0);
    assert_eq!(unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) }, 0);
    set_size(master, 30, 100);
    let io = |fd: i32| unsafe { Stdio::from(std::fs::File::from_raw_fd(libc::dup(fd))) };
    let mut cmd = b.cmd();
    cmd.args(args).stdin(io(slave)).stdout(io(slave)).stderr(io(slave));
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let child = cmd.spawn().unwrap();
    unsafe { libc::close(slave) };
    (child, master)
}

/// A terminal (30 rows x 100 columns) with berth running in it as the controlling process.
pub struct Pty {
    pub master: i32,
    pub child: std::process::Child,
    pub seen: String,
}

impl Pty {
    pub fn spawn(b: &Berth, args: &[&str]) -> Self {
        let (child, master) = spawn_in_pty(b, args);
        Self { master, child, seen: String::new() }
    }

    /// Read until `want` has been seen (since the last [`Pty::clear`]); panic after `secs`.
    pub fn expect(&mut self, want: &str, secs: u64) {
        let t0 = Instant::now();
        while !self.seen.contains(want) {
            assert!(t0.elapsed() < Duration::from_secs(secs), "timed out waiting for {want:?}; got {:?}", self.seen);
            let mut pfd = libc::pollfd { fd: self.master, events: libc::POLLIN, revents: 0 };
            if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
                continue;
            }
            let mut buf = [0u8; 4096];
            let n = unsafe { libc::read(self.master, buf.as_mut_ptr().cast(), buf.len()) };
            if n > 0 {
                self.seen.push_str(&String::from_utf8_lossy(&buf[..n as usize]));
            }
        }
    }

    pub fn clear(&mut self) {
        self.seen.clear();
    }

    pub fn send(&self, s: &str) {
        assert_eq!(unsafe { libc::write(self.master, s.as_ptr().cast(), s.len()) }, s.len() as isize);
    }

    /// berth's exit code (panics if it does not exit within 20 s).
    pub fn wait(&mut self) -> Option<i32> {
        let t0 = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            assert!(t0.elapsed() < Duration::from_secs(20), "berth did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        unsafe { libc::close(self.master) };
    }
}

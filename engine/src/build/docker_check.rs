//! Cross-checks with the real thing: the same context and `.dockerignore` built by the
//! docker CLI with the legacy builder (`DOCKER_BUILDKIT=0`: the CLI applies the patterns
//! itself when it writes the context tar) on a private dockerd, `COPY . /ctx` from the
//! offline busybox fixture, and `find /ctx` in the result compared with what berth's
//! context walk includes.
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::context::from_dir;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf()
}

/// The offline test images, built once per machine (same place and lock as tests/common).
fn busybox_tar() -> PathBuf {
    let fixtures = std::env::var_os("BERTH_FIXTURES").map(PathBuf::from).unwrap_or_else(|| workspace().join("../shared/fixtures"));
    assert!(fixtures.join("make-test-images.sh").is_file(), "test fixtures not found at {} (set BERTH_FIXTURES)", fixtures.display());
    let dir = workspace().join("target/test-images");
    std::fs::create_dir_all(&dir).unwrap();
    let script = format!(
        "exec 9>'{d}.lock'; flock 9; [ -s '{d}/digests.txt' ] || '{s}/make-test-images.sh' '{d}' >/dev/null",
        d = dir.display(),
        s = fixtures.display()
    );
    let st = Command::new("bash").arg("-c").arg(script).status().unwrap();
    assert!(st.success(), "make-test-images.sh failed");
    dir.join("busybox.tar")
}

/// A private dockerd (own data root, exec root and socket), stopped by PID when dropped.
struct Dockerd {
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl Dockerd {
    fn start() -> Self {
        let dir = tempfile::Builder::new().prefix("berth-build-dockerd-").tempdir_in("/tmp").unwrap();
        let d = dir.path();
        let log = std::fs::File::create(d.join("dockerd.log")).unwrap();
        // The default bridge (never --bridge none: it would delete a docker0 another dockerd uses).
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
        let mut me = Dockerd { dir, child };
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(60) {
            if me.docker().arg("version").output().is_ok_and(|o| o.status.success()) {
                return me;
            }
            if let Ok(Some(st)) = me.child.try_wait() {
                panic!("dockerd exited ({st}): {}", std::fs::read_to_string(me.dir.path().join("dockerd.log")).unwrap_or_default());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("dockerd did not come up: {}", std::fs::read_to_string(me.dir.path().join("dockerd.log")).unwrap_or_default());
    }

    fn docker(&self) -> Command {
        let mut c = Command::new("docker");
        c.env("DOCKER_HOST", format!("unix://{}", self.dir.path().join("docker.sock").display()))
            .env("DOCKER_CONFIG", self.dir.path().join("config"))
            .env("DOCKER_BUILDKIT", "0")
            .stdin(Stdio::null());
        c
    }

    fn ok(&self, args: &[&str], cwd: Option<&Path>) -> String {
        let mut c = self.docker();
        c.args(args);
        if let Some(d) = cwd {
            c.current_dir(d);
        }
        let o = c.output().unwrap();
        assert!(o.status.success(), "docker {args:?} failed: {}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
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

const FILES: &[&str] = &[
    "README.md",
    "a.md",
    "docs/b.md",
    "docs/README.md",
    "dir/keep",
    "dir/other",
    "dir/sub/keep",
    "dir/sub/x",
    "x.log",
    "logs/y.log",
    "logs/deep/z.log",
    "node_modules/m/i.js",
    "pkg/node_modules/n.js",
    "pkg/src/p.js",
    "abs",
    "sub/abs",
    "rel/x",
    "x",
    "a/b/c",
    "a/b/d",
    "a/e",
    "a.txt",
    "ab.txt",
    "b1.log",
    "d1.log",
    "bx.cfg",
    "ax.cfg",
    "foo",
    "afoo",
    "d/barfoo",
    "src/main.rs",
    "src/keep/k.rs",
    "src/keep/notes.txt",
    "src/deep/m/n.rs",
    "spaced.txt",
    "sub/one.keep",
    "sub/two.txt",
    "sub/inner/three.keep",
    "file1",
    "filed",
    ".hidden",
    ".keep",
    ".cfg/x",
    "weird [name].txt",
    "with space.txt",
];

/// Pattern sets chosen for Docker's quirks: re-inclusion below an excluded directory (and
/// its literal-prefix rule), parent results flowing to children, `**` at either end,
/// cleaning and the leading `/`, classes, `\d`, comments, and the Dockerfile and
/// `.dockerignore` themselves.
const PATTERN_SETS: &[&str] = &[
    "*.md\n!README.md\n",
    "dir\n!dir/keep\n",
    "dir\n!**/keep\n",
    "**/*.log\n",
    "**/node_modules\n",
    "/abs\n./rel/../x\n",
    "*\n!src\n",
    "a/*\n!a/b\n",
    "?.txt\n[a-c]*.log\n[^a]x.cfg\n",
    "**foo\n",
    "src/**/*.rs\n!src/keep/**\n",
    "# comment\n  spaced.txt  \nsub/**\n!sub/*.keep\n",
    "file\\d\n.*\n!.keep\n",
    "Dockerfile\n.dockerignore\nweird*\n",
    "**\n!**/*.keep\n",
];

fn make_context(dir: &Path) {
    for f in FILES {
        let p = dir.join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, f.as_bytes()).unwrap();
    }
    std::fs::create_dir_all(dir.join("emptydir")).unwrap();
    std::os::unix::fs::symlink("a.txt", dir.join("lnk")).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM busybox\nCOPY . /ctx\n").unwrap();
}

/// What `COPY . /ctx` puts in the image per berth: the included entries and the
/// directories above them.
fn berth_view(dir: &Path, ignore: &str) -> BTreeSet<String> {
    let ctx = from_dir(dir.to_path_buf(), String::new(), "Dockerfile".into(), Some(&dir.join("Dockerfile")), Some(ignore)).unwrap();
    let mut out = BTreeSet::new();
    for e in &ctx.entries {
        let mut p = e.path.as_str();
        out.insert(p.to_string());
        while let Some((parent, _)) = p.rsplit_once('/') {
            out.insert(parent.to_string());
            p = parent;
        }
    }
    out
}

#[test]
fn dockerignore_matches_the_docker_cli() {
    let tar = busybox_tar();
    let dockerd = Dockerd::start();
    dockerd.ok(&["load", "-i", tar.to_str().unwrap()], None);
    dockerd.ok(&["tag", "testimg/busybox", "busybox"], None);
    let mut failures = Vec::new();
    for (n, patterns) in PATTERN_SETS.iter().enumerate() {
        let ctx = tempfile::tempdir().unwrap();
        make_context(ctx.path());
        std::fs::write(ctx.path().join(".dockerignore"), patterns).unwrap();
        let tag = format!("ignore-check-{n}");
        dockerd.ok(&["build", "-q", "-t", &tag, "."], Some(ctx.path()));
        let found = dockerd.ok(&["run", "--rm", "--network", "none", &tag, "find", "/ctx"], None);
        let docker: BTreeSet<String> = found.lines().filter_map(|l| l.strip_prefix("/ctx/")).map(str::to_string).collect();
        let berth = berth_view(ctx.path(), patterns);
        if docker != berth {
            failures.push(format!(
                "patterns {patterns:?}:\n  only docker: {:?}\n  only berth: {:?}",
                docker.difference(&berth).collect::<Vec<_>>(),
                berth.difference(&docker).collect::<Vec<_>>()
            ));
        }
        assert!(!docker.is_empty() || patterns.starts_with("**\n"), "the check itself saw nothing for {patterns:?}");
    }
    assert!(failures.is_empty(), "berth and docker disagree:\n{}", failures.join("\n"));
}

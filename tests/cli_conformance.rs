//! The CLI as a user drives it, on both backends with the same assertions: the `berth`
//! binary against the embedded engine, and the same command lines with `-H` against a
//! private dockerd. Terminal verbs run on a real PTY (berth is its controlling process):
//! `run -it` with a resize and the exit code, `attach` with the detach keys, `exec -it`,
//! `start -a -i`; then `run -d` + `logs -f`, pipes with `-i`, `cp` both ways, `pause`,
//! `unpause`, `restart`, `rename`, the pull before `run`/`create` (`--pull`), and
//! `--format json` (whose keys are checked against the docker CLI itself).
//!
//! Each backend gets one test running every check in order on its own fixture (a state
//! root, or a dockerd), so the fixture is set up once and always torn down.
mod common;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const IMAGE: &str = "testimg/busybox";

/// berth on one backend: the embedded engine, or a dockerd through `-H`.
struct Cli {
    berth: TestBerth,
    dockerd: Option<Dockerd>,
}

impl Cli {
    fn embedded() -> Self {
        let berth = TestBerth(Berth::new());
        berth.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
        Cli { berth, dockerd: None }
    }

    fn dockerd() -> Self {
        let d = Dockerd::start();
        d.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
        Cli { berth: TestBerth(Berth::new()), dockerd: Some(d) }
    }

    fn name(&self) -> &'static str {
        if self.dockerd.is_some() { "dockerd" } else { "embedded" }
    }

    /// The argument list for `args` on this backend.
    fn argv<'a>(&'a self, args: &[&'a str]) -> Vec<String> {
        let mut v: Vec<String> = Vec::new();
        if let Some(d) = &self.dockerd {
            v.push("-H".into());
            v.push(d.host());
        }
        v.extend(args.iter().map(|s| s.to_string()));
        v
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.berth.cmd();
        c.args(self.argv(args));
        c
    }

    /// Exit code, stdout, stderr.
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let o = self.cmd(args).output().unwrap();
        (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
    }

    fn ok(&self, args: &[&str]) -> String {
        let (code, out, err) = self.run(args);
        assert_eq!(code, 0, "[{}] berth {args:?}: {err}", self.name());
        out
    }

    fn pty(&self, args: &[&str]) -> Pty {
        let argv = self.argv(args);
        Pty::spawn(&self.berth, &argv.iter().map(String::as_str).collect::<Vec<_>>())
    }

    fn inspect(&self, what: &str, ctr: &str) -> String {
        self.ok(&["inspect", "-f", what, ctr]).trim().to_string()
    }
}

/// Read and keep whatever arrives on the PTY for `ms` (to let a resize settle).
fn settle(ms: u64) {
    std::thread::sleep(Duration::from_millis(ms));
}

/// `run -it` through a real terminal: the size is right from the start and follows a
/// resize; keys reach the shell; berth exits with the shell's code; `--rm` leaves nothing.
fn run_it_with_resize_and_exit_code(c: &Cli) {
    let mut t = c.pty(&["run", "--rm", "-it", "--name", "it1", IMAGE, "sh"]);
    t.expect("# ", 30);
    t.send("stty size; echo $((6*7))\r");
    t.expect("42", 10);
    assert!(t.seen.contains("30 100"), "[{}] initial size: {:?}", c.name(), t.seen);
    set_size(t.master, 40, 120);
    settle(500);
    t.clear();
    t.send("stty size\r");
    t.expect("40 120", 10);
    t.send("exit 3\r");
    assert_eq!(t.wait(), Some(3), "[{}] berth exits with the container's code", c.name());
    let left = c.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    assert!(!left.lines().any(|l| l == "it1"), "[{}] --rm leaves nothing: {left}", c.name());
}

/// `run -d` prints the ID; `logs -f` follows the output until the container exits.
fn run_d_and_logs_follow(c: &Cli) {
    let id = c.ok(&["run", "-d", "--name", "lg", IMAGE, "sh", "-c", "echo one; sleep 1; echo two >&2; sleep 1; echo three"]);
    let id = id.trim();
    assert!(id.len() == 64 && id.chars().all(|ch| ch.is_ascii_hexdigit()), "[{}] run -d prints the ID: {id:?}", c.name());
    let t0 = std::time::Instant::now();
    let (code, out, err) = c.run(&["logs", "-f", "lg"]);
    assert_eq!(code, 0, "[{}] {err}", c.name());
    assert_eq!((out.as_str(), err.as_str()), ("one\nthree\n", "two\n"), "[{}] logs -f keeps stdout and stderr apart", c.name());
    assert!(t0.elapsed() >= Duration::from_millis(1000), "[{}] logs -f returned before the container ended", c.name());
    assert_eq!(c.inspect("{{.State.Running}} {{.State.ExitCode}}", "lg"), "false 0");
    c.ok(&["rm", "lg"]);
}

/// Without a terminal: stdin through a pipe with `-i`, stdout and stderr apart, the code.
fn pipes_with_dash_i(c: &Cli) {
    let mut child = c
        .cmd(&["run", "--rm", "-i", IMAGE, "sh", "-c", "tr a-z A-Z; echo to-err >&2; exit 4"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"quiet\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!((o.status.code(), stdout(&o).as_str(), stderr(&o).as_str()), (Some(4), "QUIET\n", "to-err\n"), "[{}]", c.name());
}

/// `attach` to a running shell, then the detach keys: berth exits 0, the container runs on.
fn attach_and_detach(c: &Cli) {
    c.ok(&["run", "-d", "-it", "--name", "at", IMAGE, "sh"]);
    let mut t = c.pty(&["attach", "at"]);
    settle(300);
    t.send("echo back-$((40+2))\r");
    t.expect("back-42", 10);
    t.send("\x10\x11");
    assert_eq!(t.wait(), Some(0), "[{}] detaching exits 0", c.name());
    assert_eq!(c.inspect("{{.State.Running}}", "at"), "true", "[{}] the container keeps running", c.name());
    // And again with other keys; the default ones are just keys then.
    let mut t = c.pty(&["attach", "--detach-keys", "ctrl-x,x", "at"]);
    settle(300);
    t.send("echo again-$((3*3))\r");
    t.expect("again-9", 10);
    t.send("\x18x");
    assert_eq!(t.wait(), Some(0));
    assert_eq!(c.inspect("{{.State.Running}}", "at"), "true");
}

/// `exec -it`: a terminal of the right size that follows resizes, and the process's code.
fn exec_it(c: &Cli) {
    let mut t = c.pty(&["exec", "-it", "at", "sh"]);
    t.expect("# ", 30);
    t.send("tty; stty size; echo $((6*7))\r");
    t.expect("42", 10);
    assert!(t.seen.contains("/dev/pts/") && t.seen.contains("30 100"), "[{}] {:?}", c.name(), t.seen);
    set_size(t.master, 44, 111);
    settle(500);
    t.clear();
    t.send("stty size\r");
    t.expect("44 111", 10);
    t.send("exit 5\r");
    assert_eq!(t.wait(), Some(5), "[{}] berth exits with the exec'd process's code", c.name());
    // Detaching leaves the exec'd process running.
    let mut t = c.pty(&["exec", "-it", "at", "sh", "-c", "echo ready; exec sleep 4321"]);
    t.expect("ready", 30);
    t.send("\x10\x11");
    assert_eq!(t.wait(), Some(0));
    settle(300);
    let ps = c.ok(&["exec", "at", "ps", "-o", "args"]);
    assert!(ps.contains("sleep 4321"), "[{}] the exec'd process outlives the detach: {ps}", c.name());
    // Without a terminal: stdout and stderr apart, the code.
    assert_eq!(c.run(&["exec", "at", "sh", "-c", "echo e-out; echo e-err >&2; exit 6"]), (6, "e-out\n".into(), "e-err\n".into()));
    // -d: the process runs on its own.
    assert_eq!(c.ok(&["exec", "-d", "at", "sh", "-c", "echo detached > /tmp/d"]), "");
    wait_for("exec -d to run", Duration::from_secs(10), || c.run(&["exec", "at", "cat", "/tmp/d"]).1 == "detached\n");
}

/// `start -a -i` on a created container: attached from the first byte, input flows, the
/// container's code.
fn start_attach_interactive(c: &Cli) {
    c.ok(&["create", "-it", "--name", "st", IMAGE, "sh"]);
    let mut t = c.pty(&["start", "-a", "-i", "st"]);
    t.expect("# ", 30);
    t.send("echo started-$((6*7))\r");
    t.expect("started-42", 10);
    t.send("exit 7\r");
    assert_eq!(t.wait(), Some(7), "[{}]", c.name());
    assert_eq!(c.inspect("{{.State.Status}} {{.State.ExitCode}}", "st"), "exited 7");
    // start -a without a terminal: the output, the code.
    c.ok(&["create", "--name", "st2", IMAGE, "sh", "-c", "echo from-start; exit 2"]);
    assert_eq!(c.run(&["start", "-a", "st2"]), (2, "from-start\n".into(), String::new()), "[{}]", c.name());
    c.ok(&["rm", "st", "st2"]);
}

/// `cp` into a container and back out.
fn cp_both_ways(c: &Cli) {
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("in.txt"), "from the host\n").unwrap();
    let src = host.path().join("in.txt");
    c.ok(&["cp", src.to_str().unwrap(), "at:/tmp/"]);
    assert_eq!(c.ok(&["exec", "at", "cat", "/tmp/in.txt"]), "from the host\n", "[{}]", c.name());
    c.ok(&["exec", "at", "sh", "-c", "mkdir -p /tmp/out && echo from-inside > /tmp/out/f"]);
    let dst = host.path().join("back");
    c.ok(&["cp", "at:/tmp/out", dst.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(dst.join("f")).unwrap(), "from-inside\n", "[{}]", c.name());
}

/// `pause`/`unpause`, `rename`, `restart`.
fn pause_rename_restart(c: &Cli) {
    assert_eq!(c.ok(&["pause", "at"]), "at\n");
    assert_eq!(c.inspect("{{.State.Status}} {{.State.Paused}}", "at"), "paused true", "[{}]", c.name());
    assert_eq!(c.ok(&["unpause", "at"]), "at\n");
    assert_eq!(c.inspect("{{.State.Status}} {{.State.Paused}}", "at"), "running false");
    c.ok(&["rename", "at", "renamed"]);
    let (code, _, err) = c.run(&["inspect", "at"]);
    assert!(code != 0 && err.contains("No such object"), "[{}] the old name is free: {err}", c.name());
    let pid = c.inspect("{{.State.Pid}}", "renamed");
    assert_eq!(c.ok(&["restart", "-t", "1", "renamed"]), "renamed\n");
    assert_eq!(c.inspect("{{.State.Running}}", "renamed"), "true");
    assert_ne!(c.inspect("{{.State.Pid}}", "renamed"), pid, "[{}] restart runs a new process", c.name());
    c.ok(&["rm", "-f", "renamed"]);
}

/// `run`/`create` pull a missing image first (the note and the progress on stderr, as
/// docker); `--pull never` refuses, `--pull always` pulls anyway; a failed pull is one
/// error line, exit 125, and nothing is created.
fn pull_before_run(c: &Cli, registry: &Registry) {
    let img = format!("{}/busybox:latest", registry.addr());
    let (code, out, err) = c.run(&["run", "--pull", "never", "--rm", &img, "true"]);
    assert_eq!(code, 125, "[{}] {err}", c.name());
    assert!(err.lines().count() == 1 && err.starts_with("Error:") && err.contains("No such image"), "[{}] {err}", c.name());
    assert_eq!(out, "");
    let (code, out, err) = c.run(&["run", "--rm", &img, "echo", "pulled"]);
    assert_eq!(code, 0, "[{}] {err}", c.name());
    assert_eq!(out, "pulled\n", "[{}] only the container's output on stdout", c.name());
    assert!(err.starts_with(&format!("Unable to find image '{img}' locally\n")), "[{}] {err}", c.name());
    assert!(!err.contains("Error"), "[{}] {err}", c.name());
    // In the store now: no note, no pull.
    assert_eq!(c.run(&["run", "--rm", &img, "echo", "again"]), (0, "again\n".into(), String::new()), "[{}]", c.name());
    let (code, out, err) = c.run(&["create", "--pull", "always", "--name", "pulled", &img]);
    assert_eq!(code, 0, "[{}] {err}", c.name());
    assert_eq!(out.trim().len(), 64, "[{}] create prints only the ID: {out}", c.name());
    assert!(!err.is_empty() && !err.contains("Unable to find"), "[{}] --pull always shows the pull: {err}", c.name());
    c.ok(&["rm", "pulled"]);
    let before = c.ok(&["ps", "-aq"]);
    for verb in ["run", "create"] {
        let missing = format!("{}/nope:latest", registry.addr());
        let (code, out, err) = c.run(&[verb, &missing, "true"]);
        assert_eq!(code, 125, "[{}] {verb}: {err}", c.name());
        assert_eq!(out, "");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("Error")).collect();
        assert_eq!(errors.len(), 1, "[{}] {verb}: one error line: {err}", c.name());
        assert!(err.lines().all(|l| l.starts_with("Error") || l.starts_with("Unable to find")), "[{}] {verb}: {err}", c.name());
    }
    assert_eq!(c.ok(&["ps", "-aq"]), before, "[{}] a failed pull creates nothing", c.name());
    // A bad --pull value is a usage error.
    let (code, _, err) = c.run(&["run", "--pull", "sometimes", IMAGE, "true"]);
    assert_eq!(code, 125, "[{}] {err}", c.name());
}

/// docker's keys for `ps`, `images` and `volume ls` with `--format json` (docker CLI 28).
const PS_KEYS: &[&str] = &[
    "Command",
    "CreatedAt",
    "ID",
    "Image",
    "Labels",
    "LocalVolumes",
    "Mounts",
    "Names",
    "Networks",
    "Platform",
    "Ports",
    "RunningFor",
    "Size",
    "State",
    "Status",
];
const IMAGES_KEYS: &[&str] =
    &["Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"];
const VOLUME_KEYS: &[&str] = &["Availability", "Driver", "Group", "Labels", "Links", "Mountpoint", "Name", "Scope", "Size", "Status"];

/// Every line one JSON object; the objects of the lines.
fn json_lines(out: &str) -> Vec<serde_json::Map<String, serde_json::Value>> {
    assert!(!out.trim().is_empty(), "no output");
    out.lines()
        .map(|l| match serde_json::from_str::<serde_json::Value>(l) {
            Ok(serde_json::Value::Object(m)) => m,
            other => panic!("not one JSON object a line: {l:?} ({other:?})"),
        })
        .collect()
}

fn keys(m: &serde_json::Map<String, serde_json::Value>) -> Vec<&str> {
    m.keys().map(String::as_str).collect()
}

/// `--format json`: one object a line with docker's keys (in its order), the values a
/// template would give; `inspect --format json` the JSON array on one line.
fn format_json(c: &Cli) {
    c.ok(&["run", "-d", "--name", "fj", "-l", "a=b", IMAGE, "sleep", "300"]);
    c.ok(&["volume", "create", "fjvol"]);
    let rows = json_lines(&c.ok(&["ps", "--format", "json"]));
    let row = rows.iter().find(|r| r["Names"] == "fj").unwrap_or_else(|| panic!("[{}] fj not listed: {rows:?}", c.name()));
    assert_eq!(keys(row), PS_KEYS, "[{}]", c.name());
    assert_eq!((row["Image"].as_str(), row["State"].as_str(), row["Labels"].as_str()), (Some(IMAGE), Some("running"), Some("a=b")));
    assert_eq!(row["ID"].as_str().unwrap(), c.ok(&["ps", "-q", "--filter", "name=fj"]).trim());
    let rows = json_lines(&c.ok(&["images", "--format", "json"]));
    let row = rows.iter().find(|r| r["Repository"] == IMAGE).unwrap_or_else(|| panic!("[{}] {rows:?}", c.name()));
    assert_eq!(keys(row), IMAGES_KEYS, "[{}]", c.name());
    assert_eq!((row["Tag"].as_str(), row["Digest"].as_str()), (Some("latest"), Some("<none>")));
    let rows = json_lines(&c.ok(&["volume", "ls", "--format", "json"]));
    let row = rows.iter().find(|r| r["Name"] == "fjvol").unwrap_or_else(|| panic!("[{}] {rows:?}", c.name()));
    assert_eq!(keys(row), VOLUME_KEYS, "[{}]", c.name());
    assert_eq!(row["Driver"], "local");
    for (args, id) in [(&["inspect", "--format", "json", "fj"][..], "Id"), (&["volume", "inspect", "--format", "json", "fjvol"], "Name")] {
        let out = c.ok(args);
        assert_eq!(out.lines().count(), 1, "[{}] {args:?}: {out}", c.name());
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert!(v.as_array().is_some_and(|a| a.len() == 1 && a[0].get(id).is_some()), "[{}] {args:?}: {out}", c.name());
    }
    c.ok(&["rm", "-f", "fj"]);
    c.ok(&["volume", "rm", "fjvol"]);
}

/// The docker CLI's own `--format json` keys on the same daemon: the constants above are
/// docker's (so the embedded engine is held to docker's keys, not to ours).
fn keys_are_the_docker_clis(d: &Dockerd) {
    d.ok(&["run", "-d", "--name", "dk", IMAGE, "sleep", "300"]);
    d.ok(&["volume", "create", "dkvol"]);
    let ps = json_lines(&d.ok(&["ps", "--format", "json"]));
    assert_eq!(keys(&ps[0]), PS_KEYS, "docker ps");
    let images = json_lines(&d.ok(&["images", "--format", "json"]));
    assert_eq!(keys(&images[0]), IMAGES_KEYS, "docker images");
    let volumes = json_lines(&d.ok(&["volume", "ls", "--format", "json"]));
    assert_eq!(keys(&volumes[0]), VOLUME_KEYS, "docker volume ls");
    assert_eq!(d.ok(&["inspect", "--format", "json", "dk"]).lines().count(), 1, "docker inspect --format json is one line");
    d.ok(&["rm", "-f", "dk"]);
    d.ok(&["volume", "rm", "dkvol"]);
}

fn suite(c: &Cli, registry: &Registry) {
    run_it_with_resize_and_exit_code(c);
    run_d_and_logs_follow(c);
    pipes_with_dash_i(c);
    attach_and_detach(c);
    exec_it(c);
    start_attach_interactive(c);
    cp_both_ways(c);
    pause_rename_restart(c);
    pull_before_run(c, registry);
    format_json(c);
}

#[test]
fn cli_on_the_embedded_engine() {
    let registry = Registry::start(None);
    registry.push_fixtures();
    suite(&Cli::embedded(), &registry);
}

#[test]
fn cli_on_dockerd() {
    let registry = Registry::start(None);
    registry.push_fixtures();
    let c = Cli::dockerd();
    keys_are_the_docker_clis(c.dockerd.as_ref().unwrap());
    suite(&c, &registry);
    let left = c.dockerd.as_ref().unwrap().ok(&["ps", "-aq"]);
    assert_eq!(left.trim(), "", "the suite removes what it made");
}

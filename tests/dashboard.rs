//! The dashboard end to end, as root, on the embedded engine: `berth` runs in a tmux
//! session (a real terminal) on a private state root; containers started by another berth
//! process show up; a key stops a container for real; `q` gives the shell back intact.
mod common;
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;

/// A tmux server of our own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(cols: u16, rows: u16) -> Self {
        let t = Tmux { socket: format!("berth-dash-{}-{}", std::process::id(), fastrand_suffix()) };
        let out = t
            .cmd()
            .args(["new-session", "-d", "-s", "dash", "-x", &cols.to_string(), "-y", &rows.to_string(), "bash --norc --noprofile"])
            .output()
            .unwrap();
        assert!(out.status.success(), "tmux: {}", stderr(&out));
        t
    }
    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket]);
        c
    }
    fn send(&self, keys: &[&str]) {
        run_ok(self.cmd().args(["send-keys", "-t", "dash"]).args(keys));
    }
    fn capture(&self) -> String {
        stdout(&run_ok(self.cmd().args(["capture-pane", "-p", "-t", "dash"])))
    }
    fn alternate_on(&self) -> bool {
        stdout(&run_ok(self.cmd().args(["display-message", "-p", "-t", "dash", "#{alternate_on}"]))).trim() == "1"
    }
    /// Wait until the screen satisfies `f`; the screen when it did, or a panic with it.
    fn wait_for(&self, what: &str, timeout: Duration, f: impl Fn(&str) -> bool) -> String {
        // The timeouts below are what a user would wait; a shared CI machine under load gets
        // three times as long before a wait counts as a failure (passing waits end early).
        let timeout = timeout * 3;
        let start = Instant::now();
        loop {
            let screen = self.capture();
            if f(&screen) {
                return screen;
            }
            if start.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").output();
    }
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

/// Removes the test's containers even when an assertion fails.
struct Cleanup<'a>(&'a Berth);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        if let Ok(o) = self.0.cmd().args(["ps", "-aq", "--no-trunc"]).output() {
            let ids: Vec<String> = stdout(&o).lines().map(String::from).collect();
            if !ids.is_empty() {
                let _ = self.0.cmd().arg("rm").arg("-f").args(&ids).output();
            }
        }
    }
}

/// The list row of the named container (not the detail's title, which holds the name too).
fn line_with<'a>(screen: &'a str, name: &str) -> Option<&'a str> {
    screen.lines().find(|l| l.contains(name) && l.contains("testimg/busybox"))
}

/// A shell in tmux (prompt `READY$ `) running the dashboard on `b`'s state root; the shell
/// prints `DASH_RC=<code>` when the dashboard exits.
fn launch(b: &Berth) -> Tmux {
    launch_sized(b, 160, 40)
}

fn launch_sized(b: &Berth, cols: u16, rows: u16) -> Tmux {
    let t = Tmux::start(cols, rows);
    t.send(&["PS1='READY$ '", "Enter"]);
    t.wait_for("the shell prompt", Duration::from_secs(5), |s| s.contains("READY$"));
    let cmd = format!(
        "BERTH_ROOT='{}' BERTH_CONFIG_DIR='{}' '{}'; echo DASH_RC=$?",
        b.root().display(),
        b.config_dir().display(),
        env!("CARGO_BIN_EXE_berth")
    );
    t.send(&[&cmd, "Enter"]);
    t
}

/// The highest `hello-N` on the screen.
fn last_hello(screen: &str) -> i64 {
    screen.split("hello-").skip(1).filter_map(|rest| rest.split(|c: char| !c.is_ascii_digit()).next()?.parse().ok()).max().unwrap_or(-1)
}

#[test]
fn dashboard_sees_runs_stops_and_restores_the_terminal() {
    let b = Berth::new();
    let _cleanup = Cleanup(&b);
    let tar = images().join("busybox.tar");
    b.ok(&["load", "-i", tar.to_str().unwrap()]);

    let t = launch(&b);
    t.wait_for("the dashboard", Duration::from_secs(10), |s| s.contains("Containers (0)") && s.contains("No containers"));
    assert!(t.alternate_on(), "the dashboard draws on the alternate screen");

    // A container started by another process appears within 2 s.
    let started = Instant::now();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "e2e-web",
        "testimg/busybox",
        "sh",
        "-c",
        "trap 'exit 0' TERM; i=0; while true; do echo hello-$i; i=$((i+1)); sleep 0.1; done",
    ]);
    let screen =
        t.wait_for("e2e-web in the list", Duration::from_secs(4), |s| line_with(s, "e2e-web").is_some_and(|l| l.contains("running")));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "the new container took {took:?} to appear:\n{screen}");
    assert!(screen.contains("Containers (1)"), "{screen}");

    // Its logs, followed live in the Logs tab.
    t.send(&["]", "]"]);
    t.wait_for("the Logs tab following", Duration::from_secs(4), |s| s.contains("following") && s.contains("hello-"));
    let before = last_hello(&t.capture());
    t.wait_for("newer log lines", Duration::from_secs(4), |s| last_hello(s) > before);

    // Select it (the only one) and press the stop key: the engine agrees.
    t.send(&["x"]);
    let start = Instant::now();
    loop {
        let ps = b.ok(&["ps", "-a", "--format", "{{.Names}} {{.Status}}"]);
        if ps.lines().any(|l| l.starts_with("e2e-web Exited")) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(15), "ps -a never showed e2e-web exited: {ps}\n{}", t.capture());
        std::thread::sleep(Duration::from_millis(100));
    }
    t.wait_for("e2e-web shown exited", Duration::from_secs(4), |s| line_with(s, "e2e-web").is_some_and(|l| l.contains("exited")));

    // `a` hides stopped containers; again shows them.
    t.send(&["a"]);
    t.wait_for("running only", Duration::from_secs(2), |s| s.contains("No running containers"));
    t.send(&["a"]);
    t.wait_for("all again", Duration::from_secs(2), |s| line_with(s, "e2e-web").is_some());

    // Quit: the alternate screen is gone and the shell prompt is back.
    t.send(&["q"]);
    let screen = t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l.starts_with("DASH_RC=")));
    assert!(screen.lines().any(|l| l == "DASH_RC=0"), "{screen}");
    assert!(!t.alternate_on(), "alternate screen still on:\n{screen}");
    assert!(!screen.contains("Containers ("), "dashboard left on the screen:\n{screen}");
    assert!(screen.lines().any(|l| l.starts_with("READY$")), "{screen}");
}

#[test]
fn changes_tab_and_commit_dialog() {
    let b = Berth::new();
    let _cleanup = Cleanup(&b);
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b.ok(&["run", "-d", "--name", "e2e-fs", "testimg/busybox", "sh", "-c", "echo x > /tmp/made-here; rm /bin/ls; sleep 1000"]);
    let t = launch(&b);
    t.wait_for("e2e-fs in the list", Duration::from_secs(10), |s| line_with(s, "e2e-fs").is_some_and(|l| l.contains("running")));
    // Stats, Top, Logs, Inspect, Changes: `[` from Stats wraps to Changes.
    t.send(&["["]);
    let screen = t.wait_for("the Changes tab", Duration::from_secs(8), |s| s.contains("A /tmp/made-here") && s.contains("D /bin/ls"));
    assert!(screen.contains("C /tmp"), "{screen}");
    // A file made now shows up at the next refresh.
    b.ok(&["exec", "e2e-fs", "touch", "/later"]);
    t.wait_for("the new file", Duration::from_secs(8), |s| s.contains("A /later"));
    // c: commit as an image; the image lands and has the file.
    t.send(&["c"]);
    t.wait_for("the commit dialog", Duration::from_secs(4), |s| s.contains("Commit e2e-fs as an image"));
    t.send(&["-l", "from-dash:v1"]);
    t.send(&["Enter"]);
    t.wait_for("the commit report", Duration::from_secs(15), |s| s.contains("Committed from-dash:v1"));
    assert_eq!(b.ok(&["run", "--rm", "from-dash:v1", "cat", "/tmp/made-here"]), "x\n");
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300)); // an Escape read with the next key is alt-KEY
    t.send(&["q"]);
    t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l == "DASH_RC=0"));
}

#[test]
fn volumes_list_removes_and_prunes_for_real() {
    let b = Berth::new();
    let _cleanup = Cleanup(&b);
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b.ok(&["run", "-d", "--name", "vol-user", "-v", "e2e-busy:/data", "testimg/busybox", "sleep", "1000"]);
    b.ok(&["volume", "create", "e2e-idle"]);
    let anon = b.ok(&["volume", "create"]).trim().to_string();
    let t = launch(&b);
    t.wait_for("vol-user in the list", Duration::from_secs(10), |s| line_with(s, "vol-user").is_some());
    t.send(&["3"]);
    t.wait_for("the volumes with their users", Duration::from_secs(5), |s| {
        s.contains("Volumes (3)") && s.lines().any(|l| l.contains("e2e-busy") && l.contains("vol-user")) && s.contains(&anon[..12])
    });
    // The anonymous name sorts anywhere: pick rows with the `/` filter.
    t.send(&["/"]);
    t.send(&["-l", "e2e-busy"]);
    t.send(&["Enter"]);
    t.wait_for("the filtered list", Duration::from_secs(4), |s| s.contains("Volumes (1)"));
    // In use: refused with why.
    t.send(&["d"]);
    t.wait_for("the in-use refusal", Duration::from_secs(4), |s| s.contains("in use by vol-user"));
    // One Escape at a time (two at once can reach the dashboard as one alt-escape).
    t.send(&["Escape"]);
    t.wait_for("the refusal closed", Duration::from_secs(4), |s| !s.contains("in use by vol-user"));
    t.send(&["Escape"]);
    t.wait_for("the filter cleared", Duration::from_secs(4), |s| s.contains("Volumes (3)"));
    t.send(&["/"]);
    t.send(&["-l", "e2e-idle"]);
    t.send(&["Enter"]);
    t.wait_for("the filtered list", Duration::from_secs(4), |s| s.contains("Volumes (1)") && s.contains("/e2e-idle"));
    t.send(&["d"]);
    t.wait_for("the question", Duration::from_secs(4), |s| s.contains("Remove volume e2e-idle?"));
    t.send(&["y"]);
    t.wait_for("the removal report", Duration::from_secs(5), |s| s.contains("Removed volume e2e-idle"));
    t.send(&["Escape"]);
    t.wait_for("the report closed", Duration::from_secs(4), |s| !s.contains("Removed volume e2e-idle"));
    t.send(&["Escape"]);
    t.wait_for("two volumes left", Duration::from_secs(5), |s| s.contains("Volumes (2)"));
    assert!(b.fails(&["volume", "inspect", "e2e-idle"]).contains("No such volume"));
    // X: prune the unused anonymous one, after a yes.
    t.send(&["X"]);
    t.wait_for("the prune question", Duration::from_secs(4), |s| s.contains("Remove the anonymous volumes no container uses?"));
    t.send(&["y"]);
    t.wait_for("the prune report", Duration::from_secs(5), |s| s.contains("Pruned 1 volume(s)"));
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "e2e-busy\n");
    t.send(&["Escape"]);
    t.wait_for("the report closed", Duration::from_secs(4), |s| !s.contains("Pruned 1 volume(s)"));
    t.send(&["q"]);
    t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l == "DASH_RC=0"));
}

#[test]
fn networks_pane_creates_connects_and_removes_for_real() {
    if !std::path::Path::new("/usr/lib/podman/netavark").exists() {
        eprintln!("SKIP: netavark is not installed (bash scripts/deps.sh test)");
        return;
    }
    let b = Berth::new();
    let _cleanup = Cleanup(&b);
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b.ok(&["run", "-d", "--name", "net-user", "-p", "127.0.0.1::80", "testimg/busybox", "sleep", "1000"]);
    let port = b.ok(&["port", "net-user", "80"]).trim().to_string();
    // Wide enough for the PORTS column beside the detail.
    let t = launch_sized(&b, 300, 40);
    t.wait_for("net-user with its port", Duration::from_secs(10), |s| line_with(s, "net-user").is_some_and(|l| l.contains(&port[..12])));
    t.send(&["4"]);
    t.wait_for("the default network with its container", Duration::from_secs(5), |s| {
        s.contains("Networks (1)") && s.lines().any(|l| l.contains("bridge") && l.contains("net-user"))
    });
    // n: create, with a name.
    t.send(&["n"]);
    t.wait_for("the name prompt", Duration::from_secs(4), |s| s.contains("Create network"));
    t.send(&["-l", "e2enet"]);
    t.send(&["Enter"]);
    t.wait_for("the creation report", Duration::from_secs(5), |s| s.contains("Created network e2enet"));
    t.send(&["Escape"]);
    t.wait_for("the report closed", Duration::from_secs(4), |s| !s.contains("Created network e2enet"));
    std::thread::sleep(Duration::from_millis(300)); // an Escape read with the next key is alt-KEY
    t.wait_for("two networks", Duration::from_secs(5), |s| s.contains("Networks (2)"));
    // +: connect the running container to it (set up at once).
    t.send(&["/"]);
    t.send(&["-l", "e2enet"]);
    t.send(&["Enter"]);
    t.wait_for("the filtered list", Duration::from_secs(4), |s| s.contains("Networks (1)"));
    t.send(&["+"]);
    t.wait_for("the container prompt", Duration::from_secs(4), |s| s.contains("Connect a container"));
    t.send(&["-l", "net-user"]);
    t.send(&["Enter"]);
    t.wait_for("the connect report", Duration::from_secs(10), |s| s.contains("Connected net-user to e2enet"));
    assert!(b.ok(&["exec", "net-user", "ls", "/sys/class/net"]).contains("eth1"));
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.wait_for("its user listed", Duration::from_secs(5), |s| s.lines().any(|l| l.contains("e2enet") && l.contains("net-user")));
    // In use: refused with why; -: disconnect; then d removes it after a yes.
    t.send(&["d"]);
    t.wait_for("the in-use refusal", Duration::from_secs(4), |s| s.contains("in use by net-user"));
    t.send(&["Escape"]);
    t.wait_for("the refusal closed", Duration::from_secs(4), |s| !s.contains("in use by net-user"));
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["-"]);
    t.wait_for("the disconnect prompt", Duration::from_secs(4), |s| s.contains("Disconnect a container"));
    t.send(&["Enter"]);
    t.wait_for("the disconnect report", Duration::from_secs(10), |s| s.contains("Disconnected net-user from e2enet"));
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.wait_for("no user left", Duration::from_secs(5), |s| s.lines().any(|l| l.contains("e2enet") && !l.contains("net-user")));
    t.send(&["d"]);
    t.wait_for("the question", Duration::from_secs(4), |s| s.contains("Remove network e2enet?"));
    t.send(&["y"]);
    t.wait_for("the removal report", Duration::from_secs(5), |s| s.contains("Removed network e2enet"));
    assert!(b.fails(&["network", "inspect", "e2enet"]).contains("not found"));
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["q"]);
    t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l == "DASH_RC=0"));
}

#[test]
fn dashboard_without_a_terminal_says_so() {
    let b = Berth::new();
    let out = b.cmd().output().unwrap();
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("needs a terminal"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn an_invalid_config_is_one_line_naming_file_and_line() {
    let b = Berth::new();
    std::fs::create_dir_all(b.config_dir()).unwrap();
    let path = b.config_dir().join("config.toml");
    std::fs::write(&path, "refresh_ms = 500\n[keys]\nstopp = [\"x\"]\n").unwrap();
    let err = b.fails(&[]);
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    // A valid one gets as far as needing a terminal.
    std::fs::write(&path, "refresh_ms = 500\n[keys]\nstop = [\"ctrl-x\"]\n[theme]\nrunning = \"#00ff00\"\n").unwrap();
    assert!(b.fails(&[]).contains("needs a terminal"));
}

#[test]
fn pull_dialog_shows_layers_and_the_image_lands() {
    let reg = Registry::start(None);
    reg.push_fixtures();
    let b = Berth::new();
    let t = launch(&b);
    t.wait_for("the dashboard", Duration::from_secs(10), |s| s.contains("Containers (0)"));
    t.send(&["2"]);
    t.wait_for("the images pane", Duration::from_secs(4), |s| s.contains("Images (0)"));
    t.send(&["P"]);
    t.wait_for("the pull dialog", Duration::from_secs(4), |s| s.contains("Pull image"));
    let name = format!("{}/busybox:latest", reg.addr());
    t.send(&["-l", &name]);
    t.send(&["Enter"]);
    let screen = t.wait_for("the pull to finish", Duration::from_secs(30), |s| s.contains("Pulled ") || s.contains("esc close"));
    assert!(screen.contains(&format!("Pulled {name}")), "{screen}");
    assert!(screen.contains("Pull complete") || screen.contains("Already exists"), "per-layer status shown:\n{screen}");
    t.send(&["Enter"]);
    t.wait_for("the pulled image in the list", Duration::from_secs(4), |s| s.contains("Images (1)") && s.contains("busybox:latest"));
    assert!(b.ok(&["images"]).contains(&format!("{}/busybox", reg.addr())));
    t.send(&["q"]);
    t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l == "DASH_RC=0"));
}

/// The terminal pane: `e` opens a shell found from the image, typed keys reach it, its
/// size follows the outer terminal, the prefix chord gives the keys back to the dashboard
/// while the session lives on, and the session's end shows its exit code.
#[test]
fn terminal_pane_runs_a_shell_inside_the_dashboard() {
    let b = Berth::new();
    let _c = Cleanup(&b);
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b.ok(&["run", "-d", "--name", "termbox", "testimg/busybox", "sleep", "600"]);
    let t = launch(&b);
    t.wait_for("the container row", Duration::from_secs(5), |s| line_with(s, "termbox").is_some());
    t.send(&["e"]);
    t.wait_for("the shell pane", Duration::from_secs(10), |s| s.contains("shell · termbox") && s.contains("# "));
    t.send(&["echo $((6*7))X; stty size", "Enter"]);
    // `stty size` answers as `ROWS COLS` alone on a line of the pane.
    let sizes = |screen: &str| -> Vec<String> {
        screen
            .lines()
            .filter_map(|l| {
                l.split('┃')
                    .find(|c| c.trim().split(' ').filter(|x| x.parse::<u16>().is_ok()).count() == 2 && c.trim().split(' ').count() == 2)
            })
            .map(|c| c.trim().to_string())
            .collect()
    };
    // The two answers may reach the screen in different redraws: wait for both.
    let screen = t.wait_for("42 and the size from the shell", Duration::from_secs(10), |s| s.contains("42X") && !sizes(s).is_empty());
    let size_before = sizes(&screen);
    // Make the outer terminal bigger: the container's PTY follows.
    run_ok(t.cmd().args(["resize-window", "-t", "dash", "-x", "200", "-y", "50"]));
    std::thread::sleep(Duration::from_millis(500));
    t.send(&["clear; stty size", "Enter"]);
    let screen = t.wait_for("a new size", Duration::from_secs(10), |s| {
        s.lines().any(|l| {
            l.split(['┃', '│']).any(|c| {
                let v: Vec<&str> = c.split_whitespace().collect();
                v.len() == 2 && v.iter().all(|x| x.parse::<u16>().is_ok()) && !size_before.contains(&v.join(" "))
            })
        })
    });
    assert!(screen.contains("shell · termbox"), "{screen}");
    // The prefix chord returns focus: `j`/`k` move the list again and `?` opens help, not the shell.
    t.send(&["C-b"]);
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    // With the session still open, the list keeps updating (its status ages, stats arrive).
    let row = line_with(&t.capture(), "termbox").unwrap_or_default().to_string();
    t.wait_for("the container row to update while the session lives", Duration::from_secs(5), |s| {
        line_with(s, "termbox").is_some_and(|l| l != row)
    });
    assert!(t.capture().contains("shell · termbox"), "the session stays open");
    t.send(&["?"]);
    t.wait_for("the help overlay", Duration::from_secs(5), |s| s.contains("terminal prefix"));
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300)); // an Escape read with the next key is alt-KEY
    // Back into the pane with T, end the shell with a code.
    t.send(&["T"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["exit 7", "Enter"]);
    t.wait_for("the exit code", Duration::from_secs(10), |s| s.contains("exited (7)") || s.contains("[7]"));
    t.send(&["C-b"]);
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["q"]);
    t.wait_for("the shell back", Duration::from_secs(10), |s| s.contains("DASH_RC=0"));
    assert!(!t.alternate_on());
}

/// The same dashboard on a Docker endpoint (`berth -H unix://…`): a container started by
/// the docker CLI appears, the stop key stops it for dockerd, a shell opens in the terminal
/// pane through the hijacked exec stream, and quitting restores the terminal.
#[test]
fn dashboard_on_a_private_dockerd() {
    let d = Dockerd::start();
    d.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let b = Berth::new();
    let t = Tmux::start(160, 40);
    t.send(&["PS1='READY$ '", "Enter"]);
    t.wait_for("the shell prompt", Duration::from_secs(5), |s| s.contains("READY$"));
    let cmd =
        format!("BERTH_CONFIG_DIR='{}' '{}' -H '{}'; echo DASH_RC=$?", b.config_dir().display(), env!("CARGO_BIN_EXE_berth"), d.host());
    t.send(&[&cmd, "Enter"]);
    t.wait_for("the dashboard on docker", Duration::from_secs(10), |s| s.contains("Containers (0)") && s.contains("docker unix://"));
    d.ok(&["run", "-d", "--name", "dk-web", "testimg/busybox:latest", "sleep", "600"]);
    t.wait_for("dk-web in the list", Duration::from_secs(5), |s| line_with(s, "dk-web").is_some_and(|l| l.contains("running")));
    t.send(&["e"]);
    t.wait_for("a shell in the pane", Duration::from_secs(10), |s| s.contains("shell · dk-web"));
    std::thread::sleep(Duration::from_millis(500));
    t.send(&["echo $((6*7))X", "Enter"]);
    t.wait_for("42 from the docker exec", Duration::from_secs(10), |s| s.contains("42X"));
    t.send(&["exit", "Enter"]);
    t.wait_for("the session's end", Duration::from_secs(10), |s| s.contains("exited (0)") || s.contains("[0]"));
    t.send(&["C-b"]);
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["x"]);
    let start = Instant::now();
    while d.ok(&["inspect", "-f", "{{.State.Running}}", "dk-web"]).trim() != "false" {
        assert!(start.elapsed() < Duration::from_secs(20), "dockerd never saw dk-web stop:\n{}", t.capture());
        std::thread::sleep(Duration::from_millis(200));
    }
    t.send(&["q"]);
    let screen = t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l.starts_with("DASH_RC=")));
    assert!(screen.lines().any(|l| l == "DASH_RC=0"), "{screen}");
    assert!(!t.alternate_on());
    d.ok(&["rm", "-f", "dk-web"]);
}

/// Type a `:` command into the dashboard.
fn command(t: &Tmux, line: &str) {
    t.send(&[":"]);
    t.wait_for("the command prompt", Duration::from_secs(4), |s| s.contains("Command ("));
    t.send(&["-l", line]);
    t.send(&["Enter"]);
}

/// A shell in the terminal pane on the selected container: 42 comes back, `exit` ends it,
/// and the pane is closed again.
fn shell_round_trip(t: &Tmux, title: &str) {
    t.send(&["e"]);
    t.wait_for(&format!("the shell pane {title}"), Duration::from_secs(10), |s| s.contains(title));
    std::thread::sleep(Duration::from_millis(500));
    t.send(&["echo $((6*7))X", "Enter"]);
    t.wait_for("42 from the shell", Duration::from_secs(10), |s| s.contains("42X"));
    t.send(&["exit", "Enter"]);
    t.wait_for("the session's end", Duration::from_secs(10), |s| s.contains("exited (0)") || s.contains("[0]"));
    t.send(&["C-b"]);
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300));
}

/// Several endpoints at once, from the config file: the embedded engine and a private
/// dockerd side by side with a HOST column, plus an endpoint whose socket does not exist
/// (shown down, never hiding the others); `:ctx` switches to one endpoint, the stop key,
/// a pull and an image removal reach dockerd, and a shell opens in the terminal pane on
/// each endpoint.
#[test]
fn dashboard_on_the_embedded_engine_and_dockerd_at_once() {
    let reg = Registry::start(None);
    reg.push_fixtures();
    let d = Dockerd::start();
    d.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let b = Berth::new();
    let _c = Cleanup(&b);
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b.ok(&["run", "-d", "--name", "emb-web", "testimg/busybox", "sleep", "600"]);
    d.ok(&["run", "-d", "--name", "dk-web", "testimg/busybox:latest", "sleep", "600"]);
    std::fs::create_dir_all(b.config_dir()).unwrap();
    let config = format!(
        "embedded = true\n\n[[endpoints]]\nname = \"dockerd\"\nhost = \"{}\"\n\n[[endpoints]]\nname = \"gone\"\nhost = \"unix:///nonexistent/berth-e2e.sock\"\n",
        d.host()
    );
    std::fs::write(b.config_dir().join("config.toml"), config).unwrap();

    let t = launch(&b);
    let screen = t.wait_for("both endpoints' containers, each with its host", Duration::from_secs(15), |s| {
        line_with(s, "emb-web").is_some_and(|l| l.contains("berth") && l.contains("running"))
            && line_with(s, "dk-web").is_some_and(|l| l.contains("dockerd") && l.contains("running"))
    });
    assert!(screen.contains("HOST"), "{screen}");
    t.wait_for("the missing endpoint shown down", Duration::from_secs(10), |s| s.contains("✗ gone down"));

    // The switcher lists every endpoint, the unreachable one with why.
    command(&t, "ctx");
    let screen = t.wait_for("the switcher", Duration::from_secs(4), |s| s.contains("Endpoints") && s.contains("unreachable"));
    assert!(screen.lines().any(|l| l.contains("gone") && l.contains("unreachable")), "{screen}");
    // all, berth, dockerd, gone: two down picks dockerd.
    t.send(&["j"]);
    t.send(&["j"]);
    t.send(&["Enter"]);
    let screen = t.wait_for("only dockerd's containers", Duration::from_secs(5), |s| {
        s.contains("ctx dockerd") && line_with(s, "dk-web").is_some() && line_with(s, "emb-web").is_none()
    });
    assert!(!screen.contains("HOST"), "one endpoint in view: no HOST column\n{screen}");

    // A shell on dockerd's container, then the stop key reaches dockerd.
    shell_round_trip(&t, "shell · dk-web@dockerd");
    t.send(&["x"]);
    let start = Instant::now();
    while d.ok(&["inspect", "-f", "{{.State.Running}}", "dk-web"]).trim() != "false" {
        assert!(start.elapsed() < Duration::from_secs(20), "dockerd never saw dk-web stop:\n{}", t.capture());
        std::thread::sleep(Duration::from_millis(200));
    }
    t.wait_for("dk-web shown exited", Duration::from_secs(5), |s| line_with(s, "dk-web").is_some_and(|l| l.contains("exited")));
    assert!(b.ok(&["ps", "--format", "{{.Names}}"]).contains("emb-web"), "the embedded container is untouched");

    // With dockerd in view, a pull lands on dockerd (not the embedded engine), and removing
    // it from the images pane removes it there.
    t.send(&["2"]);
    t.wait_for("dockerd's images", Duration::from_secs(4), |s| s.contains("Images (1)"));
    t.send(&["P"]);
    t.wait_for("the pull dialog for dockerd", Duration::from_secs(4), |s| s.contains("Pull image to dockerd"));
    let name = format!("{}/hello:v2s2", reg.addr());
    t.send(&["-l", &name]);
    t.send(&["Enter"]);
    let screen = t.wait_for("the pull to finish", Duration::from_secs(60), |s| s.contains("Pulled ") || s.contains("esc close"));
    assert!(screen.contains(&format!("Pulled {name}")), "{screen}");
    t.send(&["Enter"]);
    t.wait_for("the pulled image in dockerd's list", Duration::from_secs(5), |s| s.contains("Images (2)") && s.contains("hello:v2s2"));
    assert!(d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]).contains(&name), "dockerd has it");
    assert!(!b.ok(&["images"]).contains("hello"), "the embedded engine does not");
    // Select it by filtering (both images are two years old: the order is not fixed).
    t.send(&["/"]);
    t.send(&["-l", "hello"]);
    t.send(&["Enter"]);
    t.wait_for("only the pulled image", Duration::from_secs(4), |s| s.contains("Images (1)") && s.contains("hello:v2s2"));
    t.send(&["d"]);
    t.wait_for("the remove confirmation", Duration::from_secs(4), |s| s.contains("Remove dockerd#"));
    t.send(&["y"]);
    let start = Instant::now();
    while d.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]).contains(&name) {
        assert!(start.elapsed() < Duration::from_secs(10), "dockerd still has {name}:\n{}", t.capture());
        std::thread::sleep(Duration::from_millis(200));
    }
    t.wait_for("the removal's report", Duration::from_secs(5), |s| s.contains("Untagged: "));
    t.send(&["Escape"]);
    // Not "1" right behind the Escape: read together they are alt-1.
    t.wait_for("the report closed", Duration::from_secs(4), |s| !s.contains("Untagged: "));
    t.send(&["1"]);
    t.wait_for("the containers pane", Duration::from_secs(4), |s| s.contains("Containers (1)"));

    // `:ctx berth`: the embedded engine alone, and a shell there too.
    command(&t, "ctx berth");
    t.wait_for("only the embedded engine's containers", Duration::from_secs(5), |s| {
        s.contains("ctx berth") && line_with(s, "emb-web").is_some() && line_with(s, "dk-web").is_none()
    });
    shell_round_trip(&t, "shell · emb-web@berth");

    // Back to all; an unknown endpoint is one clear message.
    command(&t, "ctx all");
    t.wait_for("both again", Duration::from_secs(5), |s| line_with(s, "emb-web").is_some() && line_with(s, "dk-web").is_some());
    command(&t, "ctx nope");
    t.wait_for("the error", Duration::from_secs(4), |s| s.contains("no endpoint named \"nope\""));
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300)); // an Escape read with the next key is alt-KEY
    t.send(&["q"]);
    let screen = t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l.starts_with("DASH_RC=")));
    assert!(screen.lines().any(|l| l == "DASH_RC=0"), "{screen}");
    d.ok(&["rm", "-f", "dk-web"]);
}

/// The dashboard's process: the pane's shell's child.
fn dashboard_pid(t: &Tmux) -> i32 {
    let shell: i32 = stdout(&run_ok(t.cmd().args(["display-message", "-p", "-t", "dash", "#{pane_pid}"]))).trim().parse().unwrap();
    let start = Instant::now();
    loop {
        let child = std::fs::read_dir("/proc").unwrap().flatten().find_map(|e| {
            let pid: i32 = e.file_name().to_string_lossy().parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // pid (comm) state ppid …: comm may hold spaces, so read after the last ')'.
            let ppid: i32 = stat.rsplit_once(')')?.1.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == shell).then_some(pid)
        });
        if let Some(pid) = child {
            return pid;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no dashboard process under the shell {shell}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `pid` is gone (or a zombie nobody reaped yet: it has exited all the same).
fn exited(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().next()) == Some("Z"),
    }
}

/// How long the process takes to exit, or a panic after `bound` with the screen.
fn time_to_exit(t: &Tmux, pid: i32, bound: Duration) -> Duration {
    let start = Instant::now();
    while !exited(pid) {
        if start.elapsed() > bound {
            let screen = t.capture();
            // Leave no hung dashboard behind for the next test.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("the dashboard (pid {pid}) was still running {bound:?} later; screen:\n{screen}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// The dashboard on the Logs tab of a container that has printed nothing (its log
/// stream is open and idle): the state the quit hang needed.
fn dashboard_on_silent_logs(b: &Berth) -> (Tmux, i32) {
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b.ok(&["run", "-d", "--name", "silent", "testimg/busybox", "sleep", "1000"]);
    let t = launch(b);
    t.wait_for("the silent container", Duration::from_secs(10), |s| line_with(s, "silent").is_some_and(|l| l.contains("running")));
    t.send(&["]", "]"]);
    t.wait_for("the Logs tab, empty and following", Duration::from_secs(4), |s| s.contains("following") && s.contains("No output yet."));
    // Let the log follower settle into its idle loop.
    std::thread::sleep(Duration::from_millis(500));
    let pid = dashboard_pid(&t);
    (t, pid)
}

/// `q` quits at once whatever streams are open: the process is gone, not just the screen
/// (it used to wait forever for the log follower of a silent container).
#[test]
fn quit_is_immediate_with_an_idle_log_stream_open() {
    let b = Berth::new();
    let _c = Cleanup(&b);
    let (t, pid) = dashboard_on_silent_logs(&b);
    t.send(&["q"]);
    // Within 1 s on a quiet machine; 5 s leaves room for a loaded one.
    let took = time_to_exit(&t, pid, Duration::from_secs(5));
    eprintln!("exited {took:?} after q");
    let screen = t.wait_for("the shell after quitting", Duration::from_secs(2), |s| s.lines().any(|l| l.starts_with("DASH_RC=")));
    assert!(screen.lines().any(|l| l == "DASH_RC=0"), "{screen}");
    assert!(!t.alternate_on(), "alternate screen still on:\n{screen}");
}

/// SIGTERM and SIGHUP restore the terminal and end the dashboard, with the same idle log
/// stream open.
#[test]
fn sigterm_and_sighup_restore_the_terminal_and_exit() {
    let b = Berth::new();
    let _c = Cleanup(&b);
    for signal in ["TERM", "HUP"] {
        let (t, pid) = dashboard_on_silent_logs(&b);
        run_ok(Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]));
        let took = time_to_exit(&t, pid, Duration::from_secs(5));
        eprintln!("exited {took:?} after SIG{signal}");
        let screen = t.wait_for("the shell after the signal", Duration::from_secs(2), |s| s.lines().any(|l| l.starts_with("DASH_RC=")));
        assert!(!t.alternate_on(), "SIG{signal}: alternate screen still on:\n{screen}");
        assert!(!screen.contains("Containers ("), "SIG{signal}: dashboard left on the screen:\n{screen}");
        b.ok(&["rm", "-f", "silent"]);
    }
}

/// Keys typed into the logs search are text, and once it is applied `n`/`N` jump between
/// matches: never a pane's action (`n` used to open the Run dialog).
#[test]
fn logs_search_keeps_its_keys() {
    let b = Berth::new();
    let _c = Cleanup(&b);
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b.ok(&[
        "run",
        "-d",
        "--name",
        "e2e-log",
        "testimg/busybox",
        "sh",
        "-c",
        "echo one; echo needle-a; echo two; echo needle-b; sleep 1000",
    ]);
    let t = launch(&b);
    t.wait_for("e2e-log in the list", Duration::from_secs(10), |s| line_with(s, "e2e-log").is_some());
    t.send(&["]", "]"]);
    t.wait_for("the logs", Duration::from_secs(5), |s| s.contains("needle-b"));
    t.send(&["Enter"]);
    t.send(&["/"]);
    t.wait_for("the search prompt", Duration::from_secs(4), |s| s.contains(" search: "));
    // "needle" starts with n (run) and holds e (shell), d (remove) and l (next pane).
    t.send(&["-l", "needle"]);
    let screen = t.wait_for("the search typed", Duration::from_secs(4), |s| s.contains("search: needle▏  (2 match)"));
    assert!(!screen.contains("Run a container") && !screen.contains("shell ·"), "{screen}");
    t.send(&["Enter"]);
    t.wait_for("the search applied", Duration::from_secs(4), |s| s.contains("search: needle  (2 match)"));
    t.send(&["N"]);
    t.wait_for("the newest match", Duration::from_secs(4), |s| s.contains("(2/2 match)"));
    t.send(&["N"]);
    t.wait_for("the older match", Duration::from_secs(4), |s| s.contains("(1/2 match)"));
    t.send(&["n"]);
    let screen = t.wait_for("the newer match again", Duration::from_secs(4), |s| s.contains("(2/2 match)"));
    assert!(!screen.contains("Run a container"), "n opened the Run dialog:\n{screen}");
    t.send(&["Escape"]);
    std::thread::sleep(Duration::from_millis(300)); // an Escape read with the next key is alt-KEY
    t.send(&["q"]);
    t.wait_for("the shell after quitting", Duration::from_secs(5), |s| s.lines().any(|l| l == "DASH_RC=0"));
}

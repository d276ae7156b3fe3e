//! `--runtime PATH`: containers run by runc instead of the built-in libcontainer, through
//! the same monitor — output, logs, exit codes, stop, exec, pause, a terminal, isolation
//! and `--rm` cleanup behave as on the built-in runtime; a bad path is refused at create;
//! on a Docker endpoint the flag is the daemon's runtime name.
mod common;
use std::time::Duration;

use common::*;

/// runc's path on this machine (`which runc`).
fn runc() -> String {
    let o = std::process::Command::new("which").arg("runc").output().expect("which");
    let p = String::from_utf8_lossy(&o.stdout).trim().to_string();
    assert!(o.status.success() && !p.is_empty(), "runc is not installed (apt-get install runc)");
    p
}

/// Whether runc itself knows container `id` (its state root is berth's `rt-ext`).
fn runc_lists(b: &Berth, id: &str) -> bool {
    let o = std::process::Command::new(runc()).arg("--root").arg(b.root().join("rt-ext")).args(["list", "-q"]).output().unwrap();
    String::from_utf8_lossy(&o.stdout).lines().any(|l| l == id)
}

fn run(b: &Berth, args: &[&str]) -> (i32, String, String) {
    let o = b.cmd().args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

#[test]
fn runc_runs_logs_exits_execs_pauses_and_stops() {
    let b = busybox_root();
    let rt = runc();
    // Foreground: output and the exit code, a child process forks (seccomp's clone rule
    // must mean for runc what Docker's profile says).
    let (code, out, err) = run(
        &b,
        &["run", "--runtime", &rt, "--name", "fg", "busybox", "sh", "-c", "echo out; echo err >&2; sh -c 'exit 3'; echo $?; exit 7"],
    );
    assert_eq!(code, 7, "{err}");
    assert_eq!(out, "out\n3\n");
    assert_eq!(err, "err\n");
    assert_eq!(b.ok(&["logs", "fg"]), "out\n3\n");
    assert_eq!(b.ok(&["inspect", "-f", "{{.HostConfig.Runtime}} {{.State.ExitCode}}", "fg"]), format!("{rt} 7\n"));
    // The built-in runtime says so too.
    b.ok(&["create", "--name", "builtin", "busybox", "true"]);
    assert_eq!(b.ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", "builtin"]), "berth\n");

    // Detached: runc knows it, exec runs inside it, pause freezes it, stop ends it.
    let id = b
        .ok(&[
            "run",
            "-d",
            "--runtime",
            &rt,
            "--name",
            "bg",
            "busybox",
            "sh",
            "-c",
            "trap 'exit 0' TERM; echo started; while true; do sleep 0.1; done",
        ])
        .trim()
        .to_string();
    assert!(runc_lists(&b, &id), "runc does not know {id}");
    wait_for("the first log line", Duration::from_secs(10), || b.ok(&["logs", "bg"]) == "started\n");
    let (code, out, _) = run(&b, &["exec", "-e", "X=42", "bg", "sh", "-c", "echo $X $(hostname); exit 5"]);
    assert_eq!((code, out.as_str()), (5, format!("42 {}\n", &id[..12]).as_str()));
    let (code, _, err) = run(&b, &["exec", "bg", "no-such-command"]);
    assert_eq!(code, 127, "{err}");
    assert!(err.contains("no-such-command"), "{err}");
    b.ok(&["pause", "bg"]);
    assert!(b.ok(&["ps"]).contains("(Paused)"));
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Paused}}", "bg"]), "true\n");
    let err = b.fails(&["exec", "bg", "true"]);
    assert!(!err.is_empty());
    b.ok(&["unpause", "bg"]);
    assert_eq!(run(&b, &["exec", "bg", "true"]).0, 0);
    b.ok(&["stop", "-t", "5", "bg"]);
    assert_eq!(b.ok(&["wait", "bg"]), "0\n");
    assert!(b.ok(&["ps", "-a"]).contains("Exited (0)"));
    assert!(!runc_lists(&b, &id), "runc still has state for {id}");
    // kill goes through runc as well; the monitor records 137.
    b.ok(&["start", "bg"]);
    b.ok(&["kill", "bg"]);
    assert_eq!(b.ok(&["wait", "bg"]), "137\n");
    b.ok(&["rm", "fg", "bg", "builtin"]);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn runc_isolation_is_the_same_as_the_builtin_runtime() {
    let b = busybox_root();
    let rt = runc();
    // What a process sees of its surroundings: its pid, its processes, its capabilities,
    // its seccomp mode, masked paths, and what it may not do.
    let probe = "echo pid=$$; echo procs=$(ls /proc | grep -c '^[0-9]'); grep -E '^(CapEff|Seccomp|NoNewPrivs):' /proc/self/status; \
                 mount -t tmpfs t /mnt 2>/dev/null && echo mount=yes || echo mount=no; \
                 echo 1 > /proc/sysrq-trigger 2>/dev/null && echo sysrq=yes || echo sysrq=no; \
                 ip link 2>/dev/null | grep -c '^[0-9]' | sed 's/^/links=/'";
    let builtin = b.ok(&["run", "--rm", "busybox", "sh", "-c", probe]);
    let with_runc = b.ok(&["run", "--rm", "--runtime", &rt, "busybox", "sh", "-c", probe]);
    // The process count is sh, ls, grep and (depending on timing) the subshell that has
    // not exited yet: 3 or 4, never a host process. Everything else must be identical.
    let procs = |s: &str| s.lines().find_map(|l| l.strip_prefix("procs=")).and_then(|n| n.parse::<u32>().ok()).unwrap_or(99);
    let without_procs = |s: &str| s.lines().filter(|l| !l.starts_with("procs=")).collect::<Vec<_>>().join("\n");
    assert_eq!(without_procs(&with_runc), without_procs(&builtin));
    assert!(with_runc.contains("pid=1\n"), "{with_runc}");
    for out in [&builtin, &with_runc] {
        assert!((3..=4).contains(&procs(out)), "host processes visible: {out}");
    }
    assert!(with_runc.contains("mount=no") && with_runc.contains("sysrq=no"), "{with_runc}");
    // Its own hostname (the short id), and a user-given one.
    let id = b.ok(&["create", "--runtime", &rt, "busybox", "hostname"]).trim().to_string();
    b.ok(&["start", id.as_str()]);
    assert_eq!(b.ok(&["wait", id.as_str()]), "0\n");
    assert_eq!(b.ok(&["logs", id.as_str()]), format!("{}\n", &id[..12]));
    assert_eq!(b.ok(&["run", "--rm", "--runtime", &rt, "-h", "boat", "busybox", "hostname"]), "boat\n");
    assert_ne!(std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim(), "boat");
}

#[test]
fn runc_terminal_attach_and_exec_tty() {
    let b = busybox_root();
    let rt = runc();
    let mut t = Pty::spawn(&b, &["run", "-it", "--runtime", &rt, "--name", "tty", "busybox", "sh"]);
    t.expect("# ", 20);
    t.send("stty size; echo $((6*7))\r");
    t.expect("42", 10);
    assert!(t.seen.contains("30 100"), "{:?}", t.seen);
    // ctrl-c reaches the shell, not berth.
    t.send("sleep 30\r");
    std::thread::sleep(Duration::from_millis(300));
    t.send("\x03");
    t.clear();
    t.send("echo still-here\r");
    t.expect("still-here\r\n", 10);
    // Detach, and attach again.
    t.send("\x10\x11");
    assert_eq!(t.wait(), Some(0));
    drop(t);
    assert!(b.ok(&["ps"]).contains("tty"));
    // exec -it gets its own terminal in the runc container.
    let mut e = Pty::spawn(&b, &["exec", "-it", "tty", "sh"]);
    e.expect("# ", 20);
    e.send("tty; exit 4\r");
    e.expect("/dev/pts/", 10);
    assert_eq!(e.wait(), Some(4));
    drop(e);
    let mut a = Pty::spawn(&b, &["attach", "tty"]);
    std::thread::sleep(Duration::from_millis(300));
    a.send("echo $((20+22))\r");
    a.expect("42", 10);
    a.send("exit 6\r");
    assert_eq!(a.wait(), Some(6));
    assert_eq!(b.ok(&["wait", "tty"]), "6\n");
}

#[test]
fn runc_rm_leaves_nothing_and_a_bad_runtime_changes_nothing() {
    let b = busybox_root();
    let rt = runc();
    let (code, out, err) = run(&b, &["run", "--rm", "--runtime", &rt, "busybox", "echo", "hi"]);
    assert_eq!((code, out.as_str()), (0, "hi\n"), "{err}");
    let id = b.ok(&["run", "-d", "--rm", "--runtime", &rt, "busybox", "sleep", "0.3"]).trim().to_string();
    assert!(!cgroups_of(&id).is_empty());
    wait_for("the monitors to exit", Duration::from_secs(10), || pids_with(&b.root().display().to_string()).is_empty());
    assert!(cgroups_of(&id).is_empty(), "{:?}", cgroups_of(&id));
    assert!(mounts_below(&b.root()).is_empty(), "{:?}", mounts_below(&b.root()));
    let left =
        |d: &str| std::fs::read_dir(b.root().join(d)).map(|r| r.flatten().map(|e| e.file_name()).collect::<Vec<_>>()).unwrap_or_default();
    assert!(left("containers").is_empty(), "{:?}", left("containers"));
    assert!(left("rt-ext").is_empty(), "{:?}", left("rt-ext"));
    assert!(left("trash").is_empty(), "{:?}", left("trash"));
    assert_eq!(b.ok(&["ps", "-aq"]), "");

    // A runtime that does not exist or is not executable: one line, exit 125, nothing kept.
    let not_exe = b.dir.path().join("not-executable");
    std::fs::write(&not_exe, "#!/bin/sh\n").unwrap();
    let not_exe = not_exe.display().to_string();
    let before = b.snapshot_tree();
    for bad in ["/nonexistent/runc", not_exe.as_str(), "no-such-runtime-anywhere"] {
        let o = b.cmd().args(["run", "--runtime", bad, "--name", "bad-runtime", "busybox", "true"]).output().unwrap();
        assert_eq!(o.status.code(), Some(125), "{bad}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(bad) && err.contains("--runtime"), "{err}");
        assert_eq!(run(&b, &["create", "--runtime", bad, "busybox", "true"]).0, 125);
    }
    assert_eq!(b.snapshot_tree(), before);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
}

#[test]
fn docker_endpoints_get_the_runtime_name() {
    let d = Dockerd::start();
    d.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let b = Berth::new();
    let h = d.host();
    b.ok(&["-H", &h, "create", "--runtime", "runc", "--name", "named", "testimg/busybox", "true"]);
    assert_eq!(d.ok(&["inspect", "-f", "{{.HostConfig.Runtime}}", "named"]), "runc\n");
    assert_eq!(b.ok(&["-H", &h, "inspect", "-f", "{{.HostConfig.Runtime}}", "named"]), "runc\n");
    let err = b.fails(&["-H", &h, "create", "--runtime", "no-such-runtime", "testimg/busybox", "true"]);
    assert!(err.contains("no-such-runtime"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    b.ok(&["-H", &h, "rm", "named"]);
}

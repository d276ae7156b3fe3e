//! `--detach-keys` through a real terminal: berth runs on a fresh PTY as its controlling
//! terminal, keys are typed into the master, and what the container received is read back.
//! Detaching leaves the container (or the exec'd process) running and berth exits 0.
mod common;
use std::time::{Duration, Instant};

use common::*;

fn busybox() -> TestBerth {
    let b = TestBerth(Berth::new());
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b
}

/// Read from the master until `want` shows up (or panic after `secs`).
fn read_until(master: i32, want: &str, secs: u64, seen: &mut String) {
    let t0 = Instant::now();
    while !seen.contains(want) {
        assert!(t0.elapsed() < Duration::from_secs(secs), "timed out waiting for {want:?}; got {seen:?}");
        let mut pfd = libc::pollfd { fd: master, events: libc::POLLIN, revents: 0 };
        if unsafe { libc::poll(&mut pfd, 1, 100) } <= 0 {
            continue;
        }
        let mut buf = [0u8; 4096];
        let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
        if n > 0 {
            seen.push_str(&String::from_utf8_lossy(&buf[..n as usize]));
        }
    }
}

/// Whatever is left to read once berth has exited (the slave side is closed then).
fn drain(master: i32, seen: &mut String) {
    loop {
        let mut pfd = libc::pollfd { fd: master, events: libc::POLLIN, revents: 0 };
        if unsafe { libc::poll(&mut pfd, 1, 200) } <= 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        let n = unsafe { libc::read(master, buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            return;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n as usize]));
    }
}

fn wait_child(child: &mut std::process::Child) -> Option<i32> {
    let t0 = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s.code();
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "berth did not exit (the detach keys were not honoured)");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn type_in(master: i32, s: &[u8]) {
    assert_eq!(unsafe { libc::write(master, s.as_ptr().cast(), s.len()) }, s.len() as isize);
}

/// Type the detach keys; berth must exit 0 without printing anything odd.
fn detach(b: &Berth, mut child: std::process::Child, master: i32, keys: &[u8], ctr: &str) {
    type_in(master, keys);
    assert_eq!(wait_child(&mut child), Some(0));
    let mut rest = String::new();
    drain(master, &mut rest);
    unsafe { libc::close(master) };
    assert!(!rest.contains("Error") && !rest.contains("escape"), "printed after detaching: {rest:?}");
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.Running}}", ctr]), "true\n", "detaching must leave {ctr} running");
}

/// The shell reads one line and prints its bytes in hex: what the container received.
const SHOW_LINE: &str = "read -r l; printf '%s' \"$l\" | od -An -tx1\r";

#[test]
fn custom_keys_detach_run_attach_start_and_exec() {
    let b = busybox();
    // run -it: a partial sequence (ctrl-x then y) reaches the container as typed...
    let (child, m) = spawn_in_pty(&b, &["run", "-it", "--name", "dk", "--detach-keys", "ctrl-x,x", "testimg/busybox", "sh"]);
    let mut seen = String::new();
    read_until(m, "# ", 20, &mut seen);
    type_in(m, SHOW_LINE.as_bytes());
    type_in(m, b"a\x18yb\r");
    read_until(m, "61 18 79 62", 10, &mut seen);
    // ...and the whole one detaches.
    detach(&b, child, m, b"\x18x", "dk");

    // attach with other keys; the old ones are just keys now.
    let (child, m) = spawn_in_pty(&b, &["attach", "--detach-keys", "ctrl-a", "dk"]);
    let mut seen = String::new();
    type_in(m, b"echo back-$((40+2))\r");
    read_until(m, "back-42", 10, &mut seen);
    detach(&b, child, m, b"\x01", "dk");

    // start -a -i on a created container.
    b.ok(&["create", "-it", "--name", "st", "testimg/busybox", "sh"]);
    let (child, m) = spawn_in_pty(&b, &["start", "-a", "-i", "--detach-keys", "ctrl-e,e", "st"]);
    let mut seen = String::new();
    read_until(m, "# ", 20, &mut seen);
    type_in(m, b"echo started-$((6*7))\r");
    read_until(m, "started-42", 10, &mut seen);
    detach(&b, child, m, b"\x05e", "st");

    // exec -it: the exec'd process keeps running after the detach.
    let (child, m) = spawn_in_pty(&b, &["exec", "-it", "--detach-keys", "ctrl-y", "dk", "sh", "-c", "echo ready; exec sleep 4321"]);
    let mut seen = String::new();
    read_until(m, "ready", 20, &mut seen);
    detach(&b, child, m, b"\x19", "dk");
    let ps = b.ok(&["exec", "dk", "ps", "-o", "args"]);
    assert!(ps.contains("sleep 4321"), "the exec'd process must outlive the detach: {ps}");
}

#[test]
fn default_keys_and_config_file_keys() {
    let b = busybox();
    // Default ctrl-p ctrl-q; ctrl-p followed by another key is passed on.
    let (child, m) = spawn_in_pty(&b, &["run", "-it", "--name", "dflt", "testimg/busybox", "sh"]);
    let mut seen = String::new();
    read_until(m, "# ", 20, &mut seen);
    type_in(m, SHOW_LINE.as_bytes());
    type_in(m, b"\x10z\r");
    read_until(m, "10 7a", 10, &mut seen);
    detach(&b, child, m, b"\x10\x11", "dflt");

    // detachKeys in berth's config.json replaces the default; the flag beats both.
    std::fs::create_dir_all(b.config_dir()).unwrap();
    std::fs::write(b.config_dir().join("config.json"), r#"{"auths": {}, "detachKeys": "ctrl-b,b"}"#).unwrap();
    let (child, m) = spawn_in_pty(&b, &["attach", "dflt"]);
    let mut seen = String::new();
    type_in(m, b"echo cfg-$((1+1))\r");
    read_until(m, "cfg-2", 10, &mut seen);
    detach(&b, child, m, b"\x02b", "dflt");
    let (child, m) = spawn_in_pty(&b, &["attach", "--detach-keys", "ctrl-a", "dflt"]);
    let mut seen = String::new();
    type_in(m, b"echo flag-$((2+2))\r");
    read_until(m, "flag-4", 10, &mut seen);
    detach(&b, child, m, b"\x01", "dflt");
}

#[test]
fn invalid_detach_keys_are_one_error_and_change_nothing() {
    let b = busybox();
    for keys in ["ctrl-1", "xy", "ctrl-p,", ""] {
        let o = b.cmd().args(["run", "-it", "--detach-keys", keys, "testimg/busybox", "true"]).output().unwrap();
        let err = stderr(&o);
        if keys.is_empty() {
            // Empty means "the default", as in docker.
            assert_eq!(o.status.code(), Some(0), "{err}");
            continue;
        }
        assert_eq!(o.status.code(), Some(125), "{keys:?}: {err}");
        assert!(err.starts_with("Error: invalid detach keys") && err.lines().count() == 1, "{keys:?}: {err}");
    }
    b.ok(&["rm", "-f", b.ok(&["ps", "-aq"]).trim()]);
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    b.ok(&["run", "-d", "--name", "up", "testimg/busybox", "sleep", "300"]);
    for verb in [&["attach", "--detach-keys", "ctrl-", "up"][..], &["exec", "-it", "--detach-keys", "ab", "up", "true"]] {
        let err = b.fails(verb);
        assert!(err.starts_with("Error: invalid detach keys") && err.lines().count() == 1, "{verb:?}: {err}");
    }
    // A bad detachKeys in the config file is named in the error.
    std::fs::create_dir_all(b.config_dir()).unwrap();
    std::fs::write(b.config_dir().join("config.json"), r#"{"detachKeys": "ctrl-?"}"#).unwrap();
    let err = b.fails(&["attach", "up"]);
    assert!(err.contains("config.json") && err.lines().count() == 1, "{err}");
}

/// The same keys on a Docker endpoint: berth watches the input itself, so a partial
/// sequence passes and the whole one detaches with the container left running in dockerd.
#[test]
fn detach_keys_on_a_docker_endpoint() {
    let b = Berth::new();
    let dockerd = Dockerd::start();
    dockerd.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let h = dockerd.host();
    let running = |name: &str| dockerd.ok(&["inspect", "-f", "{{.State.Running}}", name]);
    let (mut child, m) = spawn_in_pty(&b, &["-H", &h, "run", "-it", "--name", "dd", "--detach-keys", "ctrl-x,x", "testimg/busybox", "sh"]);
    let mut seen = String::new();
    read_until(m, "# ", 20, &mut seen);
    type_in(m, SHOW_LINE.as_bytes());
    type_in(m, b"a\x18yb\r");
    read_until(m, "61 18 79 62", 10, &mut seen);
    // The daemon's own default (ctrl-p,ctrl-q) is just keys now: the session goes on.
    type_in(m, SHOW_LINE.as_bytes());
    type_in(m, b"\x10\x11z\r");
    read_until(m, " 7a", 10, &mut seen);
    type_in(m, b"echo alive-$((5+5))\r");
    read_until(m, "alive-10", 10, &mut seen);
    type_in(m, b"\x18x");
    assert_eq!(wait_child(&mut child), Some(0));
    unsafe { libc::close(m) };
    assert_eq!(running("dd"), "true\n");
    let (mut child, m) = spawn_in_pty(&b, &["-H", &h, "attach", "dd"]);
    let mut seen = String::new();
    type_in(m, b"echo again-$((3*3))\r");
    read_until(m, "again-9", 10, &mut seen);
    type_in(m, b"\x10\x11");
    assert_eq!(wait_child(&mut child), Some(0));
    unsafe { libc::close(m) };
    assert_eq!(running("dd"), "true\n");
    dockerd.ok(&["rm", "-f", "dd"]);
}

//! Restart after a host reboot: `berth system boot` after a simulated reboot (every
//! monitor and container process SIGKILLed, the rootfs overlays unmounted) starts the
//! `always` and `unless-stopped` containers again and leaves the rest Exited with their
//! stale state cleared; the boot unit installs where it is asked to.
mod common;
use std::time::Duration;

use common::*;

/// Everything a reboot takes away: monitors, container processes, the overlay mounts.
fn simulate_reboot(b: &Berth, ids: &[String]) {
    let root = b.root().display().to_string();
    let inits: Vec<i32> =
        ids.iter().filter_map(|id| b.ok(&["inspect", "-f", "{{.State.Pid}}", id]).trim().parse().ok()).filter(|p| *p > 0).collect();
    for pid in pids_with(&root).into_iter().filter(|p| cmdline_of(*p).contains(" monitor ")) {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    for pid in inits {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    wait_for("the monitors to die", Duration::from_secs(10), || pids_with(&root).into_iter().all(|p| !cmdline_of(p).contains(" monitor ")));
    for m in mounts_below(&b.root()) {
        let c = std::ffi::CString::new(m.clone()).unwrap();
        assert_eq!(unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) }, 0, "umount {m}");
    }
}

fn status(b: &Berth, name: &str) -> String {
    b.ok(&["inspect", "-f", "{{.State.Status}}", name]).trim().to_string()
}

#[test]
fn system_boot_restarts_always_and_unless_stopped() {
    let b = busybox_root();
    let runc = String::from_utf8_lossy(&std::process::Command::new("which").arg("runc").output().unwrap().stdout).trim().to_string();
    let mut ids = Vec::new();
    let mut run = |args: &[&str]| {
        let mut a = vec!["run", "-d"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["busybox", "sh", "-c", "echo up; sleep 1000"]);
        ids.push(b.ok(&a).trim().to_string());
    };
    run(&["--name", "always", "--restart", "always"]);
    run(&["--name", "unless", "--restart", "unless-stopped"]);
    run(&["--name", "never", "--restart", "no"]);
    run(&["--name", "stopped", "--restart", "unless-stopped"]);
    run(&["--name", "always-runc", "--restart", "always", "--runtime", &runc]);
    b.ok(&["stop", "-t", "1", "stopped"]);
    simulate_reboot(&b, &ids);

    let out = b.ok(&["system", "boot"]);
    for line in ["started always ", "started unless ", "started always-runc ", "cleaned never "] {
        assert!(out.contains(line), "{line:?} missing from:\n{out}");
    }
    // The user-stopped one had nothing left to clean and stays down.
    assert!(!out.lines().any(|l| l.split_whitespace().nth(1) == Some("stopped")), "{out}");
    assert_eq!(out.lines().count(), 4, "{out}");
    for n in ["always", "unless", "always-runc"] {
        assert_eq!(status(&b, n), "running", "{n}");
    }
    assert_eq!(status(&b, "never"), "exited");
    assert_eq!(b.ok(&["inspect", "-f", "{{.State.ExitCode}}", "never"]), "255\n");
    assert_eq!(status(&b, "stopped"), "exited");
    let ps = b.ok(&["ps", "-a"]);
    let row = |n: &str| ps.lines().find(|l| l.ends_with(&format!(" {n}"))).unwrap_or_default().to_string();
    assert!(row("always").contains("Up "), "{ps}");
    assert!(row("unless").contains("Up "), "{ps}");
    assert!(row("never").contains("Exited (255)"), "{ps}");
    assert!(row("stopped").contains("Exited (137)") || row("stopped").contains("Exited (143)"), "{ps}");
    // The restarted containers run: their log has a second "up".
    wait_for("the restarted container's output", Duration::from_secs(10), || b.ok(&["logs", "always"]) == "up\nup\n");
    // The ones left down have no mount and no runtime state left.
    for n in ["never", "stopped"] {
        let id = b.ok(&["inspect", "-f", "{{.Id}}", n]).trim().to_string();
        assert!(!b.root().join("rt").join(&id).exists(), "{n}");
        assert!(cgroups_of(&id).is_empty(), "{n}: {:?}", cgroups_of(&id));
        assert!(!mounts_below(&b.root()).iter().any(|m| m.contains(&id)), "{n}");
    }
    // A second boot finds everything in order.
    assert_eq!(b.ok(&["system", "boot"]), "");
    // Restarted containers stop normally.
    b.ok(&["stop", "-t", "1", "always", "unless", "always-runc"]);
    assert!(!b.ok(&["ps", "-a"]).contains("Up "));
}

#[test]
fn a_killed_monitor_never_leaves_a_container_up_forever() {
    let b = busybox_root();
    let id = b.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "1000"]).trim().to_string();
    let pid: i32 = b.ok(&["inspect", "-f", "{{.State.Pid}}", "orphan"]).trim().parse().unwrap();
    for m in pids_with(&id).into_iter().filter(|p| cmdline_of(*p).contains(" monitor ")) {
        unsafe { libc::kill(m, libc::SIGKILL) };
    }
    // The container runs on without its monitor; when its process dies it is Exited (255).
    unsafe { libc::kill(pid, libc::SIGKILL) };
    wait_for("the exit to be noticed", Duration::from_secs(10), || b.ok(&["ps", "-a"]).contains("Exited (255)"));
    // And `system boot` with an orphan still running kills it and records it.
    b.ok(&["start", "orphan"]);
    for m in pids_with(&id).into_iter().filter(|p| cmdline_of(*p).contains(" monitor ")) {
        unsafe { libc::kill(m, libc::SIGKILL) };
    }
    let ps = b.ok(&["ps", "-a"]);
    assert!(ps.contains("Up "), "{ps}\n{}", b.ok(&["inspect", "orphan"]));
    assert!(b.ok(&["system", "boot"]).contains("cleaned orphan"));
    assert!(b.ok(&["ps", "-a"]).contains("Exited (255)"));
    assert!(cgroups_of(&id).is_empty());
}

#[test]
fn boot_unit_installs_and_boot_refuses_docker_endpoints() {
    let b = Berth::new();
    let dir = b.dir.path().join("units");
    std::fs::create_dir_all(&dir).unwrap();
    let out = b.ok(&["system", "install-boot-unit", "--dir", dir.to_str().unwrap()]);
    let unit = dir.join("berth-boot.service");
    assert!(out.contains(&format!("wrote {}", unit.display())), "{out}");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert_eq!(text, std::fs::read_to_string(workspace().join("assets/berth-boot.service")).unwrap());
    assert!(text.contains("Type=oneshot") && text.contains("ExecStart=/usr/local/bin/berth system boot"), "{text}");
    assert!(text.contains("After=local-fs.target network-online.target"), "{text}");
    assert!(b.ok(&["system", "install-boot-unit", "--dir", dir.to_str().unwrap()]).contains("up to date"));
    let err = b.fails(&["system", "install-boot-unit", "--dir", "/nonexistent/units"]);
    assert_eq!(err.lines().count(), 1, "{err}");
    let err = b.fails(&["-H", "unix:///nonexistent.sock", "system", "boot"]);
    assert!(err.contains("embedded engine"), "{err}");
}

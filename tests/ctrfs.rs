//! Container filesystems from the CLI, as root on real containers: `cp` both ways on running
//! and stopped containers (files, directories, `/.`, `-` tar streams, `-a`), symlinks and
//! `..` that try to leave the container (they never reach the host), `diff`, `export`,
//! `commit` then `run` (and `save` into a real `docker load`), and bad input.
mod common;
use std::path::Path;
use std::process::Stdio;

use common::*;

const IMAGE: &str = "testimg/busybox:latest";

fn busybox() -> TestBerth {
    let b = TestBerth(Berth::new());
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b
}

/// A running container with a few changes made from inside, and the symlinks that try to escape.
fn prepared(b: &Berth, name: &str) -> String {
    let script = "echo hi > /tmp/new; rm /bin/ls; mkdir -p /data/sub; echo x > /data/sub/f; \
                  ln -s / /escape; ln -s ../../../../.. /data/up; touch /ready; sleep 1000";
    let id = b.ok(&["run", "-d", "--name", name, IMAGE, "sh", "-c", script]).trim().to_string();
    let t0 = std::time::Instant::now();
    while !b.cmd().args(["exec", name, "test", "-e", "/ready"]).status().unwrap().success() {
        assert!(t0.elapsed().as_secs() < 20, "container never got ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    id
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// One clear line, non-zero exit.
fn one_line_error(b: &Berth, args: &[&str], want: &str) {
    let err = b.fails(args);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: {err:?} lacks {want:?}");
}

fn cp_round_trip(b: &Berth, ctr: &str, host: &Path) {
    // A host file into a directory, then under a new name; a host dir; a dir's contents.
    std::fs::write(host.join("f.txt"), "from host\n").unwrap();
    std::fs::create_dir_all(host.join("tree/deep")).unwrap();
    std::fs::write(host.join("tree/deep/g"), "g\n").unwrap();
    let h = |p: &str| host.join(p).display().to_string();
    b.ok(&["cp", &h("f.txt"), &format!("{ctr}:/data")]);
    b.ok(&["cp", &h("f.txt"), &format!("{ctr}:/data/renamed.txt")]);
    b.ok(&["cp", &h("tree"), &format!("{ctr}:/data/")]);
    b.ok(&["cp", &h("tree/."), &format!("{ctr}:/data/sub")]);
    // Back out: a file, a directory as a new name, into an existing directory, contents with /.
    let out = host.join("out");
    std::fs::create_dir_all(&out).unwrap();
    b.ok(&["cp", &format!("{ctr}:/data/f.txt"), &out.join("a.txt").display().to_string()]);
    assert_eq!(read(&out.join("a.txt")), "from host\n");
    b.ok(&["cp", &format!("{ctr}:/data/renamed.txt"), &out.display().to_string()]);
    assert_eq!(read(&out.join("renamed.txt")), "from host\n");
    b.ok(&["cp", &format!("{ctr}:/data"), &out.join("copy").display().to_string()]);
    assert_eq!(read(&out.join("copy/tree/deep/g")), "g\n");
    assert_eq!(read(&out.join("copy/sub/deep/g")), "g\n");
    assert_eq!(read(&out.join("copy/sub/f")), "x\n");
    b.ok(&["cp", &format!("{ctr}:/data"), &out.display().to_string()]);
    assert_eq!(read(&out.join("data/f.txt")), "from host\n");
    b.ok(&["cp", &format!("{ctr}:/data/sub/."), &out.join("subcontents").display().to_string()]);
    assert_eq!(read(&out.join("subcontents/f")), "x\n");
    // The copied symlink is a symlink on the host too, not what it points at.
    assert_eq!(std::fs::read_link(out.join("copy/up")).unwrap(), Path::new("../../../../.."));
    // Ownership: the container's root without -a; the archive's ids with -a.
    let o = b.cmd().args(["cp", "-", &format!("{ctr}:/data")]).stdin(Stdio::piped()).spawn().unwrap();
    let mut tarb = tar::Builder::new(Vec::new());
    let mut hd = tar::Header::new_gnu();
    hd.set_size(3);
    hd.set_mode(0o600);
    hd.set_uid(4321);
    hd.set_gid(4322);
    tarb.append_data(&mut hd, "owned", &b"abc"[..]).unwrap();
    let bytes = tarb.into_inner().unwrap();
    feed(o, &bytes);
    let mut a = b.cmd().args(["cp", "-a", "-", &format!("{ctr}:/tmp")]).stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(a.stdin.as_mut().unwrap(), &bytes).unwrap();
    drop(a.stdin.take());
    assert!(a.wait().unwrap().success());
    // `-` out: a tar stream of the path.
    let o = b.cmd().args(["cp", &format!("{ctr}:/data/owned"), "-"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let mut ar = tar::Archive::new(&o.stdout[..]);
    let e = ar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.path().unwrap().display().to_string(), "owned");
    assert_eq!((e.header().uid().unwrap(), e.header().gid().unwrap(), e.header().mode().unwrap()), (0, 0, 0o600));
    let o = b.cmd().args(["cp", &format!("{ctr}:/tmp/owned"), "-"]).output().unwrap();
    let mut ar = tar::Archive::new(&o.stdout[..]);
    let e = ar.entries().unwrap().next().unwrap().unwrap();
    assert_eq!((e.header().uid().unwrap(), e.header().gid().unwrap()), (4321, 4322));
}

fn feed(mut child: std::process::Child, bytes: &[u8]) {
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), bytes).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success());
}

#[test]
fn cp_both_ways_on_running_and_stopped_containers() {
    let b = busybox();
    let tmp = tempfile::tempdir().unwrap();
    prepared(&b, "run1");
    let running = tmp.path().join("running");
    std::fs::create_dir_all(&running).unwrap();
    cp_round_trip(&b, "run1", &running);
    // What was copied in is what the container's processes see.
    assert_eq!(b.ok(&["exec", "run1", "cat", "/data/tree/deep/g", "/data/renamed.txt"]), "g\nfrom host\n");

    let stop1 = prepared(&b, "stop1");
    b.ok(&["stop", "-t", "0", "stop1"]);
    let stopped = tmp.path().join("stopped");
    std::fs::create_dir_all(&stopped).unwrap();
    cp_round_trip(&b, "stop1", &stopped);
    // No mount is left behind, and the container starts with the copied files.
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(!mounts.contains(&stop1), "a copy left a mount behind");
    b.ok(&["start", "stop1"]);
    assert_eq!(b.ok(&["exec", "stop1", "cat", "/data/sub/deep/g", "/data/f.txt"]), "g\nfrom host\n");

    // The create / cp a config in / start pattern: a container that never ran.
    b.ok(&["create", "--name", "fresh", IMAGE, "cat", "/etc/app.conf"]);
    assert_eq!(b.ok(&["diff", "fresh"]), "");
    let conf = tmp.path().join("app.conf");
    std::fs::write(&conf, "setting=1\n").unwrap();
    b.ok(&["cp", conf.to_str().unwrap(), "fresh:/etc/"]);
    assert_eq!(b.ok(&["diff", "fresh"]), "C /etc\nA /etc/app.conf\n");
    b.ok(&["start", "fresh"]);
    assert_eq!(b.ok(&["wait", "fresh"]).trim(), "0");
    assert_eq!(b.ok(&["logs", "fresh"]), "setting=1\n");
}

#[test]
fn cp_symlinks_and_dotdot_never_leave_the_container() {
    let b = busybox();
    let tmp = tempfile::tempdir().unwrap();
    prepared(&b, "esc");
    let marker = format!("berth-ctrfs-escape-{}", std::process::id());
    let host_tmp = Path::new("/tmp").join(&marker);
    let _ = std::fs::remove_file(&host_tmp);
    let src = tmp.path().join("payload");
    std::fs::write(&src, "payload\n").unwrap();
    let check = |b: &Berth, phase: &str| {
        // Reading: the container's files or "not found", never the host's.
        for p in ["/escape/etc/shadow", "/data/up/etc/shadow", "/../../../etc/shadow", "/escape/../../etc/shadow"] {
            let err = b.fails(&["cp", &format!("esc:{p}"), tmp.path().join("shadow").to_str().unwrap()]);
            assert!(err.contains("Could not find the file"), "{phase} {p}: {err}");
            assert!(!tmp.path().join("shadow").exists(), "{phase} {p}: the host's shadow was copied");
        }
        let o = b.cmd().args(["cp", "esc:/data/up/etc/passwd", "-"]).output().unwrap();
        let mut ar = tar::Archive::new(&o.stdout[..]);
        let mut e = ar.entries().unwrap().next().unwrap().unwrap();
        let mut got = String::new();
        std::io::Read::read_to_string(&mut e, &mut got).unwrap();
        let host_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
        assert_ne!(got, host_passwd, "{phase}: the host's passwd came out");
        assert!(got.starts_with("root:x:0:0:root:/root:/bin/sh"), "{phase}: {got}");
        // Writing: through `escape -> /` and `up -> ../../..` into the container's /tmp.
        for dest in [format!("esc:/escape/tmp/{marker}"), format!("esc:/data/up/tmp/{marker}-up"), format!("esc:/../../tmp/{marker}-dd")] {
            b.ok(&["cp", src.to_str().unwrap(), &dest]);
        }
        assert!(
            !host_tmp.exists() && !Path::new(&format!("/tmp/{marker}-up")).exists() && !Path::new(&format!("/tmp/{marker}-dd")).exists()
        );
        // A hostile archive: a symlink to / and then a file through it.
        let mut t = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_size(0);
        h.set_mode(0o777);
        t.append_link(&mut h, "evil", "/").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(4);
        h.set_mode(0o644);
        t.append_data(&mut h, format!("evil/tmp/{marker}-tar"), &b"tar\n"[..]).unwrap();
        let child = b.cmd().args(["cp", "-", "esc:/data"]).stdin(Stdio::piped()).spawn().unwrap();
        feed(child, &t.into_inner().unwrap());
        assert!(!Path::new(&format!("/tmp/{marker}-tar")).exists(), "{phase}: the archive wrote on the host");
    };
    check(&b, "running");
    assert_eq!(
        b.ok(&["exec", "esc", "sh", "-c", &format!("cat /tmp/{marker} /tmp/{marker}-up /tmp/{marker}-dd /tmp/{marker}-tar")]),
        "payload\npayload\npayload\ntar\n"
    );
    b.ok(&["exec", "esc", "sh", "-c", "rm /tmp/berth-ctrfs-*"]);
    b.ok(&["stop", "-t", "0", "esc"]);
    check(&b, "stopped");
    let out = tmp.path().join("back");
    b.ok(&["cp", &format!("esc:/tmp/{marker}-tar"), out.to_str().unwrap()]);
    assert_eq!(read(&out), "tar\n");
}

#[test]
fn diff_export_and_commit() {
    let b = busybox();
    let tmp = tempfile::tempdir().unwrap();
    prepared(&b, "d1");
    let diff = b.ok(&["diff", "d1"]);
    for line in ["C /bin", "D /bin/ls", "A /data", "A /data/sub/f", "A /escape", "C /tmp", "A /tmp/new", "A /ready"] {
        assert!(diff.lines().any(|l| l == line), "{line:?} missing from:\n{diff}");
    }
    // Sorted like docker's, and the runtime's own mount points are not changes.
    let paths: Vec<&str> = diff.lines().map(|l| &l[2..]).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    assert!(!diff.contains("/proc") && !diff.contains("/etc/hostname"), "{diff}");
    // A changed file in the image is C; a file deleted and re-created is C too.
    b.ok(&["exec", "d1", "sh", "-c", "echo changed >> /etc/passwd"]);
    assert!(b.ok(&["diff", "d1"]).lines().any(|l| l == "C /etc/passwd"));

    let out = tmp.path().join("d1.tar");
    b.ok(&["export", "-o", out.to_str().unwrap(), "d1"]);
    let mut ar = tar::Archive::new(std::fs::File::open(&out).unwrap());
    let mut names = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let n = e.path().unwrap().display().to_string();
        if n == "tmp/new" {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut e, &mut s).unwrap();
            assert_eq!(s, "hi\n");
        }
        names.push(n);
    }
    for n in ["bin/busybox", "tmp/new", "data/sub/f", "escape", "etc/passwd"] {
        assert!(names.iter().any(|x| x == n), "{n} not exported");
    }
    assert!(!names.iter().any(|x| x == "bin/ls"), "a deleted file was exported");
    let o = b.cmd().args(["export", "d1"]).output().unwrap();
    assert!(o.status.success() && o.stdout.len() > 1_000_000, "export to a pipe: {}", stderr(&o));

    // commit: the image has the files, the deletions and the --change settings.
    let id = b
        .ok(&[
            "commit",
            "-a",
            "Tester <t@example.com>",
            "-m",
            "snapshot",
            "-c",
            "ENV FROM_COMMIT=yes",
            "-c",
            "WORKDIR /data",
            "d1",
            "committed:v1",
        ])
        .trim()
        .to_string();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    // The container was paused for the commit and runs again.
    assert!(b.ok(&["ps", "--filter", "name=d1", "--format", "{{.Status}}"]).starts_with("Up"));
    let out =
        b.ok(&["run", "--rm", "committed:v1", "sh", "-c", "cat /tmp/new sub/f; echo $FROM_COMMIT; pwd; test -e /bin/ls || echo no-ls"]);
    assert_eq!(out, "hi\nx\nyes\n/data\nno-ls\n");
    let insp: serde_json::Value = serde_json::from_str(&b.ok(&["image", "inspect", "committed:v1"])).unwrap();
    assert_eq!(insp[0]["Author"], "Tester <t@example.com>");
    let hist = b.ok(&["history", "committed:v1"]);
    assert!(hist.lines().nth(1).unwrap().contains("snapshot"), "{hist}");
    // A stopped container commits too (no pause), with -p=false accepted.
    b.ok(&["stop", "-t", "0", "d1"]);
    b.ok(&["commit", "-p=false", "d1", "committed:v2"]);
    assert_eq!(b.ok(&["run", "--rm", "committed:v2", "cat", "/data/sub/f"]), "x\n");

    // save + the real docker's load: the committed image is a valid docker image.
    let saved = tmp.path().join("saved.tar");
    b.ok(&["save", "-o", saved.to_str().unwrap(), "committed:v1"]);
    let dockerd = Dockerd::start();
    dockerd.ok(&["load", "-i", saved.to_str().unwrap()]);
    let out = dockerd.ok(&["run", "--rm", "--network", "none", "committed:v1", "sh", "-c", "cat /tmp/new; echo $FROM_COMMIT"]);
    assert_eq!(out, "hi\nyes\n");
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let b = busybox();
    let tmp = tempfile::tempdir().unwrap();
    prepared(&b, "bad");
    let host = tmp.path().join("f");
    std::fs::write(&host, "x").unwrap();
    let hs = host.to_str().unwrap();
    let before = b.snapshot_tree();
    let images_before = b.ok(&["images", "-q"]);
    one_line_error(&b, &["cp", "nosuch:/etc/passwd", hs], "No such container: nosuch");
    one_line_error(&b, &["cp", hs, "nosuch:/tmp"], "No such container: nosuch");
    one_line_error(&b, &["cp", "bad:/nope", tmp.path().join("x").to_str().unwrap()], "Could not find the file /nope in container bad");
    one_line_error(&b, &["cp", hs, "bad:/nope/deeper/x"], "Could not find the file /nope/deeper in container bad");
    one_line_error(&b, &["cp", "/no/such/host/file", "bad:/tmp"], "lstat /no/such/host/file: no such file or directory");
    one_line_error(&b, &["cp", "bad:/a", "bad:/b"], "copying between containers is not supported");
    one_line_error(&b, &["cp", hs, tmp.path().join("y").to_str().unwrap()], "must specify at least one container source");
    one_line_error(&b, &["cp", tmp.path().to_str().unwrap(), "bad:/etc/passwd"], "cannot overwrite non-directory");
    one_line_error(&b, &["diff", "nosuch"], "No such container: nosuch");
    one_line_error(&b, &["export", "-o", tmp.path().join("e.tar").to_str().unwrap(), "nosuch"], "No such container: nosuch");
    one_line_error(&b, &["commit", "nosuch"], "No such container: nosuch");
    one_line_error(&b, &["commit", "-c", "RUN rm -rf /", "bad"], "RUN is not supported");
    one_line_error(&b, &["commit", "-c", "EXPOSE http", "bad"], "invalid port");
    one_line_error(&b, &["commit", "bad", "Not:A:Ref"], "invalid reference format");
    // export to a terminal is refused (script(1) gives it one).
    let o = std::process::Command::new("script")
        .args(["-qec", &format!("'{}' export bad", env!("CARGO_BIN_EXE_berth")), "/dev/null"])
        .env("BERTH_ROOT", b.root())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stdout(&o).contains("cowardly refusing to save to a terminal"), "{}", stdout(&o));
    // Garbage and a truncated archive are refused, and leave no half file.
    let mut t = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(4096);
    h.set_mode(0o644);
    t.append_data(&mut h, "half", &[7u8; 4096][..]).unwrap();
    let truncated = t.into_inner().unwrap()[..2000].to_vec();
    for input in [b"this is not a tar archive at all, just text".to_vec(), truncated] {
        let mut c = b.cmd().args(["cp", "-", "bad:/tmp"]).stdin(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(c.stdin.as_mut().unwrap(), &input).unwrap();
        drop(c.stdin.take());
        let o = c.wait_with_output().unwrap();
        assert!(!o.status.success());
        let err = stderr(&o);
        assert!(err.trim_end().lines().count() == 1 && err.contains("invalid archive"), "{err}");
    }
    assert!(!tmp.path().join("x").exists() && !tmp.path().join("y").exists() && !tmp.path().join("e.tar").exists());
    assert_eq!(b.snapshot_tree(), before, "bad input changed the state root");
    assert_eq!(b.ok(&["images", "-q"]), images_before);
    assert_eq!(b.ok(&["diff", "bad"]).lines().filter(|l| l.starts_with("A /tmp/")).count(), 1, "only /tmp/new was added");
}

#[test]
fn cp_reaches_bind_mounts_of_a_running_container() {
    let b = busybox();
    let vol = tempfile::tempdir().unwrap();
    std::fs::write(vol.path().join("on-host"), "host side\n").unwrap();
    let spec = format!("{}:/mnt/vol", vol.path().display());
    b.ok(&["run", "-d", "--name", "bound", "-v", &spec, IMAGE, "sleep", "1000"]);
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("in");
    std::fs::write(&f, "via cp\n").unwrap();
    // Like docker: into and out of the mount, not the container's own layer beneath it.
    b.ok(&["cp", f.to_str().unwrap(), "bound:/mnt/vol/copied"]);
    assert_eq!(read(&vol.path().join("copied")), "via cp\n");
    b.ok(&["cp", "bound:/mnt/vol/on-host", tmp.path().join("out").to_str().unwrap()]);
    assert_eq!(read(&tmp.path().join("out")), "host side\n");
    assert!(!b.ok(&["diff", "bound"]).contains("/mnt/vol/copied"), "a bind mount's files are not the container's changes");
    // On a terminal, docker's closing line (and none with -q).
    let on_tty = |args: &str| {
        let o = std::process::Command::new("script")
            .args(["-qec", &format!("'{}' cp {args}", env!("CARGO_BIN_EXE_berth")), "/dev/null"])
            .env("BERTH_ROOT", b.root())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stdout(&o));
        stdout(&o)
    };
    let out = on_tty(&format!("{} bound:/tmp/", f.display()));
    assert!(out.starts_with("Successfully copied ") && out.trim_end().ends_with("B to bound:/tmp/"), "{out:?}");
    assert_eq!(on_tty(&format!("-q {} bound:/tmp/", f.display())), "");
}

/// The same changes made in a berth container and in a dockerd container: `berth diff` prints
/// what `docker diff` prints; and `berth -H` copies both ways through dockerd's archive API.
#[test]
fn diff_matches_docker_and_cp_works_through_dockerd() {
    let b = busybox();
    let dockerd = Dockerd::start();
    dockerd.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let script = "echo hi > /tmp/new; rm /bin/ls; mkdir -p /data/sub; echo x > /data/sub/f; ln -s / /escape; \
                  echo more >> /etc/passwd; rm -rf /home; mkdir /home; touch /home/fresh; touch /ready; sleep 1000";
    b.ok(&["run", "-d", "--name", "same", IMAGE, "sh", "-c", script]);
    dockerd.ok(&["run", "-d", "--network", "none", "--name", "same", IMAGE, "sh", "-c", script]);
    let t0 = std::time::Instant::now();
    while !(b.cmd().args(["exec", "same", "test", "-e", "/ready"]).status().unwrap().success()
        && dockerd.docker().args(["exec", "same", "test", "-e", "/ready"]).status().unwrap().success())
    {
        assert!(t0.elapsed().as_secs() < 30, "containers never got ready");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut ours: Vec<String> = b.ok(&["diff", "same"]).lines().map(String::from).collect();
    let mut theirs: Vec<String> = dockerd.ok(&["diff", "same"]).lines().map(String::from).collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "berth diff vs docker diff");

    // The CLI's cp logic over the Docker backend: a directory out, a file and a tar stream in.
    let host = dockerd.host();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("data-copy");
    b.ok(&["-H", &host, "cp", "same:/data", out.to_str().unwrap()]);
    assert_eq!(read(&out.join("sub/f")), "x\n");
    let f = tmp.path().join("in.txt");
    std::fs::write(&f, "to dockerd\n").unwrap();
    b.ok(&["-H", &host, "cp", f.to_str().unwrap(), "same:/data/sub/"]);
    assert_eq!(dockerd.ok(&["exec", "same", "cat", "/data/sub/in.txt"]), "to dockerd\n");
    let err = b.fails(&["-H", &host, "cp", "same:/nope", tmp.path().to_str().unwrap()]);
    assert!(err.contains("Could not find the file /nope in container same"), "{err}");
    let id = b.ok(&["-H", &host, "commit", "-c", "ENV VIA=berth", "same", "via-berth:v1"]).trim().to_string();
    assert!(id.starts_with("sha256:"), "{id}");
    assert_eq!(dockerd.ok(&["run", "--rm", "--network", "none", "via-berth:v1", "sh", "-c", "cat /tmp/new; echo $VIA"]), "hi\nberth\n");
    dockerd.ok(&["rm", "-f", "same"]);
}

/// SIGKILL in the middle of a commit leaves no image and nothing half-written that a later
/// berth would trust; the next commit works.
#[test]
fn a_commit_killed_midway_leaves_no_image() {
    let b = busybox();
    b.ok(&[
        "run",
        "-d",
        "--name",
        "big",
        IMAGE,
        "sh",
        "-c",
        "dd if=/dev/urandom of=/big bs=1M count=64 2>/dev/null; touch /ready; sleep 1000",
    ]);
    let t0 = std::time::Instant::now();
    while !b.cmd().args(["exec", "big", "test", "-e", "/ready"]).status().unwrap().success() {
        assert!(t0.elapsed().as_secs() < 60, "never got ready");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let images_before = b.ok(&["images", "-q"]);
    // SIGTERM (or ctrl-c): the container is thawed, no image.
    let c = b.cmd().args(["commit", "big", "half:v1"]).stderr(Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let o = c.wait_with_output().unwrap();
    assert!(!o.status.success());
    assert_eq!(stderr(&o).trim(), "Error: commit interrupted: no image was created");
    assert_eq!(b.ok(&["images", "-q"]), images_before, "an interrupted commit left an image");
    let status = b.ok(&["ps", "--filter", "name=big", "--format", "{{.Status}}"]);
    assert!(status.starts_with("Up") && !status.contains("Paused"), "{status}");
    // SIGKILL: nothing can run, but still no image.
    let mut c = b.cmd().args(["commit", "big", "half:v1"]).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    assert!(c.try_wait().unwrap().is_none(), "the commit finished too fast to interrupt");
    c.kill().unwrap();
    c.wait().unwrap();
    assert_eq!(b.ok(&["images", "-q"]), images_before, "a killed commit left an image");
    b.fails(&["image", "inspect", "half:v1"]);
    // The container was left paused by the killed commit (docker's daemon would unpause);
    // unpause it and commit again: the image is complete.
    let _ = b.cmd().args(["unpause", "big"]).output();
    b.ok(&["commit", "big", "half:v1"]);
    assert_eq!(b.ok(&["run", "--rm", "half:v1", "sh", "-c", "wc -c < /big"]).trim(), (64 * 1024 * 1024).to_string());
    // Nothing is left in ingest/ once a fresh berth opened the store.
    let ingest: Vec<_> = std::fs::read_dir(b.root().join("ingest")).unwrap().flatten().collect();
    assert!(ingest.is_empty(), "{ingest:?}");
}

/// The shape of docker's CVE-2018-15664: the container swaps a directory for a symlink to /
/// while `cp` works on it. Reads walk by fd and never follow it; writes resolve in the root.
#[test]
fn cp_racing_a_symlink_swap_stays_in_the_container() {
    let b = busybox();
    let race = "mkdir -p /race; touch /ready; while true; do rm -rf /race/d; mkdir /race/d; echo in > /race/d/f; \
                rm -rf /race/d; ln -s / /race/d; done";
    let id = b.ok(&["run", "-d", "--name", "racer", IMAGE, "sh", "-c", race]).trim().to_string();
    let t0 = std::time::Instant::now();
    while !b.cmd().args(["exec", "racer", "test", "-e", "/ready"]).status().unwrap().success() {
        assert!(t0.elapsed().as_secs() < 20, "never got ready");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let tmp = tempfile::tempdir().unwrap();
    let marker = format!("berth-race-{}", std::process::id());
    let payload = tmp.path().join(&marker);
    std::fs::write(&payload, "p").unwrap();
    for i in 0..25 {
        let out = tmp.path().join(format!("out{i}"));
        // The copy may fail when `d` vanishes mid-walk; it must never hold host files.
        let _ = b.cmd().args(["cp", "racer:/race", out.to_str().unwrap()]).output().unwrap();
        if let Ok(m) = std::fs::symlink_metadata(out.join("d")) {
            if m.file_type().is_symlink() {
                assert_eq!(std::fs::read_link(out.join("d")).unwrap(), Path::new("/"));
            } else {
                let names: Vec<String> =
                    std::fs::read_dir(out.join("d")).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
                assert!(names.iter().all(|n| n == "f"), "round {i}: host files came out: {names:?}");
            }
        }
        let _ = b.cmd().args(["cp", payload.to_str().unwrap(), "racer:/race/d/"]).output().unwrap();
        assert!(!Path::new("/").join(&marker).exists(), "round {i}: a copy landed in the host's /");
        // Through `d -> /`: the container's hostname file, never the host's.
        let o = b.cmd().args(["cp", "racer:/race/d/etc/hostname", "-"]).output().unwrap();
        if o.status.success() {
            let mut ar = tar::Archive::new(&o.stdout[..]);
            let mut e = ar.entries().unwrap().next().unwrap().unwrap();
            let mut got = String::new();
            std::io::Read::read_to_string(&mut e, &mut got).unwrap();
            assert_eq!(got.trim(), &id[..12], "round {i}: read the host's hostname");
        }
    }
}

/// `commit -c` on a container whose config has nulls where docker has nothing (no labels;
/// an image committed by docker carries `"Volumes": null`, `"Entrypoint": null`): the same
/// config as dockerd's commit of the same container with the same changes, never a panic;
/// a relative WORKDIR is joined to the container's, as dockerd joins it.
#[test]
fn commit_changes_match_docker() {
    let b = busybox();
    let dockerd = Dockerd::start();
    dockerd.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    dockerd.ok(&["create", "--network", "none", "--name", "base", "-w", "/srv", IMAGE, "true"]);
    dockerd.ok(&["commit", "base", "dcommitted:v1"]);
    let tmp = tempfile::tempdir().unwrap();
    let saved = tmp.path().join("dcommitted.tar");
    dockerd.ok(&["save", "-o", saved.to_str().unwrap(), "dcommitted:v1"]);
    b.ok(&["load", "-i", saved.to_str().unwrap()]);
    b.ok(&["create", "--name", "ctr", "dcommitted:v1", "true"]);
    dockerd.ok(&["create", "--network", "none", "--name", "ctr", "dcommitted:v1", "true"]);
    let commit = ["commit", "-c", "LABEL a=b", "-c", "VOLUME /v", "-c", "EXPOSE 80", "-c", "ENV X=1", "-c", "WORKDIR rel", "ctr", "out:v1"];
    b.ok(&commit);
    dockerd.ok(&commit);
    let config = |json: String| -> serde_json::Value { serde_json::from_str::<serde_json::Value>(&json).unwrap()[0]["Config"].clone() };
    let ours = config(b.ok(&["image", "inspect", "out:v1"]));
    let theirs = config(dockerd.ok(&["image", "inspect", "out:v1"]));
    for key in ["Labels", "Volumes", "ExposedPorts", "Env", "WorkingDir", "Cmd"] {
        assert_eq!(ours[key], theirs[key], "Config.{key}: berth {ours} vs docker {theirs}");
    }
    assert_eq!(ours["WorkingDir"], "/srv/rel");
    assert_eq!(ours["Labels"], serde_json::json!({"a": "b"}));
    // The committed image runs, in its new working directory.
    assert_eq!(b.ok(&["run", "--rm", "out:v1", "pwd"]), "/srv/rel\n");
    // Committing the committed image again (now with objects where the nulls were).
    b.ok(&["create", "--name", "ctr2", "out:v1", "true"]);
    b.ok(&["commit", "-c", "LABEL c=d", "-c", "VOLUME /w", "ctr2", "out:v2"]);
    let v2 = config(b.ok(&["image", "inspect", "out:v2"]));
    assert_eq!(v2["Labels"], serde_json::json!({"a": "b", "c": "d"}));
    assert_eq!(v2["Volumes"], serde_json::json!({"/v": {}, "/w": {}}));
}

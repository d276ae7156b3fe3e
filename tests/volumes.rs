//! Volumes as docker users expect them, with real containers: named volumes that outlive
//! their containers, anonymous ones from `-v /path` and an image's `VOLUME` filled from the
//! image on first mount, `rm -v` / `run --rm` cleanup, in-use refusal, prune, bad input.
mod common;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Stdio;

use common::*;

fn busybox() -> TestBerth {
    let b = TestBerth(Berth::new());
    b.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    b
}

/// (exit code, stdout, stderr)
fn run(b: &Berth, args: &[&str]) -> (i32, String, String) {
    let o = b.cmd().args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), stdout(&o), stderr(&o))
}

fn mounts(b: &Berth, ctr: &str) -> Vec<serde_json::Value> {
    serde_json::from_str(&b.ok(&["inspect", "-f", "{{json .Mounts}}", ctr])).unwrap()
}

fn volume_names(b: &Berth, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["volume", "ls", "-q"];
    args.extend_from_slice(extra);
    b.ok(&args).lines().map(String::from).collect()
}

/// An image whose config says `VOLUME /data`, with content there: a file owned by nobody
/// with mode 0640 in a 0750 directory, and a symlink to `/` that must stay a symlink.
fn volume_image(b: &Berth) {
    b.ok(&[
        "run",
        "--name",
        "src",
        "testimg/busybox",
        "sh",
        "-c",
        "mkdir -p /data/sub && echo from-image > /data/sub/f && chown -R 65534:65534 /data && chmod 0750 /data \
         && chmod 0640 /data/sub/f && ln -s / /data/escape",
    ]);
    b.ok(&["commit", "-c", "VOLUME /data", "src", "volimg"]);
    b.ok(&["rm", "src"]);
}

#[test]
fn named_volume_outlives_its_container_and_is_shared() {
    let b = busybox();
    b.ok(&["run", "--rm", "-v", "shared:/data", "testimg/busybox", "sh", "-c", "echo kept > /data/f"]);
    assert_eq!(b.ok(&["volume", "ls"]), "DRIVER    VOLUME NAME\nlocal     shared\n");
    b.ok(&["run", "--name", "reader", "-v", "shared:/in:ro", "testimg/busybox", "cat", "/in/f"]);
    assert_eq!(b.ok(&["logs", "reader"]), "kept\n");
    let (code, _, err) = run(&b, &["run", "--rm", "-v", "shared:/in:ro", "testimg/busybox", "touch", "/in/x"]);
    assert_ne!(code, 0, "a :ro volume must not be writable");
    assert!(err.contains("Read-only file system"), "{err}");
    // inspect, in docker's shapes.
    let m = mounts(&b, "reader");
    assert_eq!(m.len(), 1, "{m:?}");
    let data = b.root().join("volumes/shared/_data");
    assert_eq!(m[0]["Type"], "volume");
    assert_eq!(m[0]["Name"], "shared");
    assert_eq!(m[0]["Source"], data.display().to_string());
    assert_eq!(m[0]["Destination"], "/in");
    assert_eq!(m[0]["Driver"], "local");
    assert_eq!(m[0]["RW"], false);
    assert_eq!(b.ok(&["inspect", "-f", "{{json .HostConfig.Binds}}", "reader"]).trim(), r#"["shared:/in:ro"]"#);
    let v: serde_json::Value = serde_json::from_str(&b.ok(&["volume", "inspect", "shared"])).unwrap();
    assert_eq!(v[0]["Name"], "shared");
    assert_eq!(v[0]["Driver"], "local");
    assert_eq!(v[0]["Scope"], "local");
    assert_eq!(v[0]["Mountpoint"], data.display().to_string());
    assert_eq!(b.ok(&["volume", "inspect", "-f", "{{.Name}} {{.Driver}}", "shared"]), "shared local\n");
    // An untyped `inspect` finds volumes too (after containers and images), as docker's.
    assert_eq!(b.ok(&["inspect", "-f", "{{.Mountpoint}}", "shared"]).trim(), data.display().to_string());
    assert_eq!(b.ok(&["inspect", "--type", "volume", "-f", "{{.Scope}}", "shared"]), "local\n");
    assert!(b.fails(&["inspect", "--type", "image", "shared"]).contains("No such object"));
    // rm -v keeps named volumes (only anonymous ones go).
    b.ok(&["rm", "-v", "reader"]);
    assert_eq!(volume_names(&b, &[]), ["shared"]);
    assert_eq!(std::fs::read_to_string(data.join("f")).unwrap(), "kept\n");
    // `volume create` of an existing name is a no-op that prints it, like docker.
    assert_eq!(b.ok(&["volume", "create", "shared"]), "shared\n");
    let anon = b.ok(&["volume", "create"]).trim().to_string();
    assert_eq!(anon.len(), 64, "{anon}");
    assert_eq!(volume_names(&b, &["--filter", "name=shar"]), ["shared"]);
}

#[test]
fn image_volume_is_filled_from_the_image_and_rm_v_removes_it() {
    let b = busybox();
    volume_image(&b);
    b.ok(&["run", "-d", "--name", "c1", "volimg", "sleep", "300"]);
    let m = mounts(&b, "c1");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!((m[0]["Type"].as_str(), m[0]["Destination"].as_str(), m[0]["RW"].as_bool()), (Some("volume"), Some("/data"), Some(true)));
    let name = m[0]["Name"].as_str().unwrap().to_string();
    assert_eq!(name.len(), 64);
    // Copied up with owners and modes; the symlink to / is copied as a symlink, and
    // nothing of the host's root came with it.
    let data = b.root().join("volumes").join(&name).join("_data");
    let top = std::fs::metadata(&data).unwrap();
    assert_eq!((top.uid(), top.permissions().mode() & 0o7777), (65534, 0o750));
    let f = std::fs::metadata(data.join("sub/f")).unwrap();
    assert_eq!((f.uid(), f.gid(), f.permissions().mode() & 0o7777), (65534, 65534, 0o640));
    assert_eq!(std::fs::read_link(data.join("escape")).unwrap(), std::path::Path::new("/"));
    let mut entries: Vec<String> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    entries.sort();
    assert_eq!(entries, ["escape", "sub"]);
    assert_eq!(b.ok(&["exec", "c1", "cat", "/data/sub/f"]), "from-image\n");
    // rm without -v keeps it (dangling now); rm -v on another container removes its own.
    b.ok(&["rm", "-f", "c1"]);
    assert_eq!(volume_names(&b, &["--filter", "dangling=true"]), std::slice::from_ref(&name));
    b.ok(&["run", "-d", "--name", "c2", "volimg", "sleep", "300"]);
    let name2 = mounts(&b, "c2")[0]["Name"].as_str().unwrap().to_string();
    assert_ne!(name2, name);
    assert_eq!(volume_names(&b, &["--filter", "dangling=false"]), std::slice::from_ref(&name2));
    b.ok(&["rm", "-fv", "c2"]);
    assert_eq!(volume_names(&b, &[]), std::slice::from_ref(&name));
    assert!(!b.root().join("volumes").join(&name2).exists());
    // run --rm takes its anonymous volumes along (-v /path ones too).
    b.ok(&["run", "--rm", "-v", "/scratch", "volimg", "sh", "-c", "test -f /data/sub/f && touch /scratch/x"]);
    assert_eq!(volume_names(&b, &[]), std::slice::from_ref(&name));
    // A named volume on an image volume's path replaces it, filled from the image once:
    // what a container changed is what the next one sees.
    b.ok(&["run", "--rm", "-v", "mine:/data", "volimg", "sh", "-c", "cat /data/sub/f && echo changed > /data/sub/f"]);
    assert_eq!(b.ok(&["run", "--rm", "-v", "mine:/data", "volimg", "cat", "/data/sub/f"]), "changed\n");
    let mut all = volume_names(&b, &[]);
    all.sort();
    let mut want = vec![name, "mine".to_string()];
    want.sort();
    assert_eq!(all, want);
}

#[test]
fn volume_in_use_cannot_be_removed() {
    let b = busybox();
    let id = b.ok(&["run", "-d", "--name", "busy", "-v", "held:/x", "testimg/busybox", "sleep", "300"]).trim().to_string();
    for args in [&["volume", "rm", "held"][..], &["volume", "rm", "-f", "held"]] {
        let (code, out, err) = run(&b, args);
        assert_eq!(code, 1, "{args:?}");
        assert!(out.is_empty(), "{out}");
        assert_eq!(err.trim(), format!("Error: remove held: volume is in use - [{}]", &id[..12]), "{args:?}");
    }
    // Stopped still counts as in use, as with docker.
    b.ok(&["stop", "-t", "0", "busy"]);
    assert!(b.fails(&["volume", "rm", "held"]).contains("volume is in use"));
    b.ok(&["volume", "prune", "-af"]);
    assert_eq!(volume_names(&b, &[]), ["held"]);
    b.ok(&["rm", "busy"]);
    assert_eq!(b.ok(&["volume", "rm", "held"]), "held\n");
    assert!(!b.root().join("volumes/held").exists());
    let (code, _, err) = run(&b, &["volume", "rm", "held"]);
    assert_eq!((code, err.trim()), (1, "Error: No such volume: held"));
    assert_eq!(run(&b, &["volume", "rm", "-f", "held"]).0, 0, "-f ignores a missing volume");
}

#[test]
fn bad_names_and_specs_change_nothing() {
    let b = busybox();
    let before = b.snapshot_tree();
    for (args, want) in [
        (&["volume", "create", "a"][..], "invalid characters"),
        (&["volume", "create", "bad/name"], "invalid characters"),
        (&["volume", "create", "-d", "nfs", "ok"], "not available"),
        (&["volume", "inspect", "nosuch"], "No such volume: nosuch"),
        (&["volume", "ls", "--filter", "bogus=1"], "invalid filter"),
        (&["volume", "ls", "--filter", "dangling=maybe"], "invalid filter"),
    ] {
        let (code, _, err) = run(&b, args);
        assert_ne!(code, 0, "{args:?}");
        assert!(err.contains(want) && err.lines().count() == 1, "{args:?}: {err}");
    }
    for spec in [
        &["-v", "x:/d"][..],
        &["-v", "bad name:/d"],
        &["-v", "data:relative"],
        &["-v", "data:/d:rx"],
        &["-v", "/"],
        &["-v", "/d", "-v", "data:/d"],
    ] {
        let mut args = vec!["run", "--rm"];
        args.extend_from_slice(spec);
        args.extend(["testimg/busybox", "true"]);
        let (code, _, err) = run(&b, &args);
        assert_eq!(code, 125, "{spec:?}");
        assert!(err.starts_with("Error: ") && err.lines().count() == 1, "{spec:?}: {err}");
    }
    assert_eq!(b.ok(&["ps", "-aq"]), "");
    assert_eq!(b.ok(&["volume", "ls", "-q"]), "");
    assert_eq!(b.snapshot_tree(), before, "bad input changed the state root");
}

#[test]
fn prune_takes_unused_anonymous_volumes_and_asks_first() {
    let b = busybox();
    b.ok(&["volume", "create", "named-idle"]);
    let anon_idle = b.ok(&["volume", "create"]).trim().to_string();
    b.ok(&["run", "-d", "--name", "user", "-v", "named-busy:/a", "-v", "/b", "testimg/busybox", "sleep", "300"]);
    let anon_busy = mounts(&b, "user").iter().find(|m| m["Destination"] == "/b").unwrap()["Name"].as_str().unwrap().to_string();
    std::fs::write(b.root().join("volumes").join(&anon_idle).join("_data/blob"), vec![7u8; 4096]).unwrap();
    // Without -f it asks; anything but y keeps everything.
    let mut child = b.cmd().args(["volume", "prune"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = stdout(&child.wait_with_output().unwrap());
    assert!(out.contains("Are you sure you want to continue? [y/N]"), "{out}");
    assert_eq!(volume_names(&b, &[]).len(), 4);
    // Default: unused anonymous volumes only.
    let out = b.ok(&["volume", "prune", "-f"]);
    assert_eq!(out, format!("Deleted Volumes:\n{anon_idle}\n\nTotal reclaimed space: 4.096kB\n"));
    let mut left = volume_names(&b, &[]);
    left.sort();
    let mut want = vec![anon_busy.clone(), "named-busy".to_string(), "named-idle".to_string()];
    want.sort();
    assert_eq!(left, want);
    // -a: every unused one; volumes in use stay.
    let out = b.ok(&["volume", "prune", "-af"]);
    assert!(out.starts_with("Deleted Volumes:\nnamed-idle\n"), "{out}");
    let mut left = volume_names(&b, &[]);
    left.sort();
    let mut want = vec![anon_busy, "named-busy".to_string()];
    want.sort();
    assert_eq!(left, want);
    assert_eq!(b.ok(&["volume", "prune", "-f"]), "Total reclaimed space: 0B\n");
}

/// The same verbs against a Docker daemon (`-H`): docker's own CLI sees what berth did, and
/// berth's `volume ls` prints what `docker volume ls` prints.
#[test]
fn volume_verbs_on_a_docker_endpoint() {
    let b = Berth::new();
    let dockerd = Dockerd::start();
    dockerd.ok(&["load", "-i", images().join("busybox.tar").to_str().unwrap()]);
    let h = dockerd.host();
    let berth = |args: &[&str]| -> String {
        let mut v = vec!["-H", h.as_str()];
        v.extend_from_slice(args);
        b.ok(&v)
    };
    assert_eq!(berth(&["volume", "create", "dvol"]), "dvol\n");
    berth(&["run", "--rm", "-v", "dvol:/d", "-v", "/scratch", "testimg/busybox", "sh", "-c", "echo via-docker > /d/f"]);
    assert_eq!(dockerd.ok(&["run", "--rm", "-v", "dvol:/d", "testimg/busybox", "cat", "/d/f"]), "via-docker\n");
    assert_eq!(berth(&["volume", "ls"]), dockerd.ok(&["volume", "ls"]));
    assert_eq!(berth(&["volume", "ls", "-q"]), "dvol\n", "run --rm left an anonymous volume behind");
    let v: serde_json::Value = serde_json::from_str(&berth(&["volume", "inspect", "dvol"])).unwrap();
    assert_eq!((v[0]["Name"].as_str(), v[0]["Driver"].as_str()), (Some("dvol"), Some("local")));
    berth(&["run", "-d", "--name", "holder", "-v", "dvol:/d", "-v", "/anon", "testimg/busybox", "sleep", "300"]);
    let mut args = vec!["-H", h.as_str(), "volume", "rm", "dvol"];
    let err = b.fails(&args);
    assert!(err.contains("volume is in use") && err.lines().count() == 1, "{err}");
    berth(&["rm", "-fv", "holder"]);
    assert_eq!(dockerd.ok(&["volume", "ls", "-q"]), "dvol\n", "rm -v must take the anonymous volume only");
    args.truncate(5);
    b.ok(&args);
    assert_eq!(dockerd.ok(&["volume", "ls", "-q"]), "");
}

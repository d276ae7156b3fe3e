//! `load`, `save`, `import` and the built-in `hello` image, end to end: skopeo's, docker
//! 20.10's and docker 25's docker-archive shapes, OCI layouts, round trips through a real
//! dockerd with the image ID kept, and bad input that must change nothing.
mod common;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::{Value, json};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn id_of(b: &Berth, name: &str) -> String {
    b.ok(&["image", "inspect", "-f", "{{.Id}}", name]).trim().to_string()
}

fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(data))
}

/// A tar of the given regular files, in order.
fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// Add a symlink or hard link to a tar being built.
fn add_link(b: &mut tar::Builder<Vec<u8>>, kind: tar::EntryType, name: &str, target: &str) {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(0);
    h.set_mode(0o777);
    b.append_link(&mut h, name, target).unwrap();
}

fn add_file(b: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    b.append_data(&mut h, name, data).unwrap();
}

/// `tar -C dir -cf out .`
fn tar_dir(dir: &Path, out: &Path) {
    run_ok(Command::new("tar").arg("-C").arg(dir).arg("-cf").arg(out).arg("."));
}

fn oci_blob(layout: &str, digest: &str) -> Vec<u8> {
    fs::read(images().join("oci").join(layout).join("blobs/sha256").join(digest.trim_start_matches("sha256:"))).unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    run_ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

#[test]
fn loads_skopeo_docker_archives() {
    let b = Berth::new();
    let out = b.ok(&["load", "-i", s(&images().join("busybox.tar"))]);
    assert_eq!(out, "Loaded image: testimg/busybox:latest\n");
    // stdin is the default input.
    let out = stdout(&run_ok(b.cmd().arg("load").stdin(fs::File::open(images().join("layered.tar")).unwrap())));
    assert_eq!(out, "Loaded image: testimg/layered:latest\n");
    b.ok(&["load", "-i", s(&images().join("hello.tar"))]);

    let list = b.ok(&["images"]);
    let row = list.lines().find(|l| l.starts_with("testimg/busybox ")).unwrap_or_else(|| panic!("{list}"));
    assert_eq!(row.split_whitespace().nth(1), Some("latest"));
    assert_eq!(id_of(&b, "testimg/busybox"), image_digest("busybox", "config"));
    assert_eq!(id_of(&b, "testimg/layered:latest"), image_digest("layered", "config"));
    assert_eq!(id_of(&b, "testimg/hello"), image_digest("hello", "config"));
    let layers = b.ok(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", "testimg/layered"]);
    let layers: Vec<String> = serde_json::from_str(&layers).unwrap();
    assert_eq!(layers.len(), 3);
    assert_eq!(layers[0], image_digest("busybox", "diff_id"));
    // Loading again is a no-op that still prints the name; nothing is left in ingest/.
    assert_eq!(b.ok(&["load", "-i", s(&images().join("busybox.tar"))]), "Loaded image: testimg/busybox:latest\n");
    assert_eq!(fs::read_dir(b.root().join("ingest")).unwrap().count(), 0);
}

#[test]
fn loads_docker25_oci_shape_and_pure_oci_layouts() {
    let b = Berth::new();
    let t = tempfile::tempdir().unwrap();

    // docker 25+: an OCI layout plus a manifest.json whose paths are blobs/sha256/<hex>.
    let dir = t.path().join("d25");
    copy_dir(&images().join("oci/layered"), &dir);
    let manifest: Value = serde_json::from_slice(&oci_blob("layered", &image_digest("layered", "manifest"))).unwrap();
    let blob_path = |d: &str| format!("blobs/sha256/{}", d.trim_start_matches("sha256:"));
    let layers: Vec<String> = manifest["layers"].as_array().unwrap().iter().map(|l| blob_path(l["digest"].as_str().unwrap())).collect();
    let mj = json!([{"Config": blob_path(&image_digest("layered", "config")), "RepoTags": ["testimg/layered:v25"], "Layers": layers}]);
    fs::write(dir.join("manifest.json"), serde_json::to_vec(&mj).unwrap()).unwrap();
    let tarball = t.path().join("d25.tar");
    tar_dir(&dir, &tarball);
    assert_eq!(b.ok(&["load", "-i", s(&tarball)]), "Loaded image: testimg/layered:v25\n");
    assert_eq!(id_of(&b, "testimg/layered:v25"), image_digest("layered", "config"));

    // A pure OCI layout whose ref name is a bare tag: loaded untagged, by ID.
    let tarball = t.path().join("oci.tar");
    tar_dir(&images().join("oci/busybox"), &tarball);
    let id = image_digest("busybox", "config");
    assert_eq!(b.ok(&["load", "-i", s(&tarball)]), format!("Loaded image ID: {id}\n"));
    assert_eq!(id_of(&b, &id), id);

    // ... and with containerd's full image name annotation: tagged.
    let dir = t.path().join("named");
    copy_dir(&images().join("oci/hello"), &dir);
    let mut index: Value = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = json!("docker.io/library/ocihello:1.0");
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    let tarball = t.path().join("named.tar");
    tar_dir(&dir, &tarball);
    assert_eq!(b.ok(&["load", "-i", s(&tarball)]), "Loaded image: ocihello:1.0\n");
    assert_eq!(id_of(&b, "ocihello:1.0"), image_digest("hello", "config"));

    // A gzip-compressed archive loads too (docker load accepts them).
    let gz = t.path().join("busybox.tar.gz");
    run_ok(Command::new("sh").arg("-c").arg(format!("gzip -c '{}' > '{}'", images().join("busybox.tar").display(), gz.display())));
    assert_eq!(b.ok(&["load", "-i", s(&gz)]), "Loaded image: testimg/busybox:latest\n");
}

#[test]
fn load_follows_symlinks_and_hard_links_inside_the_archive() {
    let b = Berth::new();
    let t = tempfile::tempdir().unwrap();
    let layer = oci_blob("hello-tar", &image_digest("hello-tar", "diff_id"));
    let config = oci_blob("hello", &image_digest("hello", "config"));
    let chex = sha256_hex(&config);
    let manifest = |layer: &str| json!([{"Config": format!("{chex}.json"), "RepoTags": ["linked:1"], "Layers": [layer]}]).to_string();
    let build = |extra: &dyn Fn(&mut tar::Builder<Vec<u8>>), layer_name: &str| {
        let mut tb = tar::Builder::new(Vec::new());
        add_file(&mut tb, "layers/real.tar", &layer);
        add_file(&mut tb, "configs/c.json", &config);
        add_link(&mut tb, tar::EntryType::Symlink, &format!("{chex}.json"), "configs/c.json");
        extra(&mut tb);
        add_file(&mut tb, "manifest.json", manifest(layer_name).as_bytes());
        tb.into_inner().unwrap()
    };
    let good = build(
        &|tb| {
            add_link(tb, tar::EntryType::Link, "a/layer.tar", "layers/real.tar");
            add_link(tb, tar::EntryType::Symlink, "b/layer.tar", "../a/layer.tar");
        },
        "b/layer.tar",
    );
    fs::write(t.path().join("good.tar"), good).unwrap();
    assert_eq!(b.ok(&["load", "-i", s(&t.path().join("good.tar"))]), "Loaded image: linked:1\n");
    assert_eq!(id_of(&b, "linked:1"), image_digest("hello", "config"));

    let looped = build(
        &|tb| {
            add_link(tb, tar::EntryType::Symlink, "x/layer.tar", "../y/layer.tar");
            add_link(tb, tar::EntryType::Symlink, "y/layer.tar", "../x/layer.tar");
        },
        "x/layer.tar",
    );
    fs::write(t.path().join("loop.tar"), looped).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&t.path().join("loop.tar"))], None, "too many levels of links");
    let escaping = build(&|tb| add_link(tb, tar::EntryType::Symlink, "c/layer.tar", "../../../etc/passwd"), "c/layer.tar");
    fs::write(t.path().join("escape.tar"), escaping).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&t.path().join("escape.tar"))], None, "c/layer.tar is missing");
}

#[test]
fn round_trips_with_docker_keep_image_ids() {
    let d = Dockerd::start();
    let t = tempfile::tempdir().unwrap();

    // docker save (dockerd 20.10 writes <id>/layer.tar and <config hex>.json) -> berth load.
    d.ok(&["load", "-i", s(&images().join("busybox.tar"))]);
    let docker_saved = t.path().join("docker-saved.tar");
    d.ok(&["save", "-o", s(&docker_saved), "testimg/busybox:latest"]);
    let listing = stdout(&run_ok(Command::new("tar").arg("-tf").arg(&docker_saved)));
    assert!(listing.lines().any(|l| l.ends_with("/layer.tar")), "{listing}");
    let docker_id = d.ok(&["image", "inspect", "-f", "{{.Id}}", "testimg/busybox:latest"]).trim().to_string();
    let b = Berth::new();
    assert_eq!(b.ok(&["load", "-i", s(&docker_saved)]), "Loaded image: testimg/busybox:latest\n");
    assert_eq!(id_of(&b, "testimg/busybox:latest"), docker_id);

    // berth save -> docker load: same IDs, and the layers are right (the images run).
    let b = Berth::new();
    b.ok(&["load", "-i", s(&images().join("hello.tar"))]);
    b.ok(&["load", "-i", s(&images().join("layered.tar"))]);
    let berth_saved = t.path().join("berth-saved.tar");
    b.ok(&["save", "-o", s(&berth_saved), "testimg/hello", "testimg/layered:latest", "hello"]);
    let out = d.ok(&["load", "-i", s(&berth_saved)]);
    for name in ["testimg/hello:latest", "testimg/layered:latest", "hello:latest"] {
        assert!(out.contains(&format!("Loaded image: {name}")), "{out}");
        let docker_id = d.ok(&["image", "inspect", "-f", "{{.Id}}", name]).trim().to_string();
        assert_eq!(docker_id, id_of(&b, name), "{name}");
    }
    let run = d.ok(&["run", "--rm", "--network", "none", "testimg/hello"]);
    assert!(run.contains("Hello from the test image!"), "{run}");
    let run = d.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "testimg/layered",
        "cat",
        "/data/hello.txt",
        "/data/hardlink.txt",
        "/data/opaque/new.txt",
    ]);
    assert_eq!(run, "version 2 (layer 3)\nversion 1 (layer 2)\nnew in layer 3\n");
    // A zstd layer (which dockerd 20.10 cannot read) is saved decompressed: docker runs it.
    let dir = t.path().join("zstd");
    copy_dir(&images().join("oci/busybox-zstd"), &dir);
    let mut index: Value = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    index["manifests"][0]["annotations"]["io.containerd.image.name"] = json!("testimg/zbox:1");
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    tar_dir(&dir, &t.path().join("zstd.tar"));
    b.ok(&["load", "-i", s(&t.path().join("zstd.tar"))]);
    let zsaved = t.path().join("zsaved.tar");
    b.ok(&["save", "-o", s(&zsaved), "testimg/zbox:1"]);
    assert!(d.ok(&["load", "-i", s(&zsaved)]).contains("Loaded image: testimg/zbox:1"));
    assert_eq!(d.ok(&["run", "--rm", "--network", "none", "testimg/zbox:1", "echo", "zstd ok"]), "zstd ok\n");
    // The built-in hello image runs under docker too.
    let run = d.ok(&["run", "--rm", "--network", "none", "hello"]);
    assert!(run.contains("Hello from berth!"), "{run}");

    // Saved by ID: no tags in the archive, docker loads it by ID.
    let by_id = t.path().join("by-id.tar");
    let id = id_of(&b, "testimg/hello");
    b.ok(&["save", "-o", s(&by_id), &id[7..19]]);
    let mut manifest = String::new();
    tar::Archive::new(fs::File::open(&by_id).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap())
        .find(|e| e.path().unwrap().to_str() == Some("manifest.json"))
        .unwrap()
        .read_to_string(&mut manifest)
        .unwrap();
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(manifest[0]["RepoTags"], Value::Null);
    d.ok(&["rmi", "testimg/hello"]);
    assert_eq!(d.ok(&["load", "-i", s(&by_id)]).trim(), format!("Loaded image ID: {id}"));
}

#[test]
fn save_to_stdout_and_by_repository() {
    let b = Berth::new();
    b.ok(&["load", "-i", s(&images().join("busybox.tar"))]);
    b.ok(&["tag", "testimg/busybox", "testimg/busybox:other"]);
    // A bare repository name saves every tag of it, like docker.
    let out = run_ok(b.cmd().args(["save", "testimg/busybox"]));
    let mut ar = tar::Archive::new(&out.stdout[..]);
    let mut manifest = String::new();
    let mut names = Vec::new();
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let p = e.path().unwrap().display().to_string();
        if p == "manifest.json" {
            e.read_to_string(&mut manifest).unwrap();
        }
        names.push(p);
    }
    let manifest: Value = serde_json::from_str(&manifest).unwrap();
    let mut tags: Vec<String> = serde_json::from_value(manifest[0]["RepoTags"].clone()).unwrap();
    tags.sort();
    assert_eq!(tags, ["testimg/busybox:latest", "testimg/busybox:other"]);
    let diff = image_digest("busybox", "diff_id");
    assert!(names.contains(&format!("{}/layer.tar", &diff[7..])), "{names:?}");
    assert!(names.contains(&format!("{}.json", &image_digest("busybox", "config")[7..])), "{names:?}");

    // What berth saves, berth loads into a fresh store with the same ID.
    let t = tempfile::tempdir().unwrap();
    fs::write(t.path().join("x.tar"), &out.stdout).unwrap();
    let b2 = Berth::new();
    let loaded = b2.ok(&["load", "-i", s(&t.path().join("x.tar"))]);
    assert_eq!(loaded, "Loaded image: testimg/busybox:latest\nLoaded image: testimg/busybox:other\n");
    assert_eq!(id_of(&b2, "testimg/busybox:other"), image_digest("busybox", "config"));
}

#[test]
fn import_rootfs_tar_with_changes() {
    let b = Berth::new();
    let t = tempfile::tempdir().unwrap();
    let root = t.path().join("rootfs");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::write(root.join("etc/greeting"), "hi from an imported rootfs\n").unwrap();
    let tarball = t.path().join("rootfs.tar.gz");
    run_ok(Command::new("tar").arg("-C").arg(&root).arg("-czf").arg(&tarball).arg("."));

    let out = b.ok(&["import", "-c", r#"CMD ["/bin/sh"]"#, "-c", "ENV GREETING=hello", "-c", "WORKDIR /etc", s(&tarball), "imported:1"]);
    let id = out.trim();
    assert!(id.starts_with("sha256:") && id.len() == 71, "{out}");
    assert_eq!(id_of(&b, "imported:1"), id);
    assert_eq!(b.ok(&["image", "inspect", "-f", "{{json .Config.Cmd}}", "imported:1"]).trim(), r#"["/bin/sh"]"#);
    assert_eq!(b.ok(&["image", "inspect", "-f", "{{.Config.WorkingDir}}", "imported:1"]).trim(), "/etc");
    let env = b.ok(&["image", "inspect", "-f", "{{json .Config.Env}}", "imported:1"]);
    assert!(env.contains("GREETING=hello"), "{env}");
    let arch = b.ok(&["image", "inspect", "-f", "{{.Os}}/{{.Architecture}}", "imported:1"]);
    let host = if cfg!(target_arch = "x86_64") { "linux/amd64" } else { "linux/arm64" };
    assert_eq!(arch.trim(), host);
    let hist = b.ok(&["history", "imported:1"]);
    assert!(hist.contains("Imported from -"), "{hist}");
    let upper = b.ok(&["image", "inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "imported:1"]);
    assert_eq!(fs::read_to_string(Path::new(upper.trim()).join("etc/greeting")).unwrap(), "hi from an imported rootfs\n");

    // From stdin, with a message and no tag: an untagged image with that comment.
    let plain = t.path().join("rootfs.tar");
    run_ok(Command::new("tar").arg("-C").arg(&root).arg("-cf").arg(&plain).arg("."));
    let out = stdout(&run_ok(b.cmd().args(["import", "-m", "my import", "-"]).stdin(fs::File::open(&plain).unwrap())));
    let id2 = out.trim().to_string();
    assert_ne!(id2, id);
    assert!(b.ok(&["history", &id2]).contains("my import"));
    assert_eq!(b.ok(&["image", "inspect", "-f", "{{.Comment}}", &id2]).trim(), "my import");
    // Same rootfs: the layer is shared.
    let layers = |n: &str| b.ok(&["image", "inspect", "-f", "{{json .RootFS.Layers}}", n]);
    assert_eq!(layers(&id2), layers("imported:1"));
    // zstd-compressed input: same rootfs, same layer.
    let zst = t.path().join("rootfs.tar.zst");
    run_ok(Command::new("zstd").arg("-q").arg(&plain).arg("-o").arg(&zst));
    let id3 = b.ok(&["import", s(&zst), "imported:zstd"]).trim().to_string();
    assert_eq!(id_of(&b, "imported:zstd"), id3);
    assert_eq!(layers(&id3), layers("imported:1"));
}

fn hello_binary_from_save(b: &Berth, dir: &Path) -> PathBuf {
    let archive = dir.join("hello.tar");
    b.ok(&["save", "-o", s(&archive), "hello"]);
    let mut outer = tar::Archive::new(fs::File::open(&archive).unwrap());
    let mut layer = Vec::new();
    for e in outer.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str().unwrap().ends_with("/layer.tar") {
            e.read_to_end(&mut layer).unwrap();
        }
    }
    let mut inner = tar::Archive::new(&layer[..]);
    let names: Vec<String> = inner.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
    assert_eq!(names, ["hello"]);
    let mut inner = tar::Archive::new(&layer[..]);
    let mut e = inner.entries().unwrap().next().unwrap().unwrap();
    assert_eq!(e.header().mode().unwrap() & 0o777, 0o755);
    assert_eq!(e.header().uid().unwrap(), 0);
    let bin = dir.join("hello");
    e.unpack(&bin).unwrap();
    bin
}

#[test]
fn builtin_hello_image_works_offline() {
    let b1 = Berth::new();
    let b2 = Berth::new();
    let id1 = id_of(&b1, "hello");
    let id2 = id_of(&b2, "docker.io/library/hello:latest");
    assert_eq!(id1, id2, "the built-in image must have the same ID in every store");
    assert_eq!(id_of(&b1, "hello:latest"), id1);
    let list = b1.ok(&["images"]);
    assert!(list.lines().any(|l| l.split_whitespace().take(3).collect::<Vec<_>>() == ["hello", "latest", &id1[7..19]]), "{list}");
    assert_eq!(b1.ok(&["image", "inspect", "-f", "{{json .Config.Cmd}}", "hello"]).trim(), r#"["/hello"]"#);
    // Other verbs see it on a fresh store too.
    let b3 = Berth::new();
    assert!(b3.ok(&["history", "hello"]).contains("built into berth"));
    let b4 = Berth::new();
    b4.ok(&["tag", "hello", "greeter:1"]);
    assert_eq!(id_of(&b4, "greeter:1"), id1);
    // Another name is not the hello image.
    assert!(b4.fails(&["image", "inspect", "hello:2"]).contains("No such image"));

    // The layer holds /hello: a static program that prints the greeting on this host.
    let t = tempfile::tempdir().unwrap();
    let bin = hello_binary_from_save(&b1, t.path());
    let out = Command::new(&bin).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("Hello from berth!"), "{text}");
    assert!(text.contains("appears to be working correctly"), "{text}");
    assert!(text.lines().count() >= 8, "{text}");
    let file = stdout(&run_ok(Command::new("file").arg(&bin)));
    assert!(file.contains("statically linked"), "{file}");
}

#[test]
fn killed_load_leaves_nothing_and_is_cleaned() {
    use std::io::Write;
    let b = Berth::new();
    b.ok(&["images"]);
    let mut child = b.cmd().arg("load").stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let whole = fs::read(images().join("busybox.tar")).unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(&whole[..whole.len() / 3]).unwrap();
    pipe.flush().unwrap();
    // Wait until the load is staging the layer, then kill it at that instant.
    let ingest = b.root().join("ingest");
    let t0 = std::time::Instant::now();
    let staged = loop {
        let dirs: Vec<PathBuf> = fs::read_dir(&ingest).unwrap().map(|e| e.unwrap().path()).collect();
        if let Some(d) = dirs.iter().find(|d| d.file_name().unwrap().to_string_lossy().contains("-load-"))
            && fs::read_dir(d).unwrap().next().is_some()
        {
            break d.clone();
        }
        assert!(t0.elapsed() < std::time::Duration::from_secs(30), "load never started staging");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    drop(pipe);
    assert!(staged.exists());
    // No image is visible, and the next berth process removes the leftovers.
    assert_eq!(b.ok(&["images"]).lines().count(), 1);
    assert!(!staged.exists());
    assert_eq!(fs::read_dir(&ingest).unwrap().count(), 0);
    assert_eq!(fs::read_dir(b.root().join("blobs/sha256")).unwrap().count(), 0);
    // And a retry completes.
    assert_eq!(b.ok(&["load", "-i", s(&images().join("busybox.tar"))]), "Loaded image: testimg/busybox:latest\n");
}

#[test]
fn refuses_terminals_for_archive_streams() {
    let b = Berth::new();
    b.ok(&["images"]);
    let before = b.snapshot_tree();
    // `script` gives the command a pseudo-terminal as stdin and stdout.
    let on_tty = |args: &str| {
        let out = Command::new("script")
            .arg("-qec")
            .arg(format!("{} {args}", env!("CARGO_BIN_EXE_berth")))
            .arg("/dev/null")
            .env("BERTH_ROOT", b.root())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args}");
        stdout(&out)
    };
    assert!(on_tty("save hello").contains("cowardly refusing to save to a terminal. Use the -o flag or redirect"));
    assert!(on_tty("load").contains("requested load from stdin, but stdin is empty"));
    assert_eq!(b.snapshot_tree(), before);
}

/// One clear line on stderr, a non-zero exit, and the state root exactly as before.
fn fails_cleanly(b: &Berth, args: &[&str], stdin: Option<&Path>, expect: &str) {
    let before = b.snapshot_tree();
    let mut c = b.cmd();
    c.args(args);
    if let Some(p) = stdin {
        c.stdin(fs::File::open(p).unwrap());
    }
    let out = c.output().unwrap();
    let err = stderr(&out);
    assert!(!out.status.success(), "berth {args:?} should fail, printed {}", stdout(&out));
    assert_eq!(err.lines().count(), 1, "berth {args:?}: {err}");
    assert!(err.contains(expect), "berth {args:?}: expected {expect:?} in {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(b.snapshot_tree(), before, "berth {args:?} changed the store");
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let b = Berth::new();
    b.ok(&["load", "-i", s(&images().join("hello.tar"))]);
    let t = tempfile::tempdir().unwrap();
    let p = |n: &str| t.path().join(n);

    let whole = fs::read(images().join("busybox.tar")).unwrap();
    fs::write(p("truncated.tar"), &whole[..whole.len() / 2]).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&p("truncated.tar"))], None, "truncated");

    fs::write(p("text.tar"), "this is not a tar archive\n".repeat(100)).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&p("text.tar"))], None, "invalid archive");
    fails_cleanly(&b, &["load"], None, "empty");

    // A layer that is a valid tar but not the one the config's diff_ids name.
    let config = oci_blob("busybox", &image_digest("busybox", "config"));
    let chex = sha256_hex(&config);
    let wrong_layer = tar_of(&[("etc/not-busybox", b"surprise\n")]);
    let manifest =
        json!([{"Config": format!("{chex}.json"), "RepoTags": ["evil/busybox:latest"], "Layers": ["layer/layer.tar"]}]).to_string();
    let archive = tar_of(&[("manifest.json", manifest.as_bytes()), (&format!("{chex}.json"), &config), ("layer/layer.tar", &wrong_layer)]);
    fs::write(p("mismatch.tar"), archive).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&p("mismatch.tar"))], None, "digest mismatch");

    // A config whose bytes do not match its digest name.
    let archive = tar_of(&[("manifest.json", manifest.as_bytes()), (&format!("{chex}.json"), b"{}"), ("layer/layer.tar", &wrong_layer)]);
    fs::write(p("badconfig.tar"), archive).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&p("badconfig.tar"))], None, "digest mismatch");

    // manifest.json naming a file the archive lacks.
    let manifest =
        json!([{"Config": format!("{chex}.json"), "RepoTags": ["evil/busybox:latest"], "Layers": ["nowhere/layer.tar"]}]).to_string();
    let archive = tar_of(&[("manifest.json", manifest.as_bytes()), (&format!("{chex}.json"), &config)]);
    fs::write(p("missing.tar"), archive).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&p("missing.tar"))], None, "nowhere/layer.tar is missing");

    // An image for another operating system.
    let mut win: Value = serde_json::from_slice(&config).unwrap();
    win["os"] = json!("windows");
    let win = serde_json::to_vec(&win).unwrap();
    let whex = sha256_hex(&win);
    let manifest = json!([{"Config": format!("{whex}.json"), "RepoTags": ["win:1"], "Layers": ["l.tar"]}]).to_string();
    let layer = oci_blob("busybox", &image_digest("busybox", "digest"));
    let archive = tar_of(&[("manifest.json", manifest.as_bytes()), (&format!("{whex}.json"), &win), ("l.tar", &layer)]);
    fs::write(p("windows.tar"), archive).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&p("windows.tar"))], None, "image operating system \"windows\" cannot be used on this platform");

    // A manifest.json that is not JSON.
    fs::write(p("badjson.tar"), tar_of(&[("manifest.json", b"[{")])).unwrap();
    fails_cleanly(&b, &["load", "-i", s(&p("badjson.tar"))], None, "manifest.json");

    // import: garbage, a missing file, a bad reference, an unsupported change.
    fails_cleanly(&b, &["import", s(&p("text.tar")), "junk:1"], None, "not a valid tar archive");
    fails_cleanly(&b, &["import", "-", "junk:1"], Some(&p("text.tar")), "not a valid tar archive");
    fails_cleanly(&b, &["import", s(&p("truncated.tar")), "junk:1"], None, "truncated");
    fails_cleanly(&b, &["import", s(&p("nonexistent.tar"))], None, "nonexistent.tar");
    let good = p("good.tar");
    fs::write(&good, tar_of(&[("etc/x", b"x")])).unwrap();
    fails_cleanly(&b, &["import", s(&good), "BAD//ref"], None, "invalid reference format");
    fails_cleanly(&b, &["import", "-c", "RUN rm -rf /", s(&good)], None, "RUN is not supported");

    // save of an unknown image: error, and no output file.
    let out = p("out.tar");
    fails_cleanly(&b, &["save", "-o", s(&out), "testimg/hello", "nosuch:1"], None, "No such image: nosuch:1");
    assert!(!out.exists());
    assert_eq!(fs::read_dir(t.path()).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.')).count(), 0);
    // The good image is still there and intact.
    assert_eq!(id_of(&b, "testimg/hello"), image_digest("hello", "config"));
}

//! The fixtures' 3-layer `layered` image (busybox; files, a hard link, a long name;
//! whiteouts and an opaque dir), unpacked through `image::layer::ensure_layer` and mounted
//! as a read-only overlay exactly as containers will mount it, must show the same merged
//! tree as docker does for a container of the same image (`docker export`).
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_engine::image::layer::ensure_layer;
use berth_engine::store::digest::Digest;
use berth_engine::store::images::ImageStore;
use berth_engine::store::snapshots::Snapshots;
use common::{Dockerd, images, run_ok};
use sha2::{Digest as _, Sha256};

/// Paths docker's container init layer adds or replaces; not part of the image.
fn docker_adds(path: &str) -> bool {
    ["dev", "proc", "sys"].iter().any(|d| path == *d || path.starts_with(&format!("{d}/")))
        || ["etc/hostname", "etc/hosts", "etc/resolv.conf", "etc/mtab", ".dockerenv"].contains(&path)
}

fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// path -> "type mode uid:gid detail" for a directory tree, never following symlinks.
fn tree_of_dir(root: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, p: &Path, out: &mut BTreeMap<String, String>) {
        for e in fs::read_dir(p).unwrap() {
            let path = e.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            let md = fs::symlink_metadata(&path).unwrap();
            let ft = md.file_type();
            let detail = if ft.is_dir() {
                "dir".to_string()
            } else if ft.is_file() {
                format!("file {}", sha(&fs::read(&path).unwrap()))
            } else if ft.is_symlink() {
                format!("symlink {}", fs::read_link(&path).unwrap().display())
            } else if ft.is_char_device() {
                format!("char {}", md.rdev())
            } else if ft.is_block_device() {
                format!("block {}", md.rdev())
            } else {
                "fifo".to_string()
            };
            out.insert(rel, format!("{detail} {:o} {}:{}", md.mode() & 0o7777, md.uid(), md.gid()));
            if ft.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// The same description for a tar (hard links resolved to their target's content).
fn tree_of_tar(tar_path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut content: BTreeMap<String, String> = BTreeMap::new();
    let mut ar = tar::Archive::new(fs::File::open(tar_path).unwrap());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let norm = |p: &Path| p.to_str().unwrap().trim_start_matches("./").trim_start_matches('/').trim_end_matches('/').to_string();
        let path = norm(&e.path().unwrap());
        if path.is_empty() || path == "." {
            continue;
        }
        let h = e.header().clone();
        let detail = match h.entry_type() {
            tar::EntryType::Directory => "dir".to_string(),
            tar::EntryType::Regular => {
                let mut data = Vec::new();
                e.read_to_end(&mut data).unwrap();
                let d = format!("file {}", sha(&data));
                content.insert(path.clone(), d.clone());
                d
            }
            tar::EntryType::Link => content[&norm(&e.link_name().unwrap().unwrap())].clone(),
            tar::EntryType::Symlink => format!("symlink {}", e.link_name().unwrap().unwrap().display()),
            tar::EntryType::Char => {
                format!("char {}", libc::makedev(h.device_major().unwrap().unwrap(), h.device_minor().unwrap().unwrap()))
            }
            tar::EntryType::Block => {
                format!("block {}", libc::makedev(h.device_major().unwrap().unwrap(), h.device_minor().unwrap().unwrap()))
            }
            tar::EntryType::Fifo => "fifo".to_string(),
            other => panic!("unexpected {other:?} in docker export"),
        };
        out.insert(path, format!("{detail} {:o} {}:{}", h.mode().unwrap() & 0o7777, h.uid().unwrap(), h.gid().unwrap()));
    }
    out
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(p).unwrap()).unwrap()
}

/// A read-only overlay mount, unmounted on drop.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn layered_image_unpacks_to_dockers_merged_tree() {
    let tmp = tempfile::Builder::new().prefix("berth-layered-").tempdir().unwrap();
    let layout = images().join("oci/layered");
    let blob = |d: &str| layout.join("blobs/sha256").join(d.strip_prefix("sha256:").unwrap());
    let index = json(&layout.join("index.json"));
    let manifest = json(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    let config = json(&blob(manifest["config"]["digest"].as_str().unwrap()));
    let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
    let layers = manifest["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);

    let store = ImageStore::open(&tmp.path().join("root")).unwrap();
    let mut links = Vec::new();
    for (layer, diff_id) in layers.iter().zip(diff_ids) {
        let digest = layer["digest"].as_str().unwrap();
        let d = store.content.put_bytes(&fs::read(blob(digest)).unwrap()).unwrap();
        assert_eq!(d.as_str(), digest);
        let rec = ensure_layer(&store, &d, layer["mediaType"].as_str().unwrap(), Some(&Digest::parse(diff_id.as_str().unwrap()).unwrap()))
            .unwrap();
        links.push(rec.link);
    }
    links.reverse();
    let merged = tmp.path().join("merged");
    fs::create_dir(&merged).unwrap();
    run_ok(
        Command::new("mount")
            .current_dir(store.snapshots.root())
            .args(["-t", "overlay", "overlay", "-o"])
            .arg(format!("ro,lowerdir={}", Snapshots::lowerdir(&links)))
            .arg(&merged),
    );
    let mount = Mount(merged.clone());
    let mut ours = tree_of_dir(&merged);

    // What the image's author meant, checked directly.
    let m = |p: &str| merged.join(p);
    for gone in ["etc/motd", "bin/vi", "data/remove-me.txt", "data/gone-dir"] {
        assert!(fs::symlink_metadata(m(gone)).is_err(), "{gone} should be whited out");
    }
    let opaque: Vec<_> = fs::read_dir(m("data/opaque")).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(opaque, ["new.txt"]);
    assert_eq!(fs::read_to_string(m("data/hardlink.txt")).unwrap(), "version 1 (layer 2)\n");
    assert_eq!(fs::read_to_string(m("data/hello.txt")).unwrap(), "version 2 (layer 3)\n");
    assert_eq!(fs::read_to_string(m("data/symlink.txt")).unwrap(), "version 2 (layer 3)\n");
    assert_eq!(fs::read_to_string(m("data/keep.txt")).unwrap(), "kept: added in layer 2\n");
    assert_eq!(fs::read_to_string(m(&format!("data/long/{}.txt", "x".repeat(120)))).unwrap(), "long name\n");
    assert!(fs::symlink_metadata(m("bin/sh")).unwrap().file_type().is_symlink());
    drop(mount);

    // And what docker shows for a container of the same image.
    let docker = Dockerd::start();
    docker.ok(&["load", "-i", images().join("layered.tar").to_str().unwrap()]);
    let id = docker.ok(&["create", "testimg/layered:latest"]).trim().to_string();
    let export = tmp.path().join("export.tar");
    docker.ok(&["export", "-o", export.to_str().unwrap(), &id]);
    let mut theirs = tree_of_tar(&export);
    docker.ok(&["rm", &id]);

    ours.retain(|p, _| !docker_adds(p));
    theirs.retain(|p, _| !docker_adds(p));
    assert!(ours.len() > 250, "busybox's applets are there: {}", ours.len());
    let only_ours: Vec<_> = ours.iter().filter(|(k, v)| theirs.get(*k) != Some(v)).collect();
    let only_theirs: Vec<_> = theirs.iter().filter(|(k, v)| ours.get(*k) != Some(v)).collect();
    assert!(only_ours.is_empty() && only_theirs.is_empty(), "berth only: {only_ours:#?}\ndocker only: {only_theirs:#?}");
}

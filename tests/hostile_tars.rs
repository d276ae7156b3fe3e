//! Hostile layer tars end to end through the image store: each is put in the content
//! store and unpacked with `image::layer::ensure_layer`, as pull and load do. Each must fail
//! with one line naming the entry, leave no snapshot behind, and write nothing outside the
//! store (a `host/outside` directory beside the store is checked after every attempt).
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use berth_engine::image::layer::ensure_layer;
use berth_engine::store::digest::Digest;
use berth_engine::store::images::ImageStore;

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const TAR_GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// One entry with `name` and `link` copied verbatim into a GNU header (tar's `set_path`
/// refuses `..`, which is the point here).
fn raw(name: &str, kind: tar::EntryType, link: &str, data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_size(data.len() as u64);
    h.set_entry_type(kind);
    h.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    h.set_cksum();
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}
fn file(name: &str, data: &str) -> Vec<u8> {
    raw(name, tar::EntryType::Regular, "", data.as_bytes())
}
fn dir(name: &str) -> Vec<u8> {
    raw(name, tar::EntryType::Directory, "", b"")
}
fn symlink(name: &str, target: &str) -> Vec<u8> {
    raw(name, tar::EntryType::Symlink, target, b"")
}
fn hardlink(name: &str, target: &str) -> Vec<u8> {
    raw(name, tar::EntryType::Link, target, b"")
}
fn tar_of(entries: Vec<Vec<u8>>) -> Vec<u8> {
    let mut v = entries.concat();
    v.extend_from_slice(&[0; 1024]);
    v
}
fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

/// `/tmp/berth-outside-XXX/{store,outside/sentinel}`.
struct Host {
    dir: tempfile::TempDir,
    store: ImageStore,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("berth-outside-").tempdir_in("/tmp").unwrap();
        fs::create_dir(dir.path().join("outside")).unwrap();
        fs::write(dir.path().join("outside/sentinel"), "untouched").unwrap();
        let store = ImageStore::open(&dir.path().join("store")).unwrap();
        Self { dir, store }
    }
    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }
    fn ensure(&self, blob: &[u8], media_type: &str) -> Result<(), String> {
        let digest = self.store.content.put_bytes(blob).unwrap();
        let r = ensure_layer(&self.store, &digest, media_type, None).map(|_| ()).map_err(|e| e.to_string());
        if r.is_err() {
            assert_eq!(self.store.layer_for_blob(&digest).unwrap(), None, "a failed layer must not be recorded");
        }
        r
    }
    /// Everything beside the store, and the snapshot directory's contents.
    fn assert_clean(&self) {
        let mut beside = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut beside);
        beside.retain(|p| !p.starts_with("store/") || p.starts_with("store/snapshots/"));
        assert_eq!(beside, ["outside", "outside/sentinel", "store", "store/snapshots/l"], "left behind outside or in snapshots/");
        assert_eq!(fs::read_to_string(self.outside().join("sentinel")).unwrap(), "untouched");
    }
}

fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
    let mut names: Vec<_> = fs::read_dir(p).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for path in names {
        out.push(path.strip_prefix(base).unwrap().display().to_string());
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            walk(base, &path, out);
        }
    }
}

/// The layer is refused with one line naming `entry` and saying `reason`, in both the
/// plain and the gzip form, and nothing is left behind.
fn refused(make: impl Fn(&str) -> Vec<Vec<u8>>, entry: &str, reason: &str) {
    for media_type in [TAR, TAR_GZ] {
        let h = Host::new();
        let tar = tar_of(make(&h.outside().display().to_string()));
        let blob = if media_type == TAR_GZ { gzip(&tar) } else { tar };
        let err = h.ensure(&blob, media_type).expect_err("hostile layer accepted");
        assert!(!err.contains('\n'), "one line: {err}");
        assert!(err.contains(&format!("unsafe layer entry {entry:?}")), "{err} should name {entry:?}");
        assert!(err.contains(reason), "{err} should say {reason:?}");
        h.assert_clean();
    }
}

#[test]
fn benign_layer_is_unpacked() {
    // The control: the same helpers produce a layer the store accepts.
    let h = Host::new();
    let out = h.outside().display().to_string();
    let tar = tar_of(vec![
        dir("etc/"),
        file("etc/passwd", "root:x:0:0::/root:/bin/sh\n"),
        symlink("abs", &out),
        hardlink("etc/pw", "/etc/passwd"),
    ]);
    let digest = h.store.content.put_bytes(&tar).unwrap();
    let layer = ensure_layer(&h.store, &digest, TAR, Some(&Digest::of(&tar))).unwrap();
    let fs_dir = h.store.snapshots.fs_path(&layer.snapshot);
    assert_eq!(fs::read_to_string(fs_dir.join("etc/pw")).unwrap(), "root:x:0:0::/root:/bin/sh\n");
    assert_eq!(fs::read_link(fs_dir.join("abs")).unwrap(), h.outside());
    assert_eq!(layer.size, 26);
    assert_eq!(fs::read_to_string(h.outside().join("sentinel")).unwrap(), "untouched");
}

#[test]
fn path_traversal() {
    refused(|_| vec![file("../x", "pwned")], "../x", "escapes the layer root");
    refused(|_| vec![dir("a/"), file("a/../../x", "pwned")], "a/../../x", "escapes the layer root");
    refused(|_| vec![file("../../../outside/sentinel", "pwned")], "../../../outside/sentinel", "escapes the layer root");
    // The same through a PAX `path` record, which overrides the header's harmless name.
    let long = format!("{}/../../../../outside/pax", "a".repeat(120));
    refused(
        |_| {
            let mut b = tar::Builder::new(Vec::new());
            b.append_pax_extensions([("path", long.as_bytes())]).unwrap();
            let mut pax = b.into_inner().unwrap();
            pax.truncate(pax.len() - 1024);
            vec![pax, file("harmless", "pwned")]
        },
        &long,
        "escapes the layer root",
    );
}

#[test]
fn absolute_symlink_then_write_through() {
    refused(|out| vec![symlink("evil", out), file("evil/file", "pwned")], "evil/file", "parent \"evil\" is a symlink");
    refused(|out| vec![symlink("evil", out), dir("evil/sub/")], "evil/sub/", "parent \"evil\" is a symlink");
    refused(|_| vec![symlink("s", "../../../../.."), file("s/tmp/x", "pwned")], "s/tmp/x", "parent \"s\" is a symlink");
}

#[test]
fn hardlink_escapes() {
    refused(|_| vec![hardlink("passwd", "/etc/passwd")], "passwd", "is not an earlier entry of this layer");
    refused(|_| vec![hardlink("h", "../../../outside/sentinel")], "h", "escapes the layer root");
    refused(|out| vec![hardlink("h", &format!("{out}/sentinel"))], "h", "is not an earlier entry of this layer");
}

#[test]
fn malformed_whiteouts() {
    refused(|_| vec![file(".wh..", "")], ".wh..", "malformed whiteout");
    refused(|_| vec![file("etc/.wh...", "")], "etc/.wh...", "malformed whiteout");
    refused(|out| vec![symlink("l", out), file("l/.wh.sentinel", "")], "l/.wh.sentinel", "parent \"l\" is a symlink");
}

#[test]
fn truncated_and_corrupt_layers() {
    let tar = tar_of(vec![dir("a/"), file("a/f", &"z".repeat(5000)), file("b", "b")]);
    let h = Host::new();
    let err = h.ensure(&tar[..3000], TAR).unwrap_err();
    assert!(err.contains("invalid archive") && err.contains("\"a/f\"") && err.contains("truncated"), "{err}");
    h.assert_clean();
    let h = Host::new();
    let gz = gzip(&tar);
    let err = h.ensure(&gz[..gz.len() / 2], TAR_GZ).unwrap_err();
    assert!(!err.contains('\n'), "{err}");
    h.assert_clean();
    let h = Host::new();
    let mut bad = tar.clone();
    bad[600] ^= 0x55;
    let err = h.ensure(&bad, TAR).unwrap_err();
    assert!(err.contains("checksum"), "{err}");
    h.assert_clean();
}

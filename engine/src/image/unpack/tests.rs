//! Unpacking tests on tars built in memory. Hostile names are written as raw header
//! bytes (tar's `set_path` refuses `..`). Every test unpacks into `host/dest` beside a
//! `host/outside` directory and checks that nothing outside `dest` changed.
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use tar::EntryType;

use super::*;

const MTIME: u64 = 1_700_000_000;

/// One entry as raw bytes: a GNU header with `name`/`link` copied verbatim, then `data`.
fn raw(name: &[u8], kind: EntryType, link: &[u8], data: &[u8]) -> Vec<u8> {
    raw_with(name, kind, link, data, |_| {})
}

fn raw_with(name: &[u8], kind: EntryType, link: &[u8], data: &[u8], f: impl FnOnce(&mut tar::Header)) -> Vec<u8> {
    let mut h = tar::Header::new_gnu();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name);
        old.linkname[..link.len()].copy_from_slice(link);
    }
    h.set_size(data.len() as u64);
    h.set_entry_type(kind);
    h.set_mode(if kind == EntryType::Directory { 0o755 } else { 0o644 });
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(MTIME);
    f(&mut h);
    h.set_cksum();
    let mut v = h.as_bytes().to_vec();
    v.extend_from_slice(data);
    v.resize(v.len().div_ceil(512) * 512, 0);
    v
}

fn file(name: &str, data: &str) -> Vec<u8> {
    raw(name.as_bytes(), EntryType::Regular, b"", data.as_bytes())
}
fn dir(name: &str) -> Vec<u8> {
    raw(name.as_bytes(), EntryType::Directory, b"", b"")
}
fn symlink(name: &str, target: &str) -> Vec<u8> {
    raw(name.as_bytes(), EntryType::Symlink, target.as_bytes(), b"")
}
fn hardlink(name: &str, target: &str) -> Vec<u8> {
    raw(name.as_bytes(), EntryType::Link, target.as_bytes(), b"")
}

fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut v: Vec<u8> = entries.concat();
    v.extend_from_slice(&[0u8; 1024]);
    v
}

/// `host/dest` (empty) beside `host/outside/sentinel`.
struct Host {
    dir: tempfile::TempDir,
}

impl Host {
    fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("berth-outside-").tempdir().unwrap();
        fs::create_dir(dir.path().join("dest")).unwrap();
        fs::create_dir(dir.path().join("outside")).unwrap();
        fs::write(dir.path().join("outside/sentinel"), "untouched").unwrap();
        Self { dir }
    }
    fn dest(&self) -> PathBuf {
        self.dir.path().join("dest")
    }
    fn outside(&self) -> PathBuf {
        self.dir.path().join("outside")
    }
    fn unpack(&self, entries: &[Vec<u8>]) -> Result<UnpackStats> {
        unpack_layer(&tar_of(entries)[..], &self.dest())
    }
    /// Everything under host except dest's subtree, as (path, type, size/content).
    fn outside_state(&self) -> Vec<String> {
        let mut v = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut v);
        v
    }
    fn assert_untouched(&self) {
        assert_eq!(self.outside_state(), vec!["dest dir".to_string(), "outside dir".into(), "outside/sentinel file untouched".into()]);
    }
}

fn walk(base: &Path, p: &Path, out: &mut Vec<String>) {
    let mut names: Vec<_> = fs::read_dir(p).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    for path in names {
        let rel = path.strip_prefix(base).unwrap().display().to_string();
        let md = fs::symlink_metadata(&path).unwrap();
        if md.is_dir() {
            out.push(format!("{rel} dir"));
            if rel != "dest" {
                walk(base, &path, out);
            }
        } else if md.is_file() {
            out.push(format!("{rel} file {}", fs::read_to_string(&path).unwrap_or_default()));
        } else {
            out.push(format!("{rel} other"));
        }
    }
}

/// The entry is refused as unsafe, its name in the message, and nothing outside changed.
fn refused(entries: &[Vec<u8>], entry: &str, reason: &str) -> Host {
    refused_out(|_| entries.to_vec(), entry, reason)
}

/// Like [`refused`], with entries that may point at the host's `outside` directory.
fn refused_out(entries: impl FnOnce(&str) -> Vec<Vec<u8>>, entry: &str, reason: &str) -> Host {
    let h = Host::new();
    let entries = entries(&h.outside().display().to_string());
    let err = h.unpack(&entries).expect_err("must be refused");
    let msg = err.to_string();
    assert!(matches!(err, EngineError::UnsafeLayer { .. }), "{msg}");
    assert!(msg.contains(&format!("{entry:?}")), "{msg} should name {entry:?}");
    assert!(msg.contains(reason), "{msg} should say {reason:?}");
    h.assert_untouched();
    h
}

#[test]
fn traversal_is_refused() {
    refused(&[file("../x", "pwned")], "../x", "escapes the layer root");
    refused(&[dir("a/"), file("a/../../x", "pwned")], "a/../../x", "escapes");
    refused(&[file("../outside/sentinel", "pwned")], "../outside/sentinel", "escapes");
    refused(&[dir("..")], "..", "escapes");
    refused(&[symlink("../s", "/etc")], "../s", "escapes");
}

/// A PAX header whose `path` record names the next entry (overriding its header name).
fn pax_path(path: &str) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([("path", path.as_bytes())]).unwrap();
    let mut v = b.into_inner().unwrap();
    v.truncate(v.len() - 1024);
    v
}

/// A GNU long-name header naming the next entry.
fn gnu_long(kind: EntryType, value: &str) -> Vec<u8> {
    let mut data = value.as_bytes().to_vec();
    data.push(0);
    raw(b"././@LongLink", kind, b"", &data)
}

#[test]
fn long_name_traversal_is_refused() {
    let deep = format!("{}/", "a".repeat(99));
    let pax = format!("{deep}../../outside/pax");
    refused(&[pax_path(&pax), file("harmless", "pwned")], &pax, "escapes the layer root");
    let gnu = format!("{deep}../../../outside/gnu");
    refused(&[gnu_long(EntryType::GNULongName, &gnu), file("harmless", "pwned")], &gnu, "escapes the layer root");
    refused(
        &[gnu_long(EntryType::GNULongLink, &format!("/{deep}../../etc/passwd")), hardlink("h", "ignored")],
        "h",
        "escapes the layer root",
    );
    let through = format!("s/{}", "x".repeat(120));
    refused_out(|out| vec![symlink("s", out), pax_path(&through), file("harmless", "pwned")], &through, "parent \"s\" is a symlink");
}

#[test]
fn absolute_names_stay_inside() {
    let h = Host::new();
    h.unpack(&[file("/abs/file", "inside"), file("/./top", "t")]).unwrap();
    assert_eq!(fs::read_to_string(h.dest().join("abs/file")).unwrap(), "inside");
    assert_eq!(fs::read_to_string(h.dest().join("top")).unwrap(), "t");
    h.assert_untouched();
}

#[test]
fn write_through_symlinks_is_refused() {
    let h = Host::new();
    let out = h.outside().display().to_string();
    // Absolute symlink to a host directory, then a file "inside" it.
    let e = [symlink("evil", &out), file("evil/file", "pwned")];
    let err = h.unpack(&e).unwrap_err().to_string();
    assert!(err.contains("\"evil/file\"") && err.contains("parent \"evil\" is a symlink"), "{err}");
    h.assert_untouched();
    // Relative escape through a symlink, nested and as a directory entry.
    refused(&[symlink("s", "../../.."), file("s/x", "pwned")], "s/x", "is a symlink");
    refused(&[dir("d/"), symlink("d/up", ".."), dir("d/up/up2/")], "d/up/up2/", "parent \"d/up\" is a symlink");
    refused_out(|out| vec![symlink("s", out), hardlink("s/h", "s")], "s/h", "parent \"s\" is a symlink");
    // A symlink then a hard link whose target path goes through it.
    refused_out(|out| vec![file("f", "x"), symlink("s", out), hardlink("h", "s/sentinel")], "h", "not an earlier entry");
    // A whiteout or opaque marker under a symlinked parent.
    refused_out(|out| vec![symlink("l", out), file("l/.wh.sentinel", "")], "l/.wh.sentinel", "is a symlink");
    refused_out(|out| vec![symlink("l", out), file("l/.wh..wh..opq", "")], "l/.wh..wh..opq", "is a symlink");
    // A directory already walked (and remembered) replaced by a symlink, then written into.
    refused_out(|out| vec![dir("d/"), file("d/f", "x"), symlink("d", out), file("d/g", "pwned")], "d/g", "parent \"d\" is a symlink");
    refused_out(
        |out| vec![file("a/b/c/f", "x"), file(".wh.a", ""), symlink("a", out), file("a/b/c/g", "pwned")],
        "a/b/c/g",
        "parent \"a\" is a symlink",
    );
    // A file where a parent should be.
    refused(&[file("f", "x"), file("f/g", "y")], "f/g", "parent \"f\" is not a directory");
}

#[test]
fn hard_links_outside_the_layer_are_refused() {
    refused(&[hardlink("passwd", "/etc/passwd")], "passwd", "hard link target \"/etc/passwd\" is not an earlier entry");
    refused(&[hardlink("h", "../outside/sentinel")], "h", "escapes the layer root");
    refused(&[hardlink("h", "a/../../outside/sentinel")], "h", "escapes");
    refused(&[hardlink("h", "")], "h", "hard link without a target");
    refused(&[dir("d/"), hardlink("h", "d")], "h", "not an earlier entry");
    // A target whose parent was later replaced by a symlink to the host is refused, not followed.
    refused_out(|out| vec![dir("d/"), file("d/f", "x"), symlink("d", out), hardlink("h", "d/f")], "h", "parent \"d\" is a symlink");
    // The target itself replaced by a symlink: the link is to the symlink, never its target.
    let h = Host::new();
    let out = format!("{}/sentinel", h.outside().display());
    h.unpack(&[file("f", "x"), symlink("f", &out), hardlink("h", "f")]).unwrap();
    assert!(fs::symlink_metadata(h.dest().join("h")).unwrap().file_type().is_symlink());
    h.assert_untouched();
}

#[test]
fn malformed_whiteouts_are_refused() {
    refused(&[file(".wh..", "")], ".wh..", "malformed whiteout");
    refused(&[file("a/.wh...", "")], "a/.wh...", "malformed whiteout");
    refused(&[file("a/.wh.", "")], "a/.wh.", "malformed whiteout");
    refused(&[dir(".wh.a/"), file(".wh.a/b", "")], ".wh.a/b", "cannot have entries below it");
}

#[test]
fn whiteouts_become_overlay_whiteouts() {
    let h = Host::new();
    let stats = h
        .unpack(&[
            dir("etc/"),
            file("etc/.wh.motd", ""),
            file("etc/keep", "k"),
            file("bin/.wh.vi", ""),
            dir("data/opaque/"),
            file("data/opaque/.wh..wh..opq", ""),
            file("data/opaque/new.txt", "new"),
            file("implied/dir/.wh..wh..opq", ""),
            dir(".wh..wh.plnk/"),
            file(".wh..wh.plnk/123.456", "aufs"),
            file("gone", "x"),
            file(".wh.gone", ""),
        ])
        .unwrap();
    assert_eq!(stats.entries, 12);
    let d = h.dest();
    for w in ["etc/motd", "bin/vi", "gone"] {
        let md = fs::symlink_metadata(d.join(w)).unwrap();
        assert!(md.file_type().is_char_device(), "{w} is not a char device");
        assert_eq!(md.rdev(), 0, "{w}");
    }
    assert!(!d.join("etc/.wh.motd").exists());
    for o in ["data/opaque", "implied/dir"] {
        assert_eq!(xattr::get(d.join(o), "trusted.overlay.opaque").unwrap().as_deref(), Some(&b"y"[..]), "{o}");
        assert!(!d.join(o).join(".wh..wh..opq").exists());
    }
    assert_eq!(xattr::get(d.join("etc"), "trusted.overlay.opaque").unwrap(), None);
    assert_eq!(fs::read_to_string(d.join("data/opaque/new.txt")).unwrap(), "new");
    assert!(!d.join(".wh..wh.plnk").exists());
    h.assert_untouched();
}

#[test]
fn hard_links_share_the_inode() {
    let h = Host::new();
    h.unpack(&[
        dir("data/"),
        file("data/hello.txt", "v1"),
        hardlink("data/link.txt", "/data/hello.txt"),
        hardlink("l2", "./data/link.txt"),
    ])
    .unwrap();
    let a = fs::metadata(h.dest().join("data/hello.txt")).unwrap();
    let b = fs::metadata(h.dest().join("data/link.txt")).unwrap();
    assert_eq!(a.ino(), b.ino());
    assert_eq!(a.nlink(), 3);
    // A hard link to a symlink links the symlink, not its (host) target.
    let h = Host::new();
    let out = format!("{}/sentinel", h.outside().display());
    h.unpack(&[symlink("s", &out), hardlink("h", "s"), hardlink("h", "h")]).unwrap();
    assert_eq!(fs::read_link(h.dest().join("h")).unwrap(), Path::new(&out));
    assert_eq!(fs::symlink_metadata(h.dest().join("h")).unwrap().ino(), fs::symlink_metadata(h.dest().join("s")).unwrap().ino());
    h.assert_untouched();
}

#[test]
fn metadata_is_kept() {
    let h = Host::new();
    let owned = |uid, gid, mode| {
        move |hd: &mut tar::Header| {
            hd.set_uid(uid);
            hd.set_gid(gid);
            hd.set_mode(mode);
        }
    };
    let dev = |major, minor| {
        move |hd: &mut tar::Header| {
            hd.set_device_major(major).unwrap();
            hd.set_device_minor(minor).unwrap();
            hd.set_mode(0o666);
        }
    };
    let stats = h
        .unpack(&[
            raw_with(b"tmp/", EntryType::Directory, b"", b"", owned(0, 0, 0o1777)),
            raw_with(b"tmp/suid", EntryType::Regular, b"", b"12345", owned(1234, 5678, 0o4755)),
            raw_with(b"tmp/sgid-dir/", EntryType::Directory, b"", b"", owned(1000, 50, 0o2775)),
            raw_with(b"tmp/link", EntryType::Symlink, b"/bin/busybox", b"", owned(7, 8, 0o777)),
            raw_with(b"dev/null", EntryType::Char, b"", b"", dev(1, 3)),
            raw_with(b"dev/loop0", EntryType::Block, b"", b"", dev(7, 0)),
            raw_with(b"fifo", EntryType::Fifo, b"", b"", owned(3, 4, 0o600)),
            raw_with(b"ro/", EntryType::Directory, b"", b"", owned(0, 0, 0o555)),
            file("ro/inside", "written after its read-only dir"),
        ])
        .unwrap();
    assert_eq!(stats, UnpackStats { bytes: 5 + 31, entries: 9 });
    let d = h.dest();
    let md = |p: &str| fs::symlink_metadata(d.join(p)).unwrap();
    let m = md("tmp/suid");
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777, m.mtime()), (1234, 5678, 0o4755, MTIME as i64));
    assert_eq!(fs::read_to_string(d.join("tmp/suid")).unwrap(), "12345");
    let m = md("tmp");
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o1777, MTIME as i64), "dir mtime kept after its contents");
    let m = md("tmp/sgid-dir");
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1000, 50, 0o2775));
    let m = md("tmp/link");
    assert!(m.file_type().is_symlink());
    assert_eq!((m.uid(), m.gid(), m.mtime()), (7, 8, MTIME as i64));
    assert_eq!(fs::read_link(d.join("tmp/link")).unwrap(), Path::new("/bin/busybox"));
    let m = md("dev/null");
    assert!(m.file_type().is_char_device());
    assert_eq!((m.rdev(), m.mode() & 0o7777), (nix::sys::stat::makedev(1, 3), 0o666));
    let m = md("dev/loop0");
    assert!(m.file_type().is_block_device());
    assert_eq!(m.rdev(), nix::sys::stat::makedev(7, 0));
    let m = md("fifo");
    assert!(m.file_type().is_fifo());
    assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (3, 4, 0o600));
    assert_eq!(md("ro").permissions().mode() & 0o7777, 0o555);
    assert_eq!(fs::read_to_string(d.join("ro/inside")).unwrap(), "written after its read-only dir");
    // Implied parents are plain 0755 directories.
    assert!(md("dev").is_dir());
    h.assert_untouched();
}

#[test]
fn replacing_entries() {
    let h = Host::new();
    let out = h.outside().display().to_string();
    h.unpack(&[
        file("x", "file first"),
        dir("x/"),
        file("x/inner", "i"),
        dir("x/"),
        file("y", "old"),
        file("y", "new"),
        dir("z/"),
        file("z/a", "a"),
        symlink("z", &out),
        file("w", "w"),
        symlink("w", "/nowhere"),
        symlink("v", &out),
        file("v", "replaces the symlink, not its target"),
    ])
    .unwrap();
    let d = h.dest();
    assert_eq!(fs::read_to_string(d.join("x/inner")).unwrap(), "i", "dirs over dirs merge");
    assert_eq!(fs::read_to_string(d.join("y")).unwrap(), "new");
    assert_eq!(fs::read_link(d.join("z")).unwrap(), Path::new(&out));
    assert_eq!(fs::read_link(d.join("w")).unwrap(), Path::new("/nowhere"));
    assert_eq!(fs::read_to_string(d.join("v")).unwrap(), "replaces the symlink, not its target");
    h.assert_untouched();
}

#[test]
fn long_names_xattrs_and_pax_times() {
    let long = format!("data/long/{}.txt", "x".repeat(120));
    let mut gnu = tar::Builder::new(Vec::new());
    let mut hd = tar::Header::new_gnu();
    hd.set_size(4);
    hd.set_mode(0o644);
    hd.set_entry_type(EntryType::Regular);
    gnu.append_data(&mut hd, format!("gnu/{}", "y".repeat(150)), &b"gnu!"[..]).unwrap();
    let mut target = tar::Header::new_gnu();
    target.set_entry_type(EntryType::Symlink);
    target.set_size(0);
    gnu.append_link(&mut target, "gnu/longlink", format!("/{}", "t".repeat(200))).unwrap();
    let mut pax = tar::Builder::new(Vec::new());
    pax.append_pax_extensions([
        ("path", long.as_bytes()),
        ("mtime", &b"1704067200.25"[..]),
        ("SCHILY.xattr.user.berth", &b"kept"[..]),
        ("SCHILY.xattr.trusted.overlay.opaque", &b"y"[..]),
        ("SCHILY.xattr.security.capability", &b"\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"[..]),
    ])
    .unwrap();
    let mut hd = tar::Header::new_ustar();
    hd.set_size(9);
    hd.set_mode(0o755);
    hd.set_entry_type(EntryType::Regular);
    hd.set_path("placeholder").unwrap();
    hd.set_cksum();
    pax.append(&hd, &b"long name"[..]).unwrap();
    let mut data = gnu.into_inner().unwrap();
    data.truncate(data.len() - 1024);
    data.extend(pax.into_inner().unwrap());
    let h = Host::new();
    let stats = unpack_layer(&data[..], &h.dest()).unwrap();
    assert_eq!(stats.bytes, 4 + 9);
    let d = h.dest();
    assert_eq!(fs::read_to_string(d.join(format!("gnu/{}", "y".repeat(150)))).unwrap(), "gnu!");
    assert_eq!(fs::read_link(d.join("gnu/longlink")).unwrap(), PathBuf::from(format!("/{}", "t".repeat(200))));
    let p = d.join(&long);
    assert_eq!(fs::read_to_string(&p).unwrap(), "long name");
    let m = fs::metadata(&p).unwrap();
    assert_eq!((m.mtime(), m.mtime_nsec()), (1_704_067_200, 250_000_000));
    assert_eq!(xattr::get(&p, "user.berth").unwrap().as_deref(), Some(&b"kept"[..]));
    assert_eq!(xattr::get(&p, "trusted.overlay.opaque").unwrap(), None, "overlay xattrs are ours, not the layer's");
    assert!(xattr::get(&p, "security.capability").unwrap().is_some(), "file capabilities kept");
    h.assert_untouched();
}

#[test]
fn deep_paths() {
    let deep: String = (0..60).map(|i| format!("d{i}/")).collect();
    let h = Host::new();
    h.unpack(&[raw_with(b"x", EntryType::Regular, b"", b"1", |_| {}), {
        let mut b = tar::Builder::new(Vec::new());
        let mut hd = tar::Header::new_gnu();
        hd.set_size(1);
        hd.set_mode(0o644);
        b.append_data(&mut hd, format!("{deep}f"), &b"f"[..]).unwrap();
        b.append_data(&mut hd, format!("{deep}g"), &b"g"[..]).unwrap();
        b.append_data(&mut hd, format!("{deep}../h"), &b"h"[..]).unwrap();
        let mut v = b.into_inner().unwrap();
        v.truncate(v.len() - 1024);
        v
    }])
    .unwrap();
    assert_eq!(fs::read_to_string(h.dest().join(&deep).join("g")).unwrap(), "g");
    assert_eq!(fs::read_to_string(h.dest().join(&deep).join("../h")).unwrap(), "h");
    h.assert_untouched();
}

#[test]
fn pax_times() {
    assert_eq!(parse_pax_time("1704067200"), Some(TimeSpec::new(1_704_067_200, 0)));
    assert_eq!(parse_pax_time("1.000000001"), Some(TimeSpec::new(1, 1)));
    assert_eq!(parse_pax_time("-1.5"), Some(TimeSpec::new(-2, 500_000_000)));
    assert_eq!(parse_pax_time("x"), None);
    assert_eq!(parse_pax_time("1.x"), None);
}

#[test]
fn truncated_and_corrupt_tars_are_clean_errors() {
    let full = tar_of(&[dir("a/"), file("a/f", &"z".repeat(3000)), file("b", "bbb")]);
    for cut in [100, 700, 1024 + 512 + 1000, 1024 + 512 + 3072 + 10] {
        let h = Host::new();
        let err = unpack_layer(&full[..cut], &h.dest()).unwrap_err();
        assert!(matches!(err, EngineError::InvalidArchive(_)), "cut at {cut}: {err}");
        h.assert_untouched();
    }
    let mut bad = full.clone();
    bad[5] ^= 0xff;
    let err = unpack_layer(&bad[..], &Host::new().dest()).unwrap_err().to_string();
    assert!(err.contains("checksum"), "{err}");
    // Without the end-of-archive blocks (some producers omit them) it is still complete.
    let h = Host::new();
    let end = full.len() - 1024;
    assert_eq!(unpack_layer(&full[..end], &h.dest()).unwrap().entries, 3);
    // Unsupported entry types are an error, not silently dropped.
    let err = Host::new().unpack(&[raw(b"vol", EntryType::new(b'V'), b"", b"")]).unwrap_err().to_string();
    assert!(err.contains("unsupported tar entry type"), "{err}");
    // A regular file named like the root.
    refused(&[file("./", "x")], "./", "replace the layer root");
}

#[test]
fn root_entry_sets_the_root_metadata() {
    let h = Host::new();
    h.unpack(&[raw_with(b"./", EntryType::Directory, b"", b"", |hd| hd.set_mode(0o750)), file("f", "x")]).unwrap();
    let m = fs::metadata(h.dest()).unwrap();
    assert_eq!((m.mode() & 0o7777, m.mtime()), (0o750, MTIME as i64));
}

// ---------------------------------------------------------------- proptest

/// Path components: mostly plain names (so later entries land under earlier symlinks and
/// directories), with every hostile spelling mixed in.
fn arb_component() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        6 => Just("a"),
        6 => Just("b"),
        3 => Just("c"),
        1 => Just(".."),
        1 => Just("."),
        1 => Just(""),
        1 => Just(".wh.a"),
        1 => Just(".wh..wh..opq"),
        1 => Just(".wh.."),
        1 => Just(".wh..wh.plnk"),
        1 => Just("outside"),
    ]
}

fn arb_path() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(arb_component(), 1..5))
        .prop_map(|(abs, v)| format!("{}{}", if abs { "/" } else { "" }, v.join("/")))
}

/// How the archive's bytes are damaged, if at all.
#[derive(Clone, Debug)]
enum Damage {
    None,
    Truncate(prop::sample::Index),
    Flip(prop::sample::Index, u8),
}

fn arb_damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => Just(Damage::None),
        1 => any::<prop::sample::Index>().prop_map(Damage::Truncate),
        1 => (any::<prop::sample::Index>(), 1..=255u8).prop_map(|(i, x)| Damage::Flip(i, x)),
    ]
}

#[derive(Clone, Debug)]
enum Arb {
    File(String, Vec<u8>),
    Dir(String),
    Symlink(String, usize),
    Hardlink(String, String),
    Whiteout(String),
}

fn arb_entry() -> impl Strategy<Value = Arb> {
    prop_oneof![
        (arb_path(), prop::collection::vec(any::<u8>(), 0..700)).prop_map(|(p, d)| Arb::File(p, d)),
        arb_path().prop_map(Arb::Dir),
        (arb_path(), 0usize..6).prop_map(|(p, t)| Arb::Symlink(p, t)),
        (arb_path(), arb_path()).prop_map(|(p, t)| Arb::Hardlink(p, t)),
        arb_path().prop_map(Arb::Whiteout),
    ]
}

fn build(entries: &[Arb], outside: &Path) -> Vec<u8> {
    let out = outside.display().to_string();
    let targets = ["..", "../..", "../../..", "/", out.as_str(), "../outside"];
    let parts: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| match e {
            Arb::File(p, d) => raw(p.as_bytes(), EntryType::Regular, b"", d),
            Arb::Dir(p) => dir(p),
            Arb::Symlink(p, t) => symlink(p, targets[*t]),
            Arb::Hardlink(p, t) => hardlink(p, t),
            Arb::Whiteout(p) => file(&format!("{p}/.wh.sentinel"), ""),
        })
        .collect();
    tar_of(&parts)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
    #[test]
    fn random_archives_never_escape(entries in prop::collection::vec(arb_entry(), 1..12), damage in arb_damage()) {
        let h = Host::new();
        let mut data = build(&entries, &h.outside());
        match damage {
            Damage::None => {}
            Damage::Truncate(at) => data.truncate(at.index(data.len())),
            Damage::Flip(at, x) => {
                let i = at.index(data.len());
                data[i] ^= x;
            }
        }
        let _ = unpack_layer(&data[..], &h.dest());
        h.assert_untouched();
    }
}

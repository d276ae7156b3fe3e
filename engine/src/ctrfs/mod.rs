//! Container filesystems as tar streams, safely: `cp`, `export` and `commit` read and write
//! trees that a container's processes may be changing while we work, through paths that
//! may hold hostile symlinks (`escape -> /`, `../../..`).
//!
//! Resolution inside a container root uses the `pathrs` crate (libpathrs: openat2 with
//! `RESOLVE_IN_ROOT` where the kernel has it, a checked userspace resolver otherwise). It is
//! already in our dependency tree through libcontainer, is maintained by the runc/umoci
//! people for exactly this job, and gives in-root `mkdir_all`/`create`/`remove_all` that
//! openat2 alone does not. Below the resolved top, trees are walked with `openat(O_PATH |
//! O_NOFOLLOW)` relative to the parent's fd ([`walk`]), so a directory swapped for a symlink
//! mid-walk is seen as the symlink, never followed. The `tar` crate writes and parses the
//! archives; it has no fd-relative unpacking, so [`untar`] is ours.
pub mod tarwrite;
pub mod untar;
pub(crate) mod walk;

use std::path::{Component, Path, PathBuf};

/// Lexically clean an in-container path: absolute, no `.`/`..` (clamped at `/`, as a chroot
/// does), no trailing slash.
pub fn clean(path: &str) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in Path::new(path).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Map a pathrs error to an io::Error, keeping the errno when there is one.
pub fn pathrs_io(e: pathrs::error::Error) -> std::io::Error {
    match e.kind() {
        pathrs::error::ErrorKind::OsError(Some(n)) => std::io::Error::from_raw_os_error(n),
        _ => std::io::Error::other(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_clamps_at_root() {
        assert_eq!(clean("../../etc/./passwd"), PathBuf::from("/etc/passwd"));
        assert_eq!(clean("/a/b/../c/"), PathBuf::from("/a/c"));
        assert_eq!(clean(""), PathBuf::from("/"));
        assert_eq!(clean("/tmp/."), PathBuf::from("/tmp"));
    }
}

/// Round trips and hostile input for the tree writer and the in-root extractor (on temp
/// dirs; the container-level checks are in tests/ctrfs.rs).
#[cfg(test)]
mod tree_tests {
    use std::os::unix::fs::{PermissionsExt, symlink};
    use std::path::Path;

    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;

    use super::tarwrite::{TarOptions, write_tree};
    use super::untar::{Owner, extract};

    fn top(p: &Path) -> std::os::fd::OwnedFd {
        open(p, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()).unwrap()
    }

    fn names(tar: &[u8]) -> Vec<(String, tar::EntryType, String)> {
        tar::Archive::new(tar)
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let link = e.link_name().unwrap().map(|l| l.display().to_string()).unwrap_or_default();
                (e.path().unwrap().display().to_string(), e.header().entry_type(), link)
            })
            .collect()
    }

    #[test]
    fn a_tree_round_trips_with_links_modes_and_hardlinks() {
        let src = tempfile::tempdir().unwrap();
        let d = src.path().join("top");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/f"), "data").unwrap();
        std::fs::set_permissions(d.join("sub/f"), std::fs::Permissions::from_mode(0o4750)).unwrap();
        std::fs::hard_link(d.join("sub/f"), d.join("hard")).unwrap();
        symlink("/", d.join("root-link")).unwrap();
        symlink("../../..", d.join("sub/up")).unwrap();
        let tar = write_tree(top(&d), &TarOptions { root_name: Some("renamed"), ..Default::default() }, Vec::new()).unwrap();
        let n = names(&tar);
        assert_eq!(n[0].0, "renamed/");
        assert!(n.contains(&("renamed/root-link".into(), tar::EntryType::Symlink, "/".into())), "{n:?}");
        assert!(n.contains(&("renamed/sub/up".into(), tar::EntryType::Symlink, "../../..".into())), "{n:?}");
        // The second name of a file is a hard link to the first one written.
        assert!(n.contains(&("renamed/sub/f".into(), tar::EntryType::Link, "renamed/hard".into())), "{n:?}");

        let dst = tempfile::tempdir().unwrap();
        let root = pathrs::Root::open(dst.path()).unwrap();
        extract(&root, Path::new("/"), &tar[..], Owner::Preserve, &|p| Some(p.to_path_buf())).unwrap();
        let out = dst.path().join("renamed");
        assert_eq!(std::fs::read_to_string(out.join("sub/f")).unwrap(), "data");
        assert_eq!(std::fs::metadata(out.join("sub/f")).unwrap().permissions().mode() & 0o7777, 0o4750);
        assert_eq!(std::fs::read_link(out.join("root-link")).unwrap(), Path::new("/"));
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(out.join("hard")).unwrap().ino(), std::fs::metadata(out.join("sub/f")).unwrap().ino());
    }

    #[test]
    fn hostile_archives_stay_inside_the_root() {
        let dst = tempfile::tempdir().unwrap();
        let inside = dst.path().join("root");
        std::fs::create_dir_all(inside.join("tmp")).unwrap();
        let outside = dst.path().join("outside-marker");
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        b.append_link(&mut h, "evil", "/").unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        b.append_link(&mut h, "up", "../../../../..").unwrap();
        for p in ["evil/outside-marker", "up/outside-marker", "evil/tmp/evil/outside-marker"] {
            let mut h = tar::Header::new_gnu();
            h.set_size(1);
            h.set_mode(0o644);
            b.append_data(&mut h, p, &b"x"[..]).unwrap();
        }
        let tar = b.into_inner().unwrap();
        let root = pathrs::Root::open(&inside).unwrap();
        extract(&root, Path::new("/tmp"), &tar[..], Owner::Caller, &|p| Some(p.to_path_buf())).unwrap();
        assert!(!outside.exists(), "an archive wrote outside the root");
        // They landed inside: `evil` is the root's /, and `up` stops there.
        assert!(inside.join("outside-marker").exists());
        assert!(!inside.join("tmp/outside-marker").exists());
        assert!(std::fs::read_dir(dst.path()).unwrap().count() == 1, "only the root is in the temp dir");

        // `..` in a member name is refused outright.
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(1);
        h.set_mode(0o644);
        h.as_mut_bytes()[..12].copy_from_slice(b"../../escape");
        h.set_cksum();
        b.append(&h, &b"x"[..]).unwrap();
        let err = extract(&root, Path::new("/tmp"), &b.into_inner().unwrap()[..], Owner::Caller, &|p| Some(p.to_path_buf())).unwrap_err();
        assert!(err.to_string().contains("\"..\""), "{err}");
    }

    #[test]
    fn overlay_whiteouts_become_oci_entries() {
        let src = tempfile::tempdir().unwrap();
        let up = src.path().join("upper");
        std::fs::create_dir_all(up.join("opaque")).unwrap();
        std::fs::write(up.join("opaque/kept"), "k").unwrap();
        nix::sys::stat::mknod(&up.join("gone"), nix::sys::stat::SFlag::S_IFCHR, Mode::from_bits_truncate(0o600), 0).unwrap();
        xattr::set(up.join("opaque"), "trusted.overlay.opaque", b"y").unwrap();
        let tar = write_tree(top(&up), &TarOptions { whiteouts: true, ..Default::default() }, Vec::new()).unwrap();
        let n: Vec<String> = names(&tar).into_iter().map(|x| x.0).collect();
        assert_eq!(n, [".wh.gone", "opaque/", "opaque/.wh..wh..opq", "opaque/kept"]);
        // Without translation (export, cp) the device is a device.
        let tar = write_tree(top(&up), &TarOptions::default(), Vec::new()).unwrap();
        assert!(names(&tar).iter().any(|x| x.0 == "gone" && x.1 == tar::EntryType::Char));
    }
}

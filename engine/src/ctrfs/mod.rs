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
pub mod walk;

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

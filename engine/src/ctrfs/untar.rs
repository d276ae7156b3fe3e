//! Extract a tar stream into a directory inside a root (`cp` into a container, and `cp`
//! out on the host side), resolving every entry's parent with `pathrs` in that root: a
//! symlink in the tree, in the archive or planted by the container, that points to `/` or
//! `../../..` lands inside the root, never outside. Each entry is then created relative to
//! its parent's fd with `O_NOFOLLOW`/`O_EXCL`, and its owner, mode and times are set
//! through that fd, never through a path that could be swapped for a link.
use std::fs::{File, Permissions};
use std::io::{self, Read};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{Mode, SFlag, UtimensatFlags, fstatat, mkdirat, mknodat, utimensat};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchownat, symlinkat, unlinkat};

use super::pathrs_io;

/// Who owns what is extracted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// The archive's uid/gid (`cp -a`).
    Preserve,
    /// This uid/gid (the container's root for `cp` into a container).
    Fixed(u32, u32),
    /// Whoever runs the extraction (`cp` out to the host without `-a`).
    Caller,
}

fn nix_io(e: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn ctx(what: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", what.display()))
}

/// An archive member's path as relative components; `..` is refused.
pub fn entry_path(p: &Path) -> io::Result<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                return Err(io::Error::new(io::ErrorKind::InvalidData, format!("archive entry {:?} has a \"..\" component", p.display())));
            }
        }
    }
    Ok(out)
}

/// Extract `input` under `dest` (an absolute path inside `root`, which must exist).
/// `map` renames or drops entries (by their relative path) before they are placed.
pub fn extract(root: &pathrs::Root, dest: &Path, input: impl Read, owner: Owner, map: &dyn Fn(&Path) -> Option<PathBuf>) -> io::Result<()> {
    let mut ar = tar::Archive::new(input);
    let mut dirs: Vec<(PathBuf, u64)> = Vec::new();
    let bad = |e: io::Error| io::Error::new(io::ErrorKind::InvalidData, format!("reading the archive: {e}"));
    for e in ar.entries().map_err(bad)? {
        let mut e = e.map_err(bad)?;
        let kind = e.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader | tar::EntryType::GNULongName | tar::EntryType::GNULongLink
        ) {
            continue;
        }
        let rel = entry_path(&e.path().map_err(bad)?)?;
        let Some(rel) = map(&rel) else { continue };
        let full = dest.join(&rel);
        let (Some(parent), Some(base)) = (full.parent(), full.file_name()) else { continue };
        if rel.as_os_str().is_empty() {
            continue;
        }
        let base = base.to_os_string();
        let pfd = root.mkdir_all(parent, &Permissions::from_mode(0o755)).map_err(|e| ctx(parent, pathrs_io(e)))?;
        let h = e.header().clone();
        let mode = Mode::from_bits_truncate(h.mode().unwrap_or(0o644) & 0o7777);
        let existing = fstatat(&pfd, base.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW).ok();
        let existing_dir = existing.is_some_and(|s| s.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits());
        let want_dir = kind == tar::EntryType::Directory;
        if existing.is_some() && !(want_dir && existing_dir) {
            if existing_dir {
                root.remove_all(&full).map_err(|e| ctx(&full, pathrs_io(e)))?;
            } else {
                unlinkat(&pfd, base.as_os_str(), UnlinkatFlags::NoRemoveDir).map_err(|e| ctx(&full, nix_io(e)))?;
            }
        }
        let mtime = h.mtime().unwrap_or(0);
        match kind {
            tar::EntryType::Directory => {
                if !existing_dir {
                    mkdirat(&pfd, base.as_os_str(), Mode::from_bits_truncate(0o700)).map_err(|e| ctx(&full, nix_io(e)))?;
                }
                dirs.push((full.clone(), mtime));
            }
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let fd = openat(
                    &pfd,
                    base.as_os_str(),
                    OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )
                .map_err(|e| ctx(&full, nix_io(e)))?;
                let mut f = File::from(fd);
                let want = e.size();
                let copied = io::copy(&mut e, &mut f).map_err(|err| ctx(&full, err));
                if copied.as_ref().ok() != Some(&want) {
                    // A truncated archive leaves no half file behind.
                    let _ = unlinkat(&pfd, base.as_os_str(), UnlinkatFlags::NoRemoveDir);
                    return Err(copied.err().unwrap_or_else(|| bad(io::Error::other(format!("{} is truncated", rel.display())))));
                }
            }
            tar::EntryType::Symlink => {
                let target = e.link_name()?.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "symlink without a target"))?;
                symlinkat(target.as_ref(), &pfd, base.as_os_str()).map_err(|e| ctx(&full, nix_io(e)))?;
            }
            tar::EntryType::Link => {
                let target = e.link_name()?.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "hard link without a target"))?;
                let Some(t) = map(&entry_path(&target)?) else { continue };
                root.create(&full, &pathrs::InodeType::Hardlink(dest.join(t))).map_err(|e| ctx(&full, pathrs_io(e)))?;
                continue;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let k = match kind {
                    tar::EntryType::Char => SFlag::S_IFCHR,
                    tar::EntryType::Block => SFlag::S_IFBLK,
                    _ => SFlag::S_IFIFO,
                };
                let dev = nix::sys::stat::makedev(h.device_major()?.unwrap_or(0) as u64, h.device_minor()?.unwrap_or(0) as u64);
                mknodat(&pfd, base.as_os_str(), k, Mode::from_bits_truncate(0o600), dev).map_err(|e| ctx(&full, nix_io(e)))?;
            }
            _ => continue,
        }
        let ids = match owner {
            Owner::Preserve => Some((h.uid()? as u32, h.gid()? as u32)),
            Owner::Fixed(u, g) => Some((u, g)),
            Owner::Caller => None,
        };
        set_meta(&pfd, &base, kind == tar::EntryType::Symlink, ids, mode, mtime).map_err(|e| ctx(&full, e))?;
    }
    // Directory times last: creating their children changed them.
    for (d, mtime) in dirs.into_iter().rev() {
        if let Ok(h) = root.resolve_nofollow(&d) {
            let _ = filetime::set_file_mtime(proc_fd(&h.as_fd()), filetime::FileTime::from_unix_time(mtime as i64, 0));
        }
    }
    Ok(())
}

fn proc_fd(fd: &impl AsRawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// Owner, then mode (chown clears set-id bits), then mtime, through an `O_PATH` fd of the
/// new entry (symlinks: owner and time only, without following).
fn set_meta(parent: &impl AsFd, base: &std::ffi::OsStr, symlink: bool, ids: Option<(u32, u32)>, mode: Mode, mtime: u64) -> io::Result<()> {
    let t = TimeSpec::new(mtime as i64, 0);
    if symlink {
        if let Some((u, g)) = ids {
            fchownat(parent, base, Some(Uid::from_raw(u)), Some(Gid::from_raw(g)), AtFlags::AT_SYMLINK_NOFOLLOW).map_err(nix_io)?;
        }
        return utimensat(parent, base, &t, &t, UtimensatFlags::NoFollowSymlink).map_err(nix_io);
    }
    let fd = openat(parent, base, OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()).map_err(nix_io)?;
    if let Some((u, g)) = ids {
        fchownat(&fd, "", Some(Uid::from_raw(u)), Some(Gid::from_raw(g)), AtFlags::AT_EMPTY_PATH).map_err(nix_io)?;
    }
    let p = proc_fd(&fd);
    std::fs::set_permissions(&p, Permissions::from_mode(mode.bits()))?;
    filetime::set_file_times(&p, filetime::FileTime::from_unix_time(mtime as i64, 0), filetime::FileTime::from_unix_time(mtime as i64, 0))
}

//! Safe layer unpacking into a snapshot directory.
//!
//! A layer tar is hostile input and its snapshot becomes an overlayfs lowerdir, so:
//! - Names are cleaned lexically (see [`name`]): a leading `/` is dropped (docker does the
//!   same), `..` may not climb above the layer root.
//! - Nothing is ever resolved through a symlink. Parents are opened one component at a time
//!   with `openat(O_DIRECTORY|O_NOFOLLOW)` from a descriptor of `dest`, and every file is
//!   created relative to its parent's descriptor (`mkdirat`, `mknodat`, `symlinkat`, `linkat`,
//!   `openat(O_CREAT|O_EXCL|O_NOFOLLOW)`). A parent that is a symlink rejects the entry, so
//!   `x -> /etc` followed by `x/passwd` cannot write through. Missing parents are created
//!   (mode 0755, root), as docker does.
//! - Symlinks themselves may point anywhere: they are only ever created, never followed.
//! - A hard link must name an entry this layer already wrote (after cleaning); `linkat`
//!   without `AT_SYMLINK_FOLLOW` links a symlink itself, never what it points at.
//! - Whiteouts become overlayfs whiteouts: `.wh.NAME` a 0/0 character device NAME, and
//!   `DIR/.wh..wh..opq` the `trusted.overlay.opaque=y` xattr on DIR. Other `.wh..wh.*`
//!   entries (AUFS metadata) are skipped; whiteouts of nothing, `.` or `..` are refused.
//! - xattrs from PAX `SCHILY.xattr.*` are kept, except `trusted.overlay.*` and
//!   `user.overlay.*`: those are overlayfs's own (whiteouts, redirects) and a layer may not
//!   forge them. Like docker, an xattr the file system or our privileges refuse (EPERM,
//!   EOPNOTSUPP: e.g. `security.selinux` without SELinux) is skipped with a warning.
//! - An entry replacing an existing one is removed first (directories over directories
//!   merge). Directory modes and mtimes are applied last so their contents don't disturb them.
//!
//! The `tar` crate parses (PAX and GNU long names, sparse files, PAX uid/gid/size); its
//! `unpack_in` is not used because it resolves parents through symlinks in some cases and
//! knows nothing about whiteouts. A truncated or corrupt tar is an error, never a panic;
//! the caller discards the partial snapshot.
pub mod name;

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat};
use nix::sys::stat::{
    FchmodatFlags, Mode, SFlag, UtimensatFlags, fchmod, fchmodat, fstatat, futimens, makedev, mkdirat, mknodat, utimensat,
};
use nix::sys::time::TimeSpec;
use nix::unistd::{Gid, Uid, UnlinkatFlags, fchown, fchownat, linkat, symlinkat, unlinkat};
use tar::EntryType;

use crate::error::{EngineError, IoResultExt, Result};
use name::{Components, Kind, classify, clean, join};

/// What an unpack wrote.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UnpackStats {
    /// Bytes of regular-file content written.
    pub bytes: u64,
    /// Entries processed.
    pub entries: u64,
}

/// Unpack one layer tar (already decompressed) into `dest`, an empty directory.
pub fn unpack_layer<R: Read>(reader: R, dest: &Path) -> Result<UnpackStats> {
    let root = nix::fcntl::open(dest, OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(|e| EngineError::io(dest, e.into()))?;
    let mut u = Unpacker {
        root,
        dest: dest.to_path_buf(),
        written: HashSet::new(),
        dirs: Vec::new(),
        open_dirs: Vec::new(),
        buf: vec![0; 128 * 1024],
        stats: UnpackStats::default(),
    };
    let mut archive = tar::Archive::new(reader);
    let entries = archive.entries().map_err(|e| EngineError::InvalidArchive(format!("layer tar: {e}")))?;
    for entry in entries {
        let entry = entry.map_err(|e| EngineError::InvalidArchive(format!("layer tar: {e}")))?;
        u.stats.entries += 1;
        u.entry(entry)?;
    }
    u.finish()?;
    Ok(u.stats)
}

/// Metadata of one entry, read from its header and PAX records.
struct Meta {
    uid: u32,
    gid: u32,
    mode: u32,
    mtime: TimeSpec,
    xattrs: Vec<(String, Vec<u8>)>,
}

struct Unpacker {
    root: OwnedFd,
    dest: PathBuf,
    /// Non-directory entries written by this layer (cleaned, `/`-joined): hard-link targets.
    written: HashSet<Vec<u8>>,
    /// Directories whose mode and mtime are applied at the end.
    dirs: Vec<(Components, u32, TimeSpec)>,
    /// Open directories of the last walk: `open_dirs[i]` is the first `i + 1` components.
    open_dirs: Vec<(Vec<u8>, OwnedFd)>,
    /// Copy buffer, reused across files.
    buf: Vec<u8>,
    stats: UnpackStats,
}

const OPAQUE_XATTR: &str = "trusted.overlay.opaque";

/// How many levels of open parent directories [`Unpacker::dir_fd`] keeps (bounded so a
/// hostile deep path cannot exhaust file descriptors).
const CACHED_DEPTH: usize = 32;

fn dir_flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
}

fn bad(entry: &str, reason: impl Into<String>) -> EngineError {
    EngineError::UnsafeLayer { entry: entry.to_string(), reason: reason.into() }
}

fn invalid(entry: &str, what: impl std::fmt::Display) -> EngineError {
    EngineError::InvalidArchive(format!("layer entry {entry:?}: {what}"))
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `/proc/self/fd/N/NAME`: a path to NAME in directory `fd` for the calls that have no
/// `*at` form (lsetxattr, remove_dir_all). The magic link resolves to the directory we
/// hold open; NAME itself is not followed by those calls.
fn fd_path(fd: &impl AsRawFd, name: &[u8]) -> PathBuf {
    Path::new(&format!("/proc/self/fd/{}", fd.as_raw_fd())).join(std::ffi::OsStr::from_bytes(name))
}

/// PAX time (`1704067200`, `1704067200.5`); `None` if malformed.
fn parse_pax_time(s: &str) -> Option<TimeSpec> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
    let mut nanos: i64 = digits.parse().ok()?;
    if s.starts_with('-') && nanos > 0 {
        nanos = -nanos;
    }
    // Normalise negative fractions (-1.5 s = -2 s + 0.5 s).
    let (secs, nanos) = if nanos < 0 { (secs - 1, nanos + 1_000_000_000) } else { (secs, nanos) };
    Some(TimeSpec::new(secs, nanos))
}

impl Unpacker {
    fn entry<R: Read>(&mut self, mut e: tar::Entry<'_, R>) -> Result<()> {
        let raw = e.path_bytes().into_owned();
        let name = lossy(&raw);
        let kind = e.header().entry_type();
        if kind.is_pax_global_extensions() {
            return Ok(());
        }
        let comps = clean(&raw).map_err(|r| bad(&name, r))?;
        let meta = self.meta(&mut e, &name)?;
        match classify(&comps).map_err(|r| bad(&name, r))? {
            Kind::Skip => Ok(()),
            Kind::Opaque => {
                let dir = self.dir_fd(&comps[..comps.len() - 1], &name, true)?;
                let f = File::from(dir);
                xattr::FileExt::set_xattr(&f, OPAQUE_XATTR, b"y").ctx(|| format!("layer entry {name:?}: setting {OPAQUE_XATTR}"))
            }
            Kind::Whiteout(target) => {
                let parent = self.dir_fd(&comps[..comps.len() - 1], &name, true)?;
                let mut path = comps[..comps.len() - 1].to_vec();
                path.push(target.clone());
                self.remove_existing(&parent, &target, &path, false)?;
                mknodat(&parent, target.as_slice(), SFlag::S_IFCHR, Mode::empty(), 0).map_err(|e| self.err(&path, e))?;
                fchownat(
                    &parent,
                    target.as_slice(),
                    Some(Uid::from_raw(meta.uid)),
                    Some(Gid::from_raw(meta.gid)),
                    AtFlags::AT_SYMLINK_NOFOLLOW,
                )
                .map_err(|e| self.err(&path, e))
            }
            Kind::Plain if comps.is_empty() => {
                if !kind.is_dir() {
                    return Err(bad(&name, "entry would replace the layer root"));
                }
                let root = self.root.try_clone().at(&self.dest)?;
                self.dir_meta(root, comps, &meta, &name)
            }
            Kind::Plain => self.plain(e, kind, comps, meta, &name),
        }
    }

    fn meta<R: Read>(&self, e: &mut tar::Entry<'_, R>, name: &str) -> Result<Meta> {
        let h = e.header();
        // Some producers leave numeric fields blank (all NUL or spaces): that is 0.
        let blank = |f: &[u8]| f.iter().all(|b| *b == 0 || *b == b' ');
        let id = |v: io::Result<u64>, field: &[u8], what: &str| -> Result<u32> {
            match v {
                Err(_) if blank(field) => Ok(0),
                v => v.ok().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| invalid(name, format!("bad {what}"))),
            }
        };
        let uid = id(h.uid(), &h.as_old().uid, "uid")?;
        let gid = id(h.gid(), &h.as_old().gid, "gid")?;
        let mode = match h.mode() {
            Ok(m) => m & 0o7777,
            Err(_) if blank(&h.as_old().mode) => 0,
            Err(_) => return Err(invalid(name, "bad mode")),
        };
        let mut mtime = TimeSpec::new(h.mtime().ok().and_then(|t| i64::try_from(t).ok()).unwrap_or(0), 0);
        let mut xattrs = Vec::new();
        if let Some(pax) = e.pax_extensions().map_err(|err| invalid(name, err))? {
            for ext in pax {
                let ext = ext.map_err(|err| invalid(name, format!("PAX record: {err}")))?;
                let Ok(key) = ext.key() else { continue };
                if let Some(x) = key.strip_prefix("SCHILY.xattr.") {
                    xattrs.push((x.to_string(), ext.value_bytes().to_vec()));
                } else if key == "mtime"
                    && let Some(t) = ext.value().ok().and_then(parse_pax_time)
                {
                    mtime = t;
                }
            }
        }
        Ok(Meta { uid, gid, mode, mtime, xattrs })
    }

    fn err(&self, comps: &[Vec<u8>], e: Errno) -> EngineError {
        EngineError::io(self.dest.join(std::ffi::OsStr::from_bytes(&join(comps))), e.into())
    }

    /// Open directory `comps` (relative to the layer root) without following any symlink,
    /// creating missing components if `create`. The directories of the last walk stay open
    /// (up to [`CACHED_DEPTH`] levels), so a sorted tar reuses their common prefix; any
    /// removal drops them, since a removed directory may come back as a symlink.
    fn dir_fd(&mut self, comps: &[Vec<u8>], entry: &str, create: bool) -> Result<OwnedFd> {
        let keep = self.open_dirs.iter().zip(comps).take_while(|((n, _), c)| n == *c).count();
        self.open_dirs.truncate(keep);
        let mut cur = match self.open_dirs.last() {
            Some((_, fd)) => fd.try_clone(),
            None => self.root.try_clone(),
        }
        .at(&self.dest)?;
        for (i, c) in comps.iter().enumerate().skip(keep) {
            let next = match openat(&cur, c.as_slice(), dir_flags(), Mode::empty()) {
                Err(Errno::ENOENT) if create => {
                    match mkdirat(&cur, c.as_slice(), Mode::from_bits_truncate(0o755)) {
                        Ok(()) | Err(Errno::EEXIST) => {}
                        Err(e) => return Err(self.err(&comps[..=i], e)),
                    }
                    openat(&cur, c.as_slice(), dir_flags(), Mode::empty())
                }
                r => r,
            };
            let at = || lossy(&join(&comps[..=i]));
            cur = match next {
                Ok(fd) => fd,
                Err(e @ (Errno::ELOOP | Errno::ENOTDIR)) => {
                    return Err(match fstatat(&cur, c.as_slice(), AtFlags::AT_SYMLINK_NOFOLLOW) {
                        Ok(st) if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK => {
                            bad(entry, format!("parent {:?} is a symlink", at()))
                        }
                        Ok(_) => bad(entry, format!("parent {:?} is not a directory", at())),
                        Err(_) => self.err(&comps[..=i], e),
                    });
                }
                Err(Errno::ENOENT) => return Err(bad(entry, format!("directory {:?} does not exist", at()))),
                Err(e) => return Err(self.err(&comps[..=i], e)),
            };
            if self.open_dirs.len() == i && i < CACHED_DEPTH {
                self.open_dirs.push((c.clone(), cur.try_clone().at(&self.dest)?));
            }
        }
        Ok(cur)
    }

    /// Remove what exists at `parent/name`, unless both it and the new entry are
    /// directories (they merge). Returns whether a directory is there to merge into.
    fn remove_existing(&mut self, parent: &OwnedFd, name: &[u8], comps: &[Vec<u8>], new_is_dir: bool) -> Result<bool> {
        let st = match fstatat(parent, name, AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::ENOENT) => return Ok(false),
            Err(e) => return Err(self.err(comps, e)),
        };
        let is_dir = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR;
        if is_dir && new_is_dir {
            return Ok(true);
        }
        self.open_dirs.clear();
        if is_dir {
            // std's remove_dir_all never follows symlinks inside the tree.
            std::fs::remove_dir_all(fd_path(parent, name)).at(self.dest.join(std::ffi::OsStr::from_bytes(&join(comps))))?;
        } else {
            unlinkat(parent, name, UnlinkatFlags::NoRemoveDir).map_err(|e| self.err(comps, e))?;
        }
        Ok(false)
    }

    fn plain<R: Read>(&mut self, mut e: tar::Entry<'_, R>, kind: EntryType, comps: Components, meta: Meta, name: &str) -> Result<()> {
        let (leaf, parents) = comps.split_last().expect("non-empty");
        let leaf = leaf.as_slice();
        use EntryType::*;
        if !matches!(kind, Directory | Regular | Continuous | GNUSparse | Symlink | Link | Char | Block | Fifo) {
            return Err(invalid(name, format!("unsupported tar entry type {kind:?}")));
        }
        // A hard link's target is checked before anything is removed: `a` linking to `a` is a no-op.
        let link_target = if kind == EntryType::Link {
            let raw = e.link_name_bytes().ok_or_else(|| bad(name, "hard link without a target"))?.into_owned();
            let target = clean(&raw).map_err(|r| bad(name, format!("hard link target {:?}: {r}", lossy(&raw))))?;
            if target == comps && self.written.contains(&join(&comps)) {
                return Ok(());
            }
            if target.is_empty() || !self.written.contains(&join(&target)) {
                return Err(bad(name, format!("hard link target {:?} is not an earlier entry of this layer", lossy(&raw))));
            }
            Some(target)
        } else {
            None
        };
        let parent = self.dir_fd(parents, name, true)?;
        let merge = self.remove_existing(&parent, leaf, &comps, kind.is_dir())?;
        let owner = (Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid)));
        let nofollow = AtFlags::AT_SYMLINK_NOFOLLOW;
        match kind {
            EntryType::Directory => {
                if !merge {
                    mkdirat(&parent, leaf, Mode::from_bits_truncate(0o700)).map_err(|e| self.err(&comps, e))?;
                }
                let fd = openat(&parent, leaf, dir_flags(), Mode::empty()).map_err(|e| self.err(&comps, e))?;
                return self.dir_meta(fd, comps, &meta, name);
            }
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let flags = OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
                let fd = openat(&parent, leaf, flags, Mode::from_bits_truncate(0o600)).map_err(|e| self.err(&comps, e))?;
                let mut f = File::from(fd);
                let n = self.copy(&mut e, &mut f, &comps, name)?;
                self.stats.bytes += n;
                fchown(&f, owner.0, owner.1).map_err(|e| self.err(&comps, e))?;
                fchmod(&f, Mode::from_bits_truncate(meta.mode)).map_err(|e| self.err(&comps, e))?;
                self.set_xattrs(&meta, |k, v| xattr::FileExt::set_xattr(&f, k, v), name)?;
                futimens(&f, &meta.mtime, &meta.mtime).map_err(|e| self.err(&comps, e))?;
            }
            EntryType::Symlink => {
                let target = e.link_name_bytes().ok_or_else(|| bad(name, "symlink without a target"))?.into_owned();
                if target.is_empty() || target.contains(&0) {
                    return Err(bad(name, "symlink target is empty or contains a NUL byte"));
                }
                symlinkat(target.as_slice(), &parent, leaf).map_err(|e| self.err(&comps, e))?;
                fchownat(&parent, leaf, owner.0, owner.1, nofollow).map_err(|e| self.err(&comps, e))?;
                let p = fd_path(&parent, leaf);
                self.set_xattrs(&meta, |k, v| xattr::set(&p, k, v), name)?;
                utimensat(&parent, leaf, &meta.mtime, &meta.mtime, UtimensatFlags::NoFollowSymlink).map_err(|e| self.err(&comps, e))?;
            }
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                let (sflag, dev) = match kind {
                    EntryType::Fifo => (SFlag::S_IFIFO, 0),
                    _ => {
                        let h = e.header();
                        let major = h.device_major().ok().flatten().unwrap_or(0);
                        let minor = h.device_minor().ok().flatten().unwrap_or(0);
                        let s = if kind == EntryType::Char { SFlag::S_IFCHR } else { SFlag::S_IFBLK };
                        (s, makedev(major.into(), minor.into()))
                    }
                };
                mknodat(&parent, leaf, sflag, Mode::empty(), dev).map_err(|e| self.err(&comps, e))?;
                fchownat(&parent, leaf, owner.0, owner.1, nofollow).map_err(|e| self.err(&comps, e))?;
                // Not a symlink (we just made it), so following is harmless and portable.
                fchmodat(&parent, leaf, Mode::from_bits_truncate(meta.mode), FchmodatFlags::FollowSymlink)
                    .map_err(|e| self.err(&comps, e))?;
                let p = fd_path(&parent, leaf);
                self.set_xattrs(&meta, |k, v| xattr::set(&p, k, v), name)?;
                utimensat(&parent, leaf, &meta.mtime, &meta.mtime, UtimensatFlags::NoFollowSymlink).map_err(|e| self.err(&comps, e))?;
            }
            EntryType::Link => {
                let target = link_target.expect("checked above");
                let (tleaf, tparents) = target.split_last().expect("non-empty");
                // Walked again, not remembered: a later entry may have replaced a parent by a symlink.
                let tparent = self.dir_fd(tparents, name, false)?;
                linkat(&tparent, tleaf.as_slice(), &parent, leaf, AtFlags::empty()).map_err(|e| match e {
                    Errno::ENOENT | Errno::EPERM => {
                        bad(name, format!("hard link target {:?} is no longer a file of this layer", lossy(&join(&target))))
                    }
                    e => self.err(&comps, e),
                })?;
            }
            other => return Err(invalid(name, format!("unsupported tar entry type {other:?}"))),
        }
        self.written.insert(join(&comps));
        Ok(())
    }

    /// Copy an entry's content; a short read means the tar is truncated.
    fn copy<R: Read>(&mut self, e: &mut tar::Entry<'_, R>, f: &mut File, comps: &[Vec<u8>], name: &str) -> Result<u64> {
        let want = e.size();
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.copy_with(&mut buf, e, f, comps, name);
        self.buf = buf;
        let n = r?;
        if n != want {
            return Err(invalid(name, format!("truncated: {n} of {want} bytes")));
        }
        Ok(n)
    }

    fn copy_with<R: Read>(&self, buf: &mut [u8], e: &mut tar::Entry<'_, R>, f: &mut File, comps: &[Vec<u8>], name: &str) -> Result<u64> {
        let mut n = 0u64;
        loop {
            let k = match e.read(buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(invalid(name, err)),
            };
            f.write_all(&buf[..k]).at(self.dest.join(std::ffi::OsStr::from_bytes(&join(comps))))?;
            n += k as u64;
        }
        Ok(n)
    }

    /// Owner and xattrs now; mode and mtime once everything below is written.
    fn dir_meta(&mut self, fd: OwnedFd, comps: Components, meta: &Meta, name: &str) -> Result<()> {
        fchown(&fd, Some(Uid::from_raw(meta.uid)), Some(Gid::from_raw(meta.gid))).map_err(|e| self.err(&comps, e))?;
        let f = File::from(fd);
        self.set_xattrs(meta, |k, v| xattr::FileExt::set_xattr(&f, k, v), name)?;
        self.dirs.push((comps, meta.mode, meta.mtime));
        Ok(())
    }

    fn set_xattrs(&self, meta: &Meta, mut set: impl FnMut(&str, &[u8]) -> io::Result<()>, name: &str) -> Result<()> {
        for (k, v) in &meta.xattrs {
            if k.starts_with("trusted.overlay.") || k.starts_with("user.overlay.") {
                tracing::warn!(entry = name, xattr = k.as_str(), "skipping overlayfs xattr from a layer");
                continue;
            }
            if let Err(e) = set(k, v) {
                match e.raw_os_error() {
                    Some(libc::EPERM) | Some(libc::EOPNOTSUPP) => {
                        tracing::warn!(entry = name, xattr = k.as_str(), error = %e, "xattr not kept");
                    }
                    _ => return Err(EngineError::io_ctx(format!("layer entry {name:?}: setting xattr {k}"), e)),
                }
            }
        }
        Ok(())
    }

    /// Apply directory modes and mtimes. A directory replaced or whited out later in the
    /// layer is skipped.
    fn finish(&mut self) -> Result<()> {
        let dirs = std::mem::take(&mut self.dirs);
        for (comps, mode, mtime) in dirs {
            let Some(fd) = self.existing_dir(&comps) else { continue };
            fchmod(&fd, Mode::from_bits_truncate(mode)).map_err(|e| self.err(&comps, e))?;
            futimens(&fd, &mtime, &mtime).map_err(|e| self.err(&comps, e))?;
        }
        Ok(())
    }

    fn existing_dir(&self, comps: &[Vec<u8>]) -> Option<OwnedFd> {
        let mut cur = self.root.try_clone().ok()?;
        for c in comps {
            cur = openat(cur.as_fd(), c.as_slice(), dir_flags(), Mode::empty()).ok()?;
        }
        Some(cur)
    }
}

#[cfg(test)]
mod tests;

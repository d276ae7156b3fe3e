//! A pre-order walk of a directory tree by file descriptor: every entry is opened with
//! `openat(parent_fd, name, O_PATH | O_NOFOLLOW)`, so nothing below the top is ever reached
//! through a symlink, whatever the tree's owner does while we walk it.
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use nix::fcntl::{OFlag, openat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat};

/// One entry of the walk.
pub struct Node<'a> {
    /// Path below the top (`""` for the top itself, else `a/b`).
    pub rel: &'a str,
    pub st: &'a FileStat,
    /// `O_PATH | O_NOFOLLOW` descriptor of the entry.
    pub fd: BorrowedFd<'a>,
    /// For directories: the directory opened for reading (xattrs, listing).
    pub dir: Option<&'a File>,
}

impl Node<'_> {
    pub fn kind(&self) -> SFlag {
        SFlag::from_bits_truncate(self.st.st_mode & SFlag::S_IFMT.bits())
    }

    /// Open a regular file for reading (through `/proc/self/fd`, which never follows a link).
    pub fn open_file(&self) -> io::Result<File> {
        pathrs::HandleRef::from_fd(self.fd).reopen(pathrs::flags::OpenFlags::O_RDONLY).map_err(super::pathrs_io)
    }
}

/// What the visitor wants next.
#[derive(PartialEq, Eq)]
pub enum Next {
    Descend,
    Skip,
}

/// Walk the tree whose top is `top` (an `O_PATH` descriptor), calling `f` on each entry
/// before its children; children come in name order.
pub fn walk(top: OwnedFd, f: &mut dyn FnMut(&Node<'_>) -> io::Result<Next>) -> io::Result<()> {
    visit(top, String::new(), f)
}

fn nix_io(e: nix::errno::Errno) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

fn visit(fd: OwnedFd, rel: String, f: &mut dyn FnMut(&Node<'_>) -> io::Result<Next>) -> io::Result<()> {
    let st = fstat(&fd).map_err(nix_io)?;
    let is_dir = st.st_mode & SFlag::S_IFMT.bits() == SFlag::S_IFDIR.bits();
    let dir = if is_dir {
        let d = openat(&fd, ".", OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC, Mode::empty()).map_err(nix_io)?;
        Some(File::from(d))
    } else {
        None
    };
    let next = f(&Node { rel: &rel, st: &st, fd: fd.as_fd(), dir: dir.as_ref() })?;
    let Some(dir) = dir else { return Ok(()) };
    if next == Next::Skip {
        return Ok(());
    }
    for name in list(&dir)? {
        let child = match openat(&dir, name.as_os_str(), OFlag::O_PATH | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC, Mode::empty()) {
            Ok(c) => c,
            // Removed while we walked: it is simply not part of the copy.
            Err(nix::errno::Errno::ENOENT) => continue,
            Err(e) => return Err(nix_io(e)),
        };
        let crel = if rel.is_empty() { name.to_string_lossy().into_owned() } else { format!("{rel}/{}", name.to_string_lossy()) };
        visit(child, crel, f)?;
    }
    Ok(())
}

/// The names in an open directory, sorted, without `.` and `..`.
pub fn list(dir: &File) -> io::Result<Vec<OsString>> {
    // /proc/self/fd/N is the open directory itself, not a path looked up again.
    let mut names: Vec<OsString> =
        std::fs::read_dir(format!("/proc/self/fd/{}", dir.as_raw_fd()))?.map(|e| e.map(|e| e.file_name())).collect::<io::Result<_>>()?;
    names.sort();
    Ok(names)
}

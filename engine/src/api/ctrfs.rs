//! Container filesystems: `cp` path stats, `diff` changes, `commit` options.
use serde::{Deserialize, Serialize};

/// A path inside a container, as `cp` needs to know it (docker's `X-Docker-Container-Path-Stat`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Unix `st_mode`: file type and permission bits.
    pub mode: u32,
    /// RFC 3339.
    pub mtime: String,
    /// For a symlink: the absolute path it resolves to inside the container; else empty.
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
}

/// One line of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// `C`
    Modified,
    /// `A`
    Added,
    /// `D`
    Deleted,
}

impl ChangeKind {
    /// Docker's letter.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsChange {
    pub kind: ChangeKind,
    pub path: String,
}

/// `commit`'s options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitOptions {
    /// `REPO[:TAG]` to tag the new image with.
    pub reference: Option<String>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// Dockerfile instructions (`CMD ...`, `ENV ...`), as `import --change` takes them.
    pub changes: Vec<String>,
    /// Freeze a running container while its filesystem is read (docker's default).
    pub pause: bool,
}

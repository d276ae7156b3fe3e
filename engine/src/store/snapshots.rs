//! Snapshots: each layer unpacked once into `snapshots/<id>/fs`, usable directly as an
//! overlayfs lowerdir. Every snapshot also gets a 26-character link `snapshots/l/<LINK>`
//! (docker's overlay2 trick) so a mount's `lowerdir=` option stays under the kernel's
//! one-page limit even with a hundred layers: mount from `snapshots/` with relative paths.
//!
//! A snapshot is prepared in a `tmp-<pid>-<rand>` directory and renamed into place only
//! when complete, so a killed unpack never leaves a half layer under a real id.
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{EngineError, IoResultExt, Result};

#[derive(Clone, Debug)]
pub struct Snapshots {
    root: PathBuf,
}

/// A snapshot being filled; dropped without commit, it is removed.
pub struct Prepared {
    dir: PathBuf,
    done: bool,
}

impl Prepared {
    /// Where to unpack the layer.
    pub fn fs(&self) -> PathBuf {
        self.dir.join("fs")
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if !self.done {
            let _ = remove_tree(&self.dir);
        }
    }
}

const LINK_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

impl Snapshots {
    pub fn open(root: &Path) -> Result<Self> {
        let root = root.join("snapshots");
        fs::create_dir_all(root.join("l")).at(&root)?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    pub fn fs_path(&self, id: &str) -> PathBuf {
        self.root.join(id).join("fs")
    }

    pub fn exists(&self, id: &str) -> bool {
        self.fs_path(id).is_dir()
    }

    /// The link name recorded for a committed snapshot.
    pub fn link_of(&self, id: &str) -> Option<String> {
        fs::read_to_string(self.root.join(id).join("link")).ok().map(|s| s.trim().to_string())
    }

    pub fn prepare(&self) -> Result<Prepared> {
        let dir = self.root.join(format!("tmp-{}-{:016x}", std::process::id(), fastrand::u64(..)));
        fs::create_dir_all(dir.join("fs")).at(&dir)?;
        Ok(Prepared { dir, done: false })
    }

    /// Rename a prepared snapshot to `id` and give it a short link. If another process
    /// committed the same id first, ours is discarded and theirs is used.
    pub fn commit(&self, mut p: Prepared, id: &str) -> Result<String> {
        let link: String = (0..26).map(|_| LINK_CHARS[fastrand::usize(..LINK_CHARS.len())] as char).collect();
        fs::write(p.dir.join("link"), &link).at(p.dir.join("link"))?;
        let dst = self.root.join(id);
        match fs::rename(&p.dir, &dst) {
            Ok(()) => {
                p.done = true;
            }
            Err(e) if dst.join("fs").is_dir() && matches!(e.raw_os_error(), Some(libc::ENOTEMPTY) | Some(libc::EEXIST)) => {
                drop(p);
                return self.link_of(id).ok_or_else(|| EngineError::Other(format!("snapshot {id} has no link")));
            }
            Err(e) => return Err(EngineError::io(&dst, e)),
        }
        let l = self.root.join("l").join(&link);
        let _ = fs::remove_file(&l);
        std::os::unix::fs::symlink(format!("../{id}/fs"), &l).at(&l)?;
        Ok(link)
    }

    pub fn remove(&self, id: &str) -> Result<()> {
        if let Some(link) = self.link_of(id) {
            let _ = fs::remove_file(self.root.join("l").join(link));
        }
        // Rename first so a half-removed tree never looks like a snapshot.
        let dir = self.root.join(id);
        if !dir.exists() {
            return Ok(());
        }
        let trash = self.root.join(format!("tmp-{}-rm-{:016x}", std::process::id(), fastrand::u64(..)));
        fs::rename(&dir, &trash).at(&dir)?;
        remove_tree(&trash).at(&trash)
    }

    /// `lowerdir=` value for the given links, topmost layer first, relative to [`Self::root`].
    pub fn lowerdir(links_top_first: &[String]) -> String {
        links_top_first.iter().map(|l| format!("l/{l}")).collect::<Vec<_>>().join(":")
    }

    /// Remove leftovers of killed processes (tmp dirs whose pid is gone) and dangling links.
    /// Returns the snapshot ids present on disk.
    pub fn clean(&self) -> Result<Vec<String>> {
        let mut ids = Vec::new();
        for e in fs::read_dir(&self.root).at(&self.root)?.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if let Some(rest) = name.strip_prefix("tmp-") {
                let pid: Option<i32> = rest.split('-').next().and_then(|p| p.parse().ok());
                if !pid.is_some_and(|p| Path::new(&format!("/proc/{p}")).exists()) {
                    let _ = remove_tree(&e.path());
                }
            } else if name != "l" {
                ids.push(name);
            }
        }
        for e in fs::read_dir(self.root.join("l")).at(&self.root)?.flatten() {
            if fs::metadata(e.path()).is_err() {
                let _ = fs::remove_file(e.path());
            }
        }
        Ok(ids)
    }
}

/// Remove a tree that may contain read-only directories or immutable-looking modes.
pub fn remove_tree(p: &Path) -> io::Result<()> {
    match fs::remove_dir_all(p) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            // A layer may hold dirs without write permission (e.g. mode 0555); as root
            // that is fine, unprivileged it is not: make them writable and retry.
            make_writable(p);
            fs::remove_dir_all(p)
        }
    }
}

fn make_writable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(md) = fs::symlink_metadata(p)
        && md.is_dir()
    {
        let _ = fs::set_permissions(p, fs::Permissions::from_mode(0o755));
        if let Ok(rd) = fs::read_dir(p) {
            for e in rd.flatten() {
                make_writable(&e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_commit_remove() {
        let t = tempfile::tempdir().unwrap();
        let s = Snapshots::open(t.path()).unwrap();
        let p = s.prepare().unwrap();
        fs::write(p.fs().join("f"), "x").unwrap();
        let link = s.commit(p, "abc").unwrap();
        assert_eq!(link.len(), 26);
        assert_eq!(fs::read_to_string(s.root().join("l").join(&link).join("f")).unwrap(), "x");
        // A second commit of the same id keeps the first.
        let p2 = s.prepare().unwrap();
        assert_eq!(s.commit(p2, "abc").unwrap(), link);
        assert_eq!(s.clean().unwrap(), vec!["abc".to_string()]);
        s.remove("abc").unwrap();
        assert!(!s.exists("abc"));
        assert!(!s.root().join("l").join(&link).exists());
        // Dropped without commit: gone.
        let p3 = s.prepare().unwrap();
        let dir = p3.fs();
        drop(p3);
        assert!(!dir.exists());
    }
}

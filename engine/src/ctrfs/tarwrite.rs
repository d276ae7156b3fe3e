//! Write a tree (walked by fd, see [`super::walk`]) as a tar stream: `cp` out, `export`,
//! and `commit`'s layer, where overlay whiteouts become OCI `.wh.` entries.
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;

use nix::sys::stat::SFlag;

use super::walk::{Next, Node, walk};

/// Says whether an entry (by its path below the top) is left out, with all beneath it.
pub type SkipFn<'a> = &'a dyn Fn(&str, &Node<'_>) -> bool;

/// How to name and filter the entries.
#[derive(Default)]
pub struct TarOptions<'a> {
    /// Name of the top entry; None: the top itself is left out and its children are
    /// named from the archive's root (`export`, a layer).
    pub root_name: Option<&'a str>,
    /// Translate overlayfs whiteouts (0/0 char devices, opaque dirs) to OCI `.wh.` entries.
    pub whiteouts: bool,
    /// Entries (by path below the top) to leave out with everything beneath them.
    pub skip: Option<SkipFn<'a>>,
}

/// Archive the tree under `top` into `out`; returns `out` (finished, not flushed).
pub fn write_tree<W: Write>(top: OwnedFd, opts: &TarOptions<'_>, out: W) -> io::Result<W> {
    let mut b = tar::Builder::new(out);
    b.follow_symlinks(false);
    let mut links: HashMap<(u64, u64), String> = HashMap::new();
    walk(top, &mut |n: &Node<'_>| {
        if let Some(skip) = opts.skip
            && !n.rel.is_empty()
            && skip(n.rel, n)
        {
            return Ok(Next::Skip);
        }
        let name = match (opts.root_name, n.rel.is_empty()) {
            (None, true) => return Ok(Next::Descend),
            (None, false) => n.rel.to_string(),
            (Some(r), true) => r.to_string(),
            (Some(r), false) => format!("{r}/{}", n.rel),
        };
        entry(&mut b, n, &name, opts.whiteouts, &mut links)
    })?;
    b.into_inner()
}

fn header(n: &Node<'_>, kind: tar::EntryType) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(n.st.st_mode & 0o7777);
    h.set_uid(n.st.st_uid as u64);
    h.set_gid(n.st.st_gid as u64);
    h.set_mtime(n.st.st_mtime.max(0) as u64);
    h.set_size(0);
    h
}

fn entry<W: Write>(
    b: &mut tar::Builder<W>,
    n: &Node<'_>,
    name: &str,
    whiteouts: bool,
    links: &mut HashMap<(u64, u64), String>,
) -> io::Result<Next> {
    let kind = n.kind();
    if kind == SFlag::S_IFDIR {
        let mut h = header(n, tar::EntryType::Directory);
        b.append_data(&mut h, format!("{name}/"), io::empty())?;
        if whiteouts && n.dir.is_some_and(is_opaque) {
            let mut h = header(n, tar::EntryType::Regular);
            h.set_mode(0o644);
            b.append_data(&mut h, format!("{name}/.wh..wh..opq"), io::empty())?;
        }
        return Ok(Next::Descend);
    }
    if kind == SFlag::S_IFREG {
        let key = (n.st.st_dev, n.st.st_ino);
        if n.st.st_nlink > 1 {
            if let Some(first) = links.get(&key) {
                let mut h = header(n, tar::EntryType::Link);
                b.append_link(&mut h, name, first)?;
                return Ok(Next::Descend);
            }
            links.insert(key, name.to_string());
        }
        let size = n.st.st_size.max(0) as u64;
        let mut h = header(n, tar::EntryType::Regular);
        h.set_size(size);
        // A file that shrinks while we read it (a running container) is padded, never a
        // corrupt archive.
        let f = n.open_file()?;
        let data = f.take(size).chain(io::repeat(0)).take(size);
        b.append_data(&mut h, name, data)?;
        return Ok(Next::Descend);
    }
    if kind == SFlag::S_IFLNK {
        let target = nix::fcntl::readlinkat(n.fd, "").map_err(|e| io::Error::from_raw_os_error(e as i32))?;
        let mut h = header(n, tar::EntryType::Symlink);
        // Short targets verbatim (append_link would turn `/` into `//`).
        if target.len() <= 100 {
            h.set_link_name_literal(target.as_encoded_bytes())?;
            b.append_data(&mut h, name, io::empty())?;
        } else {
            b.append_link(&mut h, name, target)?;
        }
        return Ok(Next::Descend);
    }
    if kind == SFlag::S_IFCHR && whiteouts && n.st.st_rdev == 0 {
        let (dir, base) = name.rsplit_once('/').map(|(d, b)| (format!("{d}/"), b)).unwrap_or((String::new(), name));
        let mut h = header(n, tar::EntryType::Regular);
        h.set_mode(0o644);
        b.append_data(&mut h, format!("{dir}.wh.{base}"), io::empty())?;
        return Ok(Next::Descend);
    }
    let kind = match kind {
        SFlag::S_IFCHR => tar::EntryType::Char,
        SFlag::S_IFBLK => tar::EntryType::Block,
        SFlag::S_IFIFO => tar::EntryType::Fifo,
        // Sockets have no tar form (docker skips them too).
        _ => return Ok(Next::Descend),
    };
    let mut h = header(n, kind);
    let rdev = n.st.st_rdev;
    h.set_device_major(nix::sys::stat::major(rdev) as u32)?;
    h.set_device_minor(nix::sys::stat::minor(rdev) as u32)?;
    b.append_data(&mut h, name, io::empty())?;
    Ok(Next::Descend)
}

/// Whether an overlay upper directory is opaque (hides the lower layers' contents).
pub fn is_opaque(dir: &std::fs::File) -> bool {
    use xattr::FileExt;
    ["trusted.overlay.opaque", "user.overlay.opaque"].iter().any(|n| dir.get_xattr(n).ok().flatten().is_some_and(|v| v == b"y"))
}

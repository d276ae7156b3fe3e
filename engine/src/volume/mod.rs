//! Volumes as a user asks for them: `-v` specs parsed as docker parses them, and the
//! first-mount copy-up. Named volumes come from `-v NAME:/path` or `volume create` and stay
//! until removed; anonymous ones (`-v /path`, an image's `VOLUME`) belong to one container
//! and go with `rm -v` or `run --rm`. A fresh volume is filled from the image's content at
//! its mount point the first time it is mounted (see [`copy_up`]), as docker does. Their
//! records and directories are the store's ([`crate::store::volumes`]).
use std::path::Path;

use crate::error::{EngineError, IoResultExt, Result};
pub use crate::store::volumes::valid_name;

/// What one `-v` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountSpec {
    /// `/host:/ctr[:ro]`
    Bind { host: String, destination: String, rw: bool },
    /// `name:/ctr[:ro]`
    Named { name: String, destination: String, rw: bool },
    /// `/ctr`
    Anonymous { destination: String },
}

impl MountSpec {
    pub fn destination(&self) -> &str {
        match self {
            MountSpec::Bind { destination, .. } | MountSpec::Named { destination, .. } | MountSpec::Anonymous { destination } => {
                destination
            }
        }
    }
}

fn valid_destination(d: &str) -> bool {
    d.starts_with('/') && d != "/" && !d.split('/').any(|c| c == "..")
}

/// Parse `-v` as docker does: `/host:/ctr[:ro|rw]`, `name:/ctr[:ro|rw]` or `/ctr`.
pub fn parse_spec(s: &str) -> Result<MountSpec> {
    let bad = |why: &str| EngineError::InvalidArgument(format!("invalid volume specification: '{s}': {why}"));
    let parts: Vec<&str> = s.split(':').collect();
    let (src, dst, rw) = match parts.as_slice() {
        [d] => {
            if !valid_destination(d) {
                return Err(bad("the container path must be absolute and not /"));
            }
            return Ok(MountSpec::Anonymous { destination: (*d).to_string() });
        }
        [h, c] => (*h, *c, true),
        [h, c, "ro"] => (*h, *c, false),
        [h, c, "rw"] => (*h, *c, true),
        [_, _, m] => return Err(bad(&format!("unknown mode {m:?}"))),
        _ => return Err(bad("expected HOST:CONTAINER[:ro], NAME:CONTAINER[:ro] or CONTAINER")),
    };
    if !valid_destination(dst) {
        return Err(bad("the container path must be absolute and not /"));
    }
    if src.starts_with('/') {
        return Ok(MountSpec::Bind { host: src.to_string(), destination: dst.to_string(), rw });
    }
    if !valid_name(src) {
        return Err(bad(&format!(
            "{src:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed; use an absolute path for a bind mount"
        )));
    }
    Ok(MountSpec::Named { name: src.to_string(), destination: dst.to_string(), rw })
}

/// Fill an empty volume from the image's content at its mount point, as docker does on
/// first mount: the tree under `destination` in the container's (mounted, not yet started)
/// root is archived by file descriptor, resolved inside that root (a symlink in the image
/// cannot point the copy at the host), and extracted with owners, modes and times kept; the
/// volume's top directory takes the mount point's owner and mode.
pub fn copy_up(rootfs: &Path, destination: &str, data: &Path) -> Result<()> {
    use std::os::fd::OwnedFd;
    use std::os::unix::fs::MetadataExt;
    let ctx = || format!("populating volume {} from {destination}", data.display());
    if std::fs::read_dir(data).at(data)?.next().is_some() {
        return Ok(());
    }
    let root = pathrs::Root::open(rootfs).map_err(|e| EngineError::io_ctx(ctx(), crate::ctrfs::pathrs_io(e)))?;
    let Ok(h) = root.resolve(crate::ctrfs::clean(destination)) else { return Ok(()) };
    let top = OwnedFd::from(h);
    let meta = std::fs::File::from(top.try_clone().map_err(|e| EngineError::io_ctx(ctx(), e))?).metadata().ctx(ctx)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let opts = crate::ctrfs::tarwrite::TarOptions::default();
    let tar = crate::ctrfs::tarwrite::write_tree(top, &opts, Vec::new()).ctx(ctx)?;
    if !tar.is_empty() {
        let dest = pathrs::Root::open(data).map_err(|e| EngineError::io_ctx(ctx(), crate::ctrfs::pathrs_io(e)))?;
        crate::ctrfs::untar::extract(&dest, Path::new("/"), &tar[..], crate::ctrfs::untar::Owner::Preserve, &|p| Some(p.to_path_buf()))
            .ctx(ctx)?;
    }
    std::os::unix::fs::chown(data, Some(meta.uid()), Some(meta.gid())).ctx(ctx)?;
    std::fs::set_permissions(data, std::os::unix::fs::PermissionsExt::from_mode(meta.mode() & 0o7777)).ctx(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_like_docker() {
        assert_eq!(
            parse_spec("data:/var/lib/x:ro").unwrap(),
            MountSpec::Named { name: "data".into(), destination: "/var/lib/x".into(), rw: false }
        );
        assert_eq!(parse_spec("/h:/c").unwrap(), MountSpec::Bind { host: "/h".into(), destination: "/c".into(), rw: true });
        assert_eq!(parse_spec("/c").unwrap(), MountSpec::Anonymous { destination: "/c".into() });
        for bad in ["", "/", "x:/c", "da ta:/c", "data:rel", "data:/c:rx", "a:b:c:d", "data:/", "/c/../x", "relative"] {
            assert!(parse_spec(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(valid_name("a1") && valid_name("my_vol.2-x") && !valid_name("a") && !valid_name("-x") && !valid_name("a/b"));
    }
}

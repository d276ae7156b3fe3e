//! `rmi` and `image prune` with docker's rules: a tag of an image with other tags, or in use
//! by a container, is only untagged; an image in use is deleted only with force (and then
//! only loses its names); an image named in several repositories needs force by ID.
use crate::error::{EngineError, Result};
use crate::image::reference::{Reference, familiar_tagged};
use crate::image::resolve::resolve;
use crate::store::containers::image_in_use;
use crate::store::digest::Digest;
use crate::store::images::ImageStore;

/// What `rmi` did, in docker's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removed {
    Untagged(String),
    Deleted(Digest),
}

fn in_use(store: &ImageStore, id: &Digest) -> bool {
    image_in_use(&store.db(), id.as_str())
}

/// docker rmi of what the user typed (a tag, a name@digest, an ID).
pub fn remove(store: &ImageStore, s: &str, force: bool) -> Result<Vec<Removed>> {
    let img = resolve(store, s)?;
    let used = in_use(store, &img.id);
    let by_tag = Reference::parse(s).ok().and_then(|r| r.tagged_name()).filter(|t| img.tags.contains(t));
    if let Some(t) = by_tag {
        if used && !force && img.tags.len() == 1 {
            return Err(EngineError::Conflict(format!(
                "conflict: unable to remove repository reference {s:?} (must force) - a container is using its referenced image {}",
                img.id.short()
            )));
        }
        if img.tags.len() > 1 || used {
            store.untag(&t)?;
            return Ok(vec![Removed::Untagged(familiar_tagged(&t))]);
        }
    } else if used && !force {
        return Err(EngineError::Conflict(format!(
            "conflict: unable to delete {} (must be forced) - image is being used by a container",
            img.id.short()
        )));
    } else if img.tags.len() > 1 && !force {
        return Err(EngineError::Conflict(format!(
            "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
            img.id.short()
        )));
    }
    let mut out: Vec<Removed> = img.tags.iter().chain(&img.repo_digests).map(|t| Removed::Untagged(familiar_tagged(t))).collect();
    if used {
        store.untag_all(&img.id)?;
        return Ok(out);
    }
    store.delete_image(&img)?;
    out.push(Removed::Deleted(img.id.clone()));
    Ok(out)
}

/// docker image prune: dangling images (no tags), or with `all` every image no container
/// uses. Also sweeps leftovers of interrupted pulls/loads. Returns what went and the bytes freed.
pub fn prune(store: &ImageStore, all: bool) -> Result<(Vec<Removed>, u64)> {
    let mut out = Vec::new();
    let mut freed = 0;
    for img in store.list()? {
        if in_use(store, &img.id) || (!all && !img.tags.is_empty()) {
            continue;
        }
        let before = store.disk_usage();
        for t in img.tags.iter().chain(&img.repo_digests) {
            out.push(Removed::Untagged(familiar_tagged(t)));
        }
        store.delete_image(&img)?;
        freed += before.saturating_sub(store.disk_usage());
        out.push(Removed::Deleted(img.id));
    }
    freed += store.sweep()?;
    Ok((out, freed))
}

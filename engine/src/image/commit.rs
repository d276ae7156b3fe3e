//! Making an image visible: read its config from the content store for the layers and the
//! creation time, then write the image, its layers and its tags in one transaction
//! ([`ImageStore::insert_image`]). Every producer (pull, push, load, import, commit, the
//! built-in image) ends here, after its layers are unpacked.
use crate::error::Result;
use crate::image::config::ImageConfig;
use crate::image::reference::Reference;
use crate::store::digest::Digest;
use crate::store::images::{ImageStore, NewImageRecord};

/// What a producer hands to [`commit_image`]. The config (and manifest, if any) must
/// already be in the content store and every layer ensured.
#[derive(Clone, Debug)]
pub struct NewImage {
    pub config_digest: Digest,
    pub manifest: Option<(Digest, String)>,
    pub tags: Vec<Reference>,
    pub repo_digest: Option<String>,
}

/// Read and parse an image's config from the content store: (bytes, parsed).
pub fn read_config(store: &ImageStore, id: &Digest) -> Result<(Vec<u8>, ImageConfig)> {
    let bytes = store.content.read(id)?;
    let cfg = ImageConfig::parse(&bytes)?;
    Ok((bytes, cfg))
}

/// Make the image visible. Tags that pointed elsewhere move here (the old image may become
/// dangling). Returns the image ID.
pub fn commit_image(store: &ImageStore, img: &NewImage) -> Result<Digest> {
    let (_, cfg) = read_config(store, &img.config_digest)?;
    store.insert_image(&NewImageRecord {
        id: img.config_digest.clone(),
        manifest: img.manifest.clone(),
        created: cfg.created_unix(),
        diff_ids: cfg.diff_ids()?,
        tags: img.tags.iter().filter_map(|r| r.tagged_name()).collect(),
        repo_digest: img.repo_digest.clone(),
    })
}

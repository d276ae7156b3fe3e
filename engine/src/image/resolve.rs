//! What a user typed → an image, in docker's order: a reference (`name[:tag]`,
//! `name@digest`) first, then a full or short image ID. The built-in `hello` image is
//! created on first use when the name means it and nothing else does.
use crate::error::{EngineError, Result};
use crate::image::reference::Reference;
use crate::store::digest::Digest;
use crate::store::images::{ImageRecord, ImageStore};

/// Resolve `s` to a stored image. An ambiguous ID prefix is an error.
pub fn resolve(store: &ImageStore, s: &str) -> Result<ImageRecord> {
    if let Ok(d) = Digest::parse(s) {
        return store.get(&d)?.ok_or_else(|| EngineError::ImageNotFound(s.to_string()));
    }
    if let Ok(r) = Reference::parse(s) {
        let id = match &r.digest {
            Some(d) => match store.id_by_repo_digest(&format!("{}@{}", r.name(), d))? {
                Some(id) => Some(id),
                None => store.id_tagged_in_repo(&r.name(), d.as_str())?,
            },
            None => store.id_by_tag(&r.tagged_name().unwrap_or_default())?,
        };
        if let Some(id) = id.and_then(|i| Digest::parse(&i).ok())
            && let Some(rec) = store.get(&id)?
        {
            return Ok(rec);
        }
    }
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        let ids = store.ids_with_prefix(hex)?;
        match ids.len() {
            0 => {}
            1 => {
                let d = Digest::parse(&ids[0])?;
                return store.get(&d)?.ok_or_else(|| EngineError::ImageNotFound(s.to_string()));
            }
            _ => return Err(EngineError::Conflict(format!("image ID prefix {s:?} is ambiguous: it matches {} images", ids.len()))),
        }
    }
    Err(EngineError::ImageNotFound(s.to_string()))
}

/// [`resolve`], creating the built-in `hello` image on first use when the name means it.
pub fn resolve_or_hello(store: &ImageStore, name: &str) -> Result<ImageRecord> {
    match resolve(store, name) {
        Err(EngineError::ImageNotFound(_)) if crate::image::hello::is_hello_name(name) => {
            crate::image::hello::create(store)?;
            resolve(store, name)
        }
        r => r,
    }
}

//! Turning a layer blob of the content store into an unpacked, recorded layer: decompress,
//! unpack safely into a fresh snapshot while hashing the tar (its diff_id), check that
//! digest, then commit the snapshot and record it. Pull, load, import, commit and the
//! built-in image all go through [`ensure_layer`].
use std::io;

use crate::error::{EngineError, IoResultExt, Result};
use crate::image::compression::decompress;
use crate::image::unpack::unpack_layer;
use crate::store::digest::{Digest, HashingReader};
use crate::store::images::{ImageStore, LayerBlob, LayerRecord};

/// Make sure the layer in content-store blob `blob` is unpacked, verifying that its
/// uncompressed digest is `expected_diff_id` when given. Returns the layer.
pub fn ensure_layer(store: &ImageStore, blob: &Digest, media_type: &str, expected_diff_id: Option<&Digest>) -> Result<LayerRecord> {
    if let Some(d) = expected_diff_id
        && let Some(l) = store.layer(d)?
    {
        let size = store.content.size(blob)?;
        store.add_layer_blob(&LayerBlob { digest: blob.clone(), diff_id: d.clone(), media_type: media_type.to_string(), size })?;
        return Ok(l);
    }
    if expected_diff_id.is_none()
        && let Some(l) = store.layer_for_blob(blob)?
    {
        return Ok(l);
    }
    let what = format!("layer {blob}");
    let file = store.content.open_blob(blob)?;
    let blob_size = file.metadata().at(store.content.path(blob))?.len();
    let (_, plain) = decompress(file, &what)?;
    let mut hr = HashingReader::new(plain);
    let prepared = store.snapshots.prepare()?;
    let stats = unpack_layer(&mut hr, &prepared.fs())?;
    // The diff_id covers the whole stream, including padding after the end-of-archive.
    io::copy(&mut hr, &mut io::sink()).ctx(|| format!("reading {what}"))?;
    let (_, diff_id, _) = hr.finish();
    if let Some(exp) = expected_diff_id
        && *exp != diff_id
    {
        return Err(EngineError::DigestMismatch {
            what: format!("uncompressed {what}"),
            expected: exp.to_string(),
            actual: diff_id.to_string(),
        });
    }
    let snapshot = diff_id.hex().to_string();
    let link = store.snapshots.commit(prepared, &snapshot)?;
    let rec = LayerRecord { diff_id, snapshot, link, size: stats.bytes };
    store.record_layer(&rec, blob, media_type, blob_size)?;
    Ok(rec)
}

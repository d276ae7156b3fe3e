//! The image store: images, tags and layers in the database, their blobs in the content
//! store and their unpacked layers in snapshots. Pull, load, import, commit and build all
//! end in [`ImageStore::record_layer`] (through `image::layer::ensure_layer`, which unpacks)
//! and [`ImageStore::insert_image`] (through `image::commit::commit_image`, which reads the
//! config); the image row is written last, in one transaction, so an image is visible only
//! when everything it needs is there. A failed producer undoes its part with [`Rollback`].
//!
//! Names here are canonical strings (`docker.io/library/alpine:latest`); parsing what a
//! user typed and docker's rules for `rmi` and `prune` are `crate::image`'s.
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::params;

use crate::error::{EngineError, IoResultExt, Result};
use crate::store::content::ContentStore;
use crate::store::db::Db;
use crate::store::digest::Digest;
use crate::store::snapshots::Snapshots;

/// One image as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRecord {
    pub id: Digest,
    pub manifest_digest: Option<Digest>,
    pub manifest_media_type: Option<String>,
    pub created: i64,
    pub size: u64,
    pub added: i64,
    /// diff_ids, bottom layer first.
    pub layers: Vec<Digest>,
    /// Canonical tagged names (`docker.io/library/alpine:latest`), sorted.
    pub tags: Vec<String>,
    /// Canonical `name@sha256:...`, sorted.
    pub repo_digests: Vec<String>,
}

/// An unpacked layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRecord {
    pub diff_id: Digest,
    pub snapshot: String,
    pub link: String,
    pub size: u64,
}

/// A compressed (or plain) blob we hold for a layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerBlob {
    pub digest: Digest,
    pub diff_id: Digest,
    pub media_type: String,
    pub size: u64,
}

/// An image to record, read from its config by the caller: the config (and manifest, if
/// any) must already be in the content store and every layer recorded.
#[derive(Clone, Debug)]
pub struct NewImageRecord {
    /// The config's digest.
    pub id: Digest,
    pub manifest: Option<(Digest, String)>,
    /// Unix seconds, from the config.
    pub created: i64,
    /// The config's diff_ids, bottom layer first.
    pub diff_ids: Vec<Digest>,
    /// Canonical tagged names to point here.
    pub tags: Vec<String>,
    /// Canonical `name@sha256:…` to point here.
    pub repo_digest: Option<String>,
}

pub struct ImageStore {
    root: PathBuf,
    db: Mutex<Db>,
    pub content: ContentStore,
    pub snapshots: Snapshots,
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

impl ImageStore {
    /// Open the store under `root`, creating it, and clean what killed processes left.
    pub fn open(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root).at(root)?;
        let content = ContentStore::open(root)?;
        let snapshots = Snapshots::open(root)?;
        let db = Db::open(root)?;
        content.clean_ingest()?;
        snapshots.clean()?;
        Ok(Self { root: root.to_path_buf(), db: Mutex::new(db), content, snapshots })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db(&self) -> MutexGuard<'_, Db> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn layer(&self, diff_id: &Digest) -> Result<Option<LayerRecord>> {
        let rec =
            self.db().query_opt("SELECT diff_id, snapshot, link, size FROM layers WHERE diff_id = ?1", [diff_id.as_str()], layer_row)?;
        Ok(rec.filter(|l| self.snapshots.exists(&l.snapshot)))
    }

    /// Blobs we hold for a layer.
    pub fn layer_blobs(&self, diff_id: &Digest) -> Result<Vec<LayerBlob>> {
        let rows = self.db().query_all(
            "SELECT digest, diff_id, media_type, size FROM layer_blobs WHERE diff_id = ?1",
            [diff_id.as_str()],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?)),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(d, i, m, s)| {
                Some(LayerBlob { digest: Digest::parse(&d).ok()?, diff_id: Digest::parse(&i).ok()?, media_type: m, size: s as u64 })
            })
            .filter(|b| self.content.contains(&b.digest))
            .collect())
    }

    /// The layer a blob unpacks to, if we have unpacked it before.
    pub fn layer_for_blob(&self, blob: &Digest) -> Result<Option<LayerRecord>> {
        let diff: Option<String> =
            self.db().query_opt("SELECT diff_id FROM layer_blobs WHERE digest = ?1", [blob.as_str()], |r| r.get(0))?;
        match diff.and_then(|d| Digest::parse(&d).ok()) {
            Some(d) => self.layer(&d),
            None => Ok(None),
        }
    }

    /// Record that `blob` (already in the content store) is a form of layer `diff_id`.
    pub fn add_layer_blob(&self, blob: &LayerBlob) -> Result<()> {
        self.db().write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO layer_blobs (digest, diff_id, media_type, size) VALUES (?1, ?2, ?3, ?4)",
                params![blob.digest.as_str(), blob.diff_id.as_str(), blob.media_type, blob.size as i64],
            )
        })?;
        Ok(())
    }

    /// Record layer `rec` (its snapshot committed) and that `blob`, `blob_size` bytes of
    /// `media_type`, is a form of it.
    pub fn record_layer(&self, rec: &LayerRecord, blob: &Digest, media_type: &str, blob_size: u64) -> Result<()> {
        self.db().write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO layers (diff_id, snapshot, link, size) VALUES (?1, ?2, ?3, ?4)",
                params![rec.diff_id.as_str(), rec.snapshot, rec.link, rec.size as i64],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO layer_blobs (digest, diff_id, media_type, size) VALUES (?1, ?2, ?3, ?4)",
                params![blob.as_str(), rec.diff_id.as_str(), media_type, blob_size as i64],
            )
        })?;
        Ok(())
    }

    /// Make an image visible: one transaction writes the image, its layers and its tags.
    /// Tags that pointed elsewhere move here (the old image may become dangling).
    pub fn insert_image(&self, img: &NewImageRecord) -> Result<Digest> {
        let diff_ids = &img.diff_ids;
        let mut size = 0u64;
        for d in diff_ids {
            let l = self.layer(d)?.ok_or_else(|| EngineError::InvalidImage(format!("layer {d} is not unpacked")))?;
            size += l.size;
        }
        if let Some((m, _)) = &img.manifest
            && !self.content.contains(m)
        {
            return Err(EngineError::InvalidImage(format!("manifest {m} is not in the content store")));
        }
        let id = img.id.clone();
        let tags = &img.tags;
        self.db().write(|tx| {
            let exists: bool = tx.query_row("SELECT COUNT(*) FROM images WHERE id = ?1", [id.as_str()], |r| r.get::<_, i64>(0))? > 0;
            if !exists {
                tx.execute(
                    "INSERT INTO images (id, manifest_digest, manifest_media_type, created, size, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id.as_str(),
                        img.manifest.as_ref().map(|m| m.0.to_string()),
                        img.manifest.as_ref().map(|m| m.1.clone()),
                        img.created,
                        size as i64,
                        now()
                    ],
                )?;
                for (i, d) in diff_ids.iter().enumerate() {
                    tx.execute(
                        "INSERT INTO image_layers (image_id, idx, diff_id) VALUES (?1, ?2, ?3)",
                        params![id.as_str(), i as i64, d.as_str()],
                    )?;
                }
            } else if let Some((m, mt)) = &img.manifest {
                tx.execute(
                    "UPDATE images SET manifest_digest = ?2, manifest_media_type = ?3 WHERE id = ?1 AND manifest_digest IS NULL",
                    params![id.as_str(), m.as_str(), mt],
                )?;
            }
            for t in tags {
                tx.execute("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?1, ?2)", params![t, id.as_str()])?;
            }
            if let Some(rd) = &img.repo_digest {
                tx.execute("INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?1, ?2)", params![rd, id.as_str()])?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// Point the canonical tagged name `tag` at image `id`.
    pub fn tag(&self, id: &Digest, tag: &str) -> Result<()> {
        self.db().write(|tx| tx.execute("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?1, ?2)", params![tag, id.as_str()]))?;
        Ok(())
    }

    /// Remove one tag (a canonical tagged name).
    pub fn untag(&self, tag: &str) -> Result<()> {
        self.db().write(|tx| tx.execute("DELETE FROM tags WHERE name = ?1", [tag]))?;
        Ok(())
    }

    /// Remove every tag and repo digest of image `id` (the image stays).
    pub fn untag_all(&self, id: &Digest) -> Result<()> {
        self.db().write(|tx| {
            tx.execute("DELETE FROM tags WHERE image_id = ?1", [id.as_str()])?;
            tx.execute("DELETE FROM repo_digests WHERE image_id = ?1", [id.as_str()])
        })?;
        Ok(())
    }

    pub fn get(&self, id: &Digest) -> Result<Option<ImageRecord>> {
        Ok(self.list_where("WHERE i.id = ?1", [id.as_str()])?.pop())
    }

    /// All images, newest first.
    pub fn list(&self) -> Result<Vec<ImageRecord>> {
        self.list_where("", [])
    }

    fn list_where(&self, filter: &str, p: impl rusqlite::Params) -> Result<Vec<ImageRecord>> {
        let db = self.db();
        let sql = format!(
            "SELECT i.id, i.manifest_digest, i.manifest_media_type, i.created, i.size, i.added,
                    (SELECT group_concat(diff_id, ',') FROM (SELECT diff_id FROM image_layers WHERE image_id = i.id ORDER BY idx)),
                    (SELECT group_concat(name, ',') FROM tags WHERE image_id = i.id),
                    (SELECT group_concat(name, ',') FROM repo_digests WHERE image_id = i.id)
             FROM images i {filter} ORDER BY i.created DESC, i.added DESC"
        );
        let rows = db.query_all(&sql, p, |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, i64>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, Option<String>>(7)?,
                r.get::<_, Option<String>>(8)?,
            ))
        })?;
        let split = |s: Option<String>| -> Vec<String> {
            let mut v: Vec<String> = s.map(|s| s.split(',').filter(|x| !x.is_empty()).map(String::from).collect()).unwrap_or_default();
            v.sort();
            v
        };
        Ok(rows
            .into_iter()
            .filter_map(|(id, md, mmt, created, size, added, layers, tags, rds)| {
                Some(ImageRecord {
                    id: Digest::parse(&id).ok()?,
                    manifest_digest: md.and_then(|m| Digest::parse(&m).ok()),
                    manifest_media_type: mmt,
                    created,
                    size: size as u64,
                    added,
                    layers: layers.map(|l| l.split(',').filter_map(|d| Digest::parse(d).ok()).collect()).unwrap_or_default(),
                    tags: split(tags),
                    repo_digests: split(rds),
                })
            })
            .collect())
    }

    /// The image a canonical tagged name points to.
    pub fn id_by_tag(&self, tag: &str) -> Result<Option<String>> {
        self.db().query_opt("SELECT image_id FROM tags WHERE name = ?1", [tag], |x| x.get(0))
    }

    /// The image a canonical `name@digest` was pulled or pushed as.
    pub fn id_by_repo_digest(&self, name: &str) -> Result<Option<String>> {
        self.db().query_opt("SELECT image_id FROM repo_digests WHERE name = ?1", [name], |x| x.get(0))
    }

    /// `id` if some tag of repository `repo` (canonical, without tag) points to it.
    pub fn id_tagged_in_repo(&self, repo: &str, id: &str) -> Result<Option<String>> {
        self.db().query_opt("SELECT image_id FROM tags WHERE name LIKE ?1 AND image_id = ?2", [format!("{repo}:%"), id.to_string()], |x| {
            x.get(0)
        })
    }

    /// Image IDs starting with `sha256:<hex_prefix>`.
    pub fn ids_with_prefix(&self, hex_prefix: &str) -> Result<Vec<String>> {
        self.db().query_all("SELECT id FROM images WHERE id LIKE ?1", [format!("sha256:{hex_prefix}%")], |r| r.get(0))
    }

    /// Delete an image row and whatever only it referenced (layers, blobs, snapshots).
    pub fn delete_image(&self, img: &ImageRecord) -> Result<()> {
        let id = img.id.as_str().to_string();
        let orphan_layers: Vec<String> = self.db().write(|tx| {
            tx.execute("DELETE FROM images WHERE id = ?1", [&id])?;
            let mut st =
                tx.prepare("SELECT l.diff_id FROM layers l WHERE NOT EXISTS (SELECT 1 FROM image_layers il WHERE il.diff_id = l.diff_id)")?;
            let v = st.query_map([], |r| r.get::<_, String>(0))?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(v)
        })?;
        let mut blobs: HashSet<Digest> = HashSet::new();
        blobs.insert(img.id.clone());
        if let Some(m) = &img.manifest_digest {
            blobs.insert(m.clone());
        }
        for d in &orphan_layers {
            let Ok(d) = Digest::parse(d) else { continue };
            for b in self.layer_blobs_any(&d)? {
                blobs.insert(b);
            }
            if let Some(l) =
                self.db().query_opt("SELECT diff_id, snapshot, link, size FROM layers WHERE diff_id = ?1", [d.as_str()], layer_row)?
            {
                self.snapshots.remove(&l.snapshot)?;
            }
            self.db().write(|tx| {
                tx.execute("DELETE FROM layers WHERE diff_id = ?1", [d.as_str()])?;
                tx.execute("DELETE FROM layer_blobs WHERE diff_id = ?1", [d.as_str()])
            })?;
        }
        let still = self.referenced_blobs()?;
        for b in blobs {
            if !still.contains(&b) {
                self.content.delete(&b)?;
            }
        }
        Ok(())
    }

    fn layer_blobs_any(&self, diff_id: &Digest) -> Result<Vec<Digest>> {
        let v: Vec<String> = self.db().query_all("SELECT digest FROM layer_blobs WHERE diff_id = ?1", [diff_id.as_str()], |r| r.get(0))?;
        Ok(v.iter().filter_map(|d| Digest::parse(d).ok()).collect())
    }

    /// Every blob some image still needs.
    fn referenced_blobs(&self) -> Result<HashSet<Digest>> {
        let db = self.db();
        let mut v: Vec<String> = db.query_all("SELECT id FROM images", [], |r| r.get(0))?;
        v.extend(db.query_all("SELECT manifest_digest FROM images WHERE manifest_digest IS NOT NULL", [], |r| r.get::<_, String>(0))?);
        v.extend(db.query_all("SELECT digest FROM layer_blobs", [], |r| r.get::<_, String>(0))?);
        Ok(v.iter().filter_map(|d| Digest::parse(d).ok()).collect())
    }

    /// Remove layers and blobs that no image references and that are older than a few
    /// minutes (younger ones may belong to a pull in progress in another process).
    pub fn sweep(&self) -> Result<u64> {
        let cutoff = std::time::SystemTime::now() - std::time::Duration::from_secs(600);
        let old = |p: &Path| std::fs::symlink_metadata(p).and_then(|m| m.modified()).map(|t| t < cutoff).unwrap_or(false);
        let mut freed = 0;
        let orphans: Vec<LayerRecord> = self.db().query_all(
            "SELECT diff_id, snapshot, link, size FROM layers l WHERE NOT EXISTS (SELECT 1 FROM image_layers il WHERE il.diff_id = l.diff_id)",
            [],
            layer_row,
        )?;
        for l in orphans {
            if old(&self.snapshots.dir(&l.snapshot)) {
                self.snapshots.remove(&l.snapshot)?;
                freed += l.size;
                self.db().write(|tx| tx.execute("DELETE FROM layers WHERE diff_id = ?1", [l.diff_id.as_str()]))?;
            }
        }
        self.db().write(|tx| tx.execute("DELETE FROM layer_blobs WHERE diff_id NOT IN (SELECT diff_id FROM layers)", []))?;
        let keep = self.referenced_blobs()?;
        for b in self.content.list()? {
            let p = self.content.path(&b);
            if !keep.contains(&b) && old(&p) {
                freed += std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                self.content.delete(&b)?;
            }
        }
        let known: HashSet<String> =
            self.db().query_all("SELECT snapshot FROM layers", [], |r| r.get::<_, String>(0))?.into_iter().collect();
        for id in self.snapshots.clean()? {
            if !known.contains(&id) && old(&self.snapshots.dir(&id)) {
                self.snapshots.remove(&id)?;
            }
        }
        Ok(freed)
    }

    /// Bytes of blobs and unpacked layers.
    pub fn disk_usage(&self) -> u64 {
        let blobs: u64 = self.content.list().unwrap_or_default().iter().filter_map(|d| self.content.size(d).ok()).sum();
        let layers: i64 = self.db().query_opt("SELECT COALESCE(SUM(size), 0) FROM layers", [], |r| r.get(0)).ok().flatten().unwrap_or(0);
        blobs + layers as u64
    }

    /// Map from image id to the number of tags, for `images` filters.
    pub fn tag_counts(&self) -> Result<BTreeMap<String, usize>> {
        let rows: Vec<(String, i64)> =
            self.db().query_all("SELECT image_id, COUNT(*) FROM tags GROUP BY image_id", [], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.into_iter().map(|(k, v)| (k, v as usize)).collect())
    }

    /// The short links of an image's unpacked layers, topmost first (an overlay's lowerdir
    /// order). Takes a database only: the monitor has no `ImageStore`.
    pub fn layer_links(db: &Db, image_id: &str) -> Result<Vec<String>> {
        db.query_all(
            "SELECT l.link FROM image_layers il JOIN layers l ON l.diff_id = il.diff_id WHERE il.image_id = ?1 ORDER BY il.idx DESC",
            [image_id],
            |r| r.get(0),
        )
    }

    /// Layers of an image, bottom first.
    pub fn image_layers(&self, img: &ImageRecord) -> Result<Vec<LayerRecord>> {
        img.layers
            .iter()
            .map(|d| self.layer(d)?.ok_or_else(|| EngineError::InvalidImage(format!("layer {d} of image {} is missing", img.id.short()))))
            .collect()
    }
}

fn layer_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<LayerRecord> {
    let d: String = r.get(0)?;
    Ok(LayerRecord {
        diff_id: Digest::parse(&d).map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))?,
        snapshot: r.get(1)?,
        link: r.get(2)?,
        size: r.get::<_, i64>(3)? as u64,
    })
}

/// Undo what a failed producer (load, import, commit, build) added to the store: layers it
/// unpacked and blobs it committed, as long as no image uses them. Disarm it once the image
/// is committed.
pub struct Rollback<'a> {
    store: &'a ImageStore,
    pub blobs: Vec<Digest>,
    pub layers: Vec<Digest>,
    armed: bool,
}

impl<'a> Rollback<'a> {
    pub fn new(store: &'a ImageStore) -> Self {
        Self { store, blobs: Vec::new(), layers: Vec::new(), armed: true }
    }
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let s = self.store;
        let used = |sql: &str, d: &Digest| s.db().query_opt(sql, [d.as_str()], |r| r.get::<_, i64>(0)).ok().flatten().is_some();
        for d in &self.layers {
            if used("SELECT 1 FROM image_layers WHERE diff_id = ?1 LIMIT 1", d) {
                continue;
            }
            if let Ok(Some(l)) = s.layer(d) {
                let _ = s.snapshots.remove(&l.snapshot);
            }
            let _ = s.db().write(|tx| {
                tx.execute("DELETE FROM layers WHERE diff_id = ?1", [d.as_str()])?;
                tx.execute("DELETE FROM layer_blobs WHERE diff_id = ?1", [d.as_str()])
            });
        }
        for b in &self.blobs {
            let q =
                "SELECT 1 FROM layer_blobs WHERE digest = ?1 UNION ALL SELECT 1 FROM images WHERE id = ?1 OR manifest_digest = ?1 LIMIT 1";
            if !used(q, b) {
                let _ = s.content.delete(b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::layer::ensure_layer;

    fn small_layer(name: &str) -> Vec<u8> {
        let mut h = tar::Header::new_ustar();
        h.set_size(3);
        h.set_mode(0o644);
        let mut b = tar::Builder::new(Vec::new());
        b.append_data(&mut h, name, &b"abc"[..]).unwrap();
        b.into_inner().unwrap()
    }

    #[test]
    fn rollback_removes_only_what_no_image_uses() {
        let t = tempfile::tempdir().unwrap();
        let store = ImageStore::open(t.path()).unwrap();
        let hello = crate::image::hello::create(&store).unwrap();
        let hello_layer = store.get(&hello).unwrap().unwrap().layers[0].clone();
        let mt = "application/vnd.oci.image.layer.v1.tar";

        let layer = small_layer("x");
        let blob = store.content.put_bytes(&layer).unwrap();
        let diff = Digest::of(&layer);
        {
            let mut rb = Rollback::new(&store);
            rb.blobs.push(blob.clone());
            ensure_layer(&store, &blob, mt, Some(&diff)).unwrap();
            rb.layers.push(diff.clone());
            // Named by mistake: an image uses these, so they must survive.
            rb.layers.push(hello_layer.clone());
            rb.blobs.extend([hello_layer.clone(), hello.clone()]);
        }
        assert!(store.layer(&diff).unwrap().is_none());
        assert!(!store.content.contains(&blob));
        assert!(store.layer_blobs(&diff).unwrap().is_empty());
        assert!(store.layer(&hello_layer).unwrap().is_some());
        assert!(store.content.contains(&hello_layer) && store.content.contains(&hello));

        // Disarmed, it keeps everything.
        let layer = small_layer("y");
        let blob = store.content.put_bytes(&layer).unwrap();
        let diff = Digest::of(&layer);
        {
            let mut rb = Rollback::new(&store);
            rb.blobs.push(blob.clone());
            ensure_layer(&store, &blob, mt, Some(&diff)).unwrap();
            rb.layers.push(diff.clone());
            rb.disarm();
        }
        assert!(store.layer(&diff).unwrap().is_some());
        assert!(store.content.contains(&blob));
    }
}

//! The image store: images, tags and layers in the database, their blobs in the content
//! store and their unpacked layers in snapshots. Pull, load, import and build all end in
//! [`ImageStore::ensure_layer`] and [`ImageStore::commit_image`]; the image row is written
//! last, in one transaction, so an image is visible only when everything it needs is there.
use std::collections::{BTreeMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::params;

use crate::error::{EngineError, IoResultExt, Result};
use crate::image::compression::decompress;
use crate::image::config::ImageConfig;
use crate::image::digest::{Digest, HashingReader};
use crate::image::reference::Reference;
use crate::image::unpack::unpack_layer;
use crate::store::content::ContentStore;
use crate::store::db::Db;
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

/// What a producer (pull, load, import) hands to [`ImageStore::commit_image`]. The config
/// (and manifest, if any) must already be in the content store and every layer ensured.
#[derive(Clone, Debug)]
pub struct NewImage {
    pub config_digest: Digest,
    pub manifest: Option<(Digest, String)>,
    pub tags: Vec<Reference>,
    pub repo_digest: Option<String>,
}

/// What `rmi` did, in docker's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Removed {
    Untagged(String),
    Deleted(Digest),
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

    /// Make sure the layer in content-store blob `blob` is unpacked, verifying that its
    /// uncompressed digest is `expected_diff_id` when given. Returns the layer.
    pub fn ensure_layer(&self, blob: &Digest, media_type: &str, expected_diff_id: Option<&Digest>) -> Result<LayerRecord> {
        if let Some(d) = expected_diff_id
            && let Some(l) = self.layer(d)?
        {
            let size = self.content.size(blob)?;
            self.add_layer_blob(&LayerBlob { digest: blob.clone(), diff_id: d.clone(), media_type: media_type.to_string(), size })?;
            return Ok(l);
        }
        if expected_diff_id.is_none()
            && let Some(l) = self.layer_for_blob(blob)?
        {
            return Ok(l);
        }
        let what = format!("layer {blob}");
        let file = self.content.open_blob(blob)?;
        let blob_size = file.metadata().at(self.content.path(blob))?.len();
        let (_, plain) = decompress(file, &what)?;
        let mut hr = HashingReader::new(plain);
        let prepared = self.snapshots.prepare()?;
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
        let link = self.snapshots.commit(prepared, &snapshot)?;
        let rec = LayerRecord { diff_id: diff_id.clone(), snapshot, link, size: stats.bytes };
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
        Ok(rec)
    }

    /// Read and parse an image's config from the content store.
    pub fn config(&self, id: &Digest) -> Result<(Vec<u8>, ImageConfig)> {
        let bytes = self.content.read(id)?;
        let cfg = ImageConfig::parse(&bytes)?;
        Ok((bytes, cfg))
    }

    /// Make an image visible: one transaction writes the image, its layers and its tags.
    /// Tags that pointed elsewhere move here (the old image may become dangling).
    pub fn commit_image(&self, img: &NewImage) -> Result<Digest> {
        let (_, cfg) = self.config(&img.config_digest)?;
        let diff_ids = cfg.diff_ids()?;
        let mut size = 0u64;
        for d in &diff_ids {
            let l = self.layer(d)?.ok_or_else(|| EngineError::InvalidImage(format!("layer {d} is not unpacked")))?;
            size += l.size;
        }
        if let Some((m, _)) = &img.manifest
            && !self.content.contains(m)
        {
            return Err(EngineError::InvalidImage(format!("manifest {m} is not in the content store")));
        }
        let id = img.config_digest.clone();
        let tags: Vec<String> = img.tags.iter().filter_map(|r| r.tagged_name()).collect();
        self.db().write(|tx| {
            let exists: bool = tx.query_row("SELECT COUNT(*) FROM images WHERE id = ?1", [id.as_str()], |r| r.get::<_, i64>(0))? > 0;
            if !exists {
                tx.execute(
                    "INSERT INTO images (id, manifest_digest, manifest_media_type, created, size, added) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![
                        id.as_str(),
                        img.manifest.as_ref().map(|m| m.0.to_string()),
                        img.manifest.as_ref().map(|m| m.1.clone()),
                        cfg.created_unix(),
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
            for t in &tags {
                tx.execute("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?1, ?2)", params![t, id.as_str()])?;
            }
            if let Some(rd) = &img.repo_digest {
                tx.execute("INSERT OR REPLACE INTO repo_digests (name, image_id) VALUES (?1, ?2)", params![rd, id.as_str()])?;
            }
            Ok(())
        })?;
        Ok(id)
    }

    /// Point `tag` at image `id`.
    pub fn tag(&self, id: &Digest, tag: &Reference) -> Result<()> {
        let name = tag.tagged_name().ok_or_else(|| EngineError::InvalidArgument(format!("{tag} has no tag")))?;
        self.db().write(|tx| tx.execute("INSERT OR REPLACE INTO tags (name, image_id) VALUES (?1, ?2)", params![name, id.as_str()]))?;
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

    /// Resolve what a user typed (name\[:tag\], name@digest, full or short ID) to an image,
    /// in docker's order: a reference first, then an ID prefix. An ambiguous prefix is an error.
    pub fn resolve(&self, s: &str) -> Result<ImageRecord> {
        if let Ok(d) = Digest::parse(s) {
            return self.get(&d)?.ok_or_else(|| EngineError::ImageNotFound(s.to_string()));
        }
        if let Ok(r) = Reference::parse(s) {
            let db = self.db();
            let id: Option<String> = if let Some(d) = &r.digest {
                db.query_opt("SELECT image_id FROM repo_digests WHERE name = ?1", [format!("{}@{}", r.name(), d)], |x| x.get(0))?.or(db
                    .query_opt(
                        "SELECT image_id FROM tags WHERE name LIKE ?1 AND image_id = ?2",
                        [format!("{}:%", r.name()), d.to_string()],
                        |x| x.get(0),
                    )?)
            } else {
                db.query_opt("SELECT image_id FROM tags WHERE name = ?1", [r.tagged_name().unwrap_or_default()], |x| x.get(0))?
            };
            drop(db);
            if let Some(id) = id.and_then(|i| Digest::parse(&i).ok())
                && let Some(rec) = self.get(&id)?
            {
                return Ok(rec);
            }
        }
        let hex = s.strip_prefix("sha256:").unwrap_or(s);
        if !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            let ids: Vec<String> =
                self.db().query_all("SELECT id FROM images WHERE id LIKE ?1", [format!("sha256:{hex}%")], |r| r.get(0))?;
            match ids.len() {
                0 => {}
                1 => {
                    let d = Digest::parse(&ids[0])?;
                    return self.get(&d)?.ok_or_else(|| EngineError::ImageNotFound(s.to_string()));
                }
                _ => return Err(EngineError::Conflict(format!("image ID prefix {s:?} is ambiguous: it matches {} images", ids.len()))),
            }
        }
        Err(EngineError::ImageNotFound(s.to_string()))
    }

    /// docker rmi. `in_use` says whether a container uses an image: then only `force`
    /// removes its names, and the image itself stays for the container.
    pub fn remove(&self, s: &str, force: bool, in_use: &dyn Fn(&Digest) -> bool) -> Result<Vec<Removed>> {
        use crate::image::reference::familiar_tagged;
        let img = self.resolve(s)?;
        let used = in_use(&img.id);
        let by_tag = Reference::parse(s).ok().and_then(|r| r.tagged_name()).filter(|t| img.tags.contains(t));
        if let Some(t) = by_tag {
            if used && !force && img.tags.len() == 1 {
                return Err(EngineError::Conflict(format!(
                    "conflict: unable to remove repository reference {s:?} (must force) - a container is using its referenced image {}",
                    img.id.short()
                )));
            }
            if img.tags.len() > 1 || used {
                self.db().write(|tx| tx.execute("DELETE FROM tags WHERE name = ?1", [&t]))?;
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
            self.db().write(|tx| {
                tx.execute("DELETE FROM tags WHERE image_id = ?1", [img.id.as_str()])?;
                tx.execute("DELETE FROM repo_digests WHERE image_id = ?1", [img.id.as_str()])
            })?;
            return Ok(out);
        }
        self.delete_image(&img)?;
        out.push(Removed::Deleted(img.id.clone()));
        Ok(out)
    }

    /// Delete an image row and whatever only it referenced (layers, blobs, snapshots).
    fn delete_image(&self, img: &ImageRecord) -> Result<()> {
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

    /// docker image prune: dangling images (no tags), or with `all` every image no container
    /// uses. Also sweeps leftovers of interrupted pulls/loads. Returns what went and the bytes freed.
    pub fn prune(&self, all: bool, in_use: &dyn Fn(&Digest) -> bool) -> Result<(Vec<Removed>, u64)> {
        let mut out = Vec::new();
        let mut freed = 0;
        for img in self.list()? {
            if in_use(&img.id) || (!all && !img.tags.is_empty()) {
                continue;
            }
            let before = self.disk_usage();
            for t in img.tags.iter().chain(&img.repo_digests) {
                out.push(Removed::Untagged(crate::image::reference::familiar_tagged(t)));
            }
            self.delete_image(&img)?;
            freed += before.saturating_sub(self.disk_usage());
            out.push(Removed::Deleted(img.id));
        }
        freed += self.sweep()?;
        Ok((out, freed))
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

    fn disk_usage(&self) -> u64 {
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

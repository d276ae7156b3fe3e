//! docker-archive and OCI-layout tars: load and save.
//!
//! `load` streams the tar into a staging directory under `ingest/` (hashing every file as
//! it arrives, never holding a layer in memory), resolves the archive's symlinks and hard
//! links by name, recognises the shape (docker-archive `manifest.json` as written by docker
//! 20.10, skopeo and docker 25+, or a pure OCI layout), verifies every digest *before* the
//! store is touched, then moves blobs into the content store, unpacks layers and commits
//! each image last. The staging directory is named `<pid>-load-…` so a killed load is
//! cleaned by the next process (`ContentStore::clean_ingest`).
//!
//! `save` writes docker 20.10's docker-archive (`manifest.json`, `<config hex>.json`,
//! `<diff_id hex>/layer.tar` uncompressed, `repositories`), which `docker load` accepts and
//! which keeps the image ID (the config bytes are copied verbatim).
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{EngineError, IoResultExt, Result};
use crate::image::commit::{NewImage, commit_image};
use crate::image::compression::{Compression, decompress};
use crate::image::config::ImageConfig;
use crate::image::layer::ensure_layer;
use crate::image::reference::{Reference, familiar_tagged};
use crate::image::resolve::resolve_or_hello;
use crate::store::digest::{Digest, HashingReader, HashingWriter};
use crate::store::images::{ImageRecord, ImageStore, Rollback};

/// JSON files of an archive (manifest.json, index.json, configs, manifests) are read into
/// memory; anything larger than this is not a real one.
const MAX_JSON: u64 = 64 << 20;
/// Symlink hops followed when resolving a name inside the archive.
const MAX_LINKS: usize = 40;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const CONTAINERD_NAME: &str = "io.containerd.image.name";
const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";

fn bad(msg: impl Into<String>) -> EngineError {
    EngineError::InvalidArchive(msg.into())
}

/// The tar crate's header errors quote the garbage they choke on; say what they mean.
pub(crate) fn tar_error(what: &str, e: &io::Error) -> EngineError {
    let msg = e.to_string();
    if msg.contains("checksum mismatch") || msg.contains("numeric field") || msg.contains("when getting") {
        bad(format!("{what} is not a valid tar archive (corrupt header)"))
    } else if msg.contains("failed to read entire block") || e.kind() == io::ErrorKind::UnexpectedEof {
        bad(format!("{what} is truncated"))
    } else {
        bad(format!("reading {what}: {msg}"))
    }
}

// ------------------------------------------------------------------------------------ load

/// Load every image of a docker-archive or OCI-layout tar (optionally gzip/zstd compressed),
/// staging it in a fresh directory under `staging` (the content store's ingest directory,
/// so that a killed load is cleaned by the next process). Returns familiar `name:tag` for
/// each tag loaded, or `sha256:…` for an untagged image.
pub fn load(store: &ImageStore, staging: &Path, reader: impl Read) -> Result<Vec<String>> {
    let staging = Staging::create(staging)?;
    let (_, plain) = decompress(reader, "the archive")?;
    let files = staging.receive(plain)?;
    let plan = if files.has("manifest.json") {
        docker_archive(&files)?
    } else if files.has("index.json") {
        oci_layout(&files)?
    } else if files.nodes.is_empty() {
        return Err(bad("the archive is empty"));
    } else {
        return Err(bad("no manifest.json (docker-archive) or index.json (OCI layout) in the archive"));
    };
    if plan.is_empty() {
        return Err(bad("the archive holds no images"));
    }
    verify_layers(store, &plan)?;
    let out = commit(store, &plan)?;
    drop(staging);
    Ok(out)
}

/// A file of the archive, staged on disk with its digest.
#[derive(Clone, Debug)]
struct Staged {
    path: PathBuf,
    digest: Digest,
    size: u64,
}

enum Node {
    File(Staged),
    /// A symlink or hard link, already resolved to an archive-root-relative name.
    Link(String),
}

/// The staging directory; removed when dropped (success or failure).
struct Staging {
    dir: PathBuf,
}

impl Staging {
    fn create(ingest: &Path) -> Result<Self> {
        let dir = ingest.join(format!("{}-load-{:016x}", std::process::id(), fastrand::u64(..)));
        fs::create_dir_all(&dir).at(&dir)?;
        Ok(Self { dir })
    }

    /// Stream the tar into the staging dir. Only regular files take disk space; their names
    /// are kept in memory (files are stored under numbers, so hostile names write nothing).
    fn receive(&self, reader: impl Read) -> Result<Files> {
        let mut ar = tar::Archive::new(reader);
        let mut nodes = HashMap::new();
        let tar_err = |e: io::Error| tar_error("the archive", &e);
        for (n, entry) in ar.entries().map_err(tar_err)?.enumerate() {
            let mut e = entry.map_err(tar_err)?;
            let raw = String::from_utf8_lossy(&e.path_bytes()).into_owned();
            let Some(name) = normalize("", &raw) else {
                return Err(bad(format!("entry {raw:?} points outside the archive")));
            };
            let kind = e.header().entry_type();
            if name.is_empty() {
                continue;
            }
            match kind {
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let path = self.dir.join(n.to_string());
                    let f = File::create(&path).at(&path)?;
                    let mut w = HashingWriter::new(BufWriter::with_capacity(256 * 1024, f));
                    let expected = e.size();
                    let copied = io::copy(&mut e, &mut w).map_err(|err| bad(format!("reading {name}: {err}")))?;
                    if copied != expected {
                        return Err(bad(format!("the archive is truncated: {name} has {copied} of {expected} bytes")));
                    }
                    let (bw, digest, size) = w.finish();
                    bw.into_inner().map_err(|err| EngineError::io(&path, err.into_error()))?;
                    nodes.insert(name, Node::File(Staged { path, digest, size }));
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = e.link_name_bytes().map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
                    // Symlinks are relative to their directory, hard links to the archive root.
                    let base = if kind == tar::EntryType::Symlink { parent(&name) } else { "" };
                    match normalize(base, &target) {
                        Some(t) => nodes.insert(name, Node::Link(t)),
                        None => nodes.remove(&name),
                    };
                }
                _ => {}
            }
        }
        Ok(Files { nodes })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn parent(name: &str) -> &str {
    name.rfind('/').map(|i| &name[..i]).unwrap_or("")
}

/// Join `rel` onto `base` lexically; `None` if it climbs above the archive root. An
/// absolute `rel` is taken from the archive root.
fn normalize(base: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if rel.starts_with('/') { Vec::new() } else { base.split('/').filter(|c| !c.is_empty()).collect() };
    for c in rel.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            c => parts.push(c),
        }
    }
    Some(parts.join("/"))
}

/// The archive's names, resolved.
struct Files {
    nodes: HashMap<String, Node>,
}

impl Files {
    fn has(&self, name: &str) -> bool {
        self.nodes.contains_key(name)
    }

    /// The regular file `name` refers to, following links.
    fn file(&self, name: &str) -> Result<&Staged> {
        let mut cur = normalize("", name).ok_or_else(|| bad(format!("{name:?} points outside the archive")))?;
        for _ in 0..MAX_LINKS {
            match self.nodes.get(&cur) {
                Some(Node::File(f)) => return Ok(f),
                Some(Node::Link(t)) => cur = t.clone(),
                None => return Err(bad(format!("{name} is missing from the archive"))),
            }
        }
        Err(bad(format!("{name}: too many levels of links")))
    }

    /// An OCI-layout blob, checked against its digest (and size, when known).
    fn blob(&self, digest: &str, size: Option<u64>) -> Result<(&Staged, Digest)> {
        let d = Digest::parse(digest).map_err(|_| bad(format!("unsupported or invalid digest {digest:?}")))?;
        let f = self.file(&format!("blobs/sha256/{}", d.hex()))?;
        if f.digest != d {
            return Err(EngineError::DigestMismatch { what: format!("blob {d}"), expected: d.to_string(), actual: f.digest.to_string() });
        }
        if let Some(s) = size
            && s != f.size
        {
            return Err(EngineError::SizeMismatch { what: format!("blob {d}"), expected: s, actual: f.size });
        }
        Ok((f, d))
    }
}

fn read_small(f: &Staged, what: &str) -> Result<Vec<u8>> {
    if f.size > MAX_JSON {
        return Err(bad(format!("{what} is implausibly large ({} bytes)", f.size)));
    }
    fs::read(&f.path).at(&f.path)
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| bad(format!("{what} is not valid: {e}")))
}

/// One image to load.
struct Planned {
    config: Staged,
    config_digest: Digest,
    /// The OCI/Docker manifest, when the archive has one (OCI layouts, docker 25+).
    manifest: Option<(Staged, Digest, String)>,
    layers: Vec<PlannedLayer>,
    tags: Vec<Reference>,
}

struct PlannedLayer {
    name: String,
    file: Staged,
    diff_id: Digest,
    media_type: Option<String>,
}

/// Read and check a config: its digest must match its name when the name is a digest.
fn plan_config(files: &Files, name: &str, expected: Option<Digest>) -> Result<(Staged, ImageConfig)> {
    let f = files.file(name)?.clone();
    let named = expected.or_else(|| {
        let base = name.rsplit('/').next().unwrap_or(name);
        let hex = base.strip_suffix(".json").unwrap_or(base);
        Digest::parse(&format!("sha256:{hex}")).ok()
    });
    if let Some(d) = named
        && d != f.digest
    {
        return Err(EngineError::DigestMismatch {
            what: format!("image config {name}"),
            expected: d.to_string(),
            actual: f.digest.to_string(),
        });
    }
    let cfg = ImageConfig::parse(&read_small(&f, name)?)?;
    if !cfg.os.is_empty() && cfg.os != "linux" {
        return Err(EngineError::InvalidImage(format!("image operating system {:?} cannot be used on this platform", cfg.os)));
    }
    Ok((f, cfg))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveManifest {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

fn docker_archive(files: &Files) -> Result<Vec<Planned>> {
    let mf = files.file("manifest.json")?;
    let items: Vec<ArchiveManifest> = parse_json(&read_small(mf, "manifest.json")?, "manifest.json")?;
    let oci = oci_manifests_by_config(files);
    let mut plan = Vec::new();
    for item in items {
        let (config, cfg) = plan_config(files, &item.config, None)?;
        let diff_ids = cfg.diff_ids()?;
        if diff_ids.len() != item.layers.len() {
            return Err(EngineError::InvalidImage(format!(
                "manifest.json lists {} layers for {} but its config has {} diff_ids",
                item.layers.len(),
                item.config,
                diff_ids.len()
            )));
        }
        let mut layers = Vec::new();
        for (name, diff_id) in item.layers.iter().zip(diff_ids) {
            layers.push(PlannedLayer { name: name.clone(), file: files.file(name)?.clone(), diff_id, media_type: None });
        }
        let tags = item.repo_tags.unwrap_or_default().iter().map(|t| Reference::parse_tagged(t)).collect::<Result<Vec<_>>>()?;
        let config_digest = config.digest.clone();
        let manifest = oci.get(&config_digest).cloned();
        plan.push(Planned { config, config_digest, manifest, layers, tags });
    }
    Ok(merge(plan))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    #[serde(default)]
    media_type: Option<String>,
    digest: String,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
}

/// An index (index.json, an image index, a Docker manifest list) or an image manifest.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct IndexOrManifest {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

fn read_index(files: &Files) -> Result<Vec<Descriptor>> {
    let f = files.file("index.json")?;
    let idx: IndexOrManifest = parse_json(&read_small(f, "index.json")?, "index.json")?;
    Ok(idx.manifests.unwrap_or_default())
}

/// Docker 25+ archives carry OCI manifests beside manifest.json: keep them with the image.
fn oci_manifests_by_config(files: &Files) -> HashMap<Digest, (Staged, Digest, String)> {
    let mut out = HashMap::new();
    let Ok(descs) = read_index(files) else { return out };
    for d in descs {
        let Ok((f, digest)) = files.blob(&d.digest, d.size) else { continue };
        let Ok(bytes) = read_small(f, "manifest") else { continue };
        let Ok(m) = serde_json::from_slice::<IndexOrManifest>(&bytes) else { continue };
        let Some(cfg) = m.config else { continue };
        let Ok(cd) = Digest::parse(&cfg.digest) else { continue };
        let mt = d.media_type.or(m.media_type).unwrap_or_else(|| OCI_MANIFEST.to_string());
        out.insert(cd, (f.clone(), digest, mt));
    }
    out
}

fn oci_layout(files: &Files) -> Result<Vec<Planned>> {
    let mut plan = Vec::new();
    for d in read_index(files)? {
        let tags = match (d.annotations.get(CONTAINERD_NAME), d.annotations.get(OCI_REF_NAME)) {
            (Some(n), _) => vec![Reference::parse_tagged(n)?],
            // A bare ref name ("latest") has no repository: the image loads untagged.
            (None, Some(n)) if n.contains(':') || n.contains('/') => vec![Reference::parse_tagged(n)?],
            _ => Vec::new(),
        };
        if let Some(mut p) = plan_descriptor(files, &d, 0)? {
            p.tags = tags;
            plan.push(p);
        }
    }
    Ok(merge(plan))
}

fn is_index(media_type: Option<&str>, m: &IndexOrManifest) -> bool {
    matches!(media_type, Some(OCI_INDEX) | Some(DOCKER_LIST)) || (m.manifests.is_some() && m.config.is_none())
}

/// Plan the image a descriptor names; an index picks the host's platform. `None` for
/// descriptors that are not images (artifacts, attestations).
fn plan_descriptor(files: &Files, d: &Descriptor, depth: usize) -> Result<Option<Planned>> {
    if depth > 4 {
        return Err(bad("image indexes nested too deeply"));
    }
    if let Some(mt) = d.media_type.as_deref()
        && ![OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, DOCKER_LIST].contains(&mt)
    {
        return Ok(None);
    }
    let (f, digest) = files.blob(&d.digest, d.size)?;
    let bytes = read_small(f, &format!("manifest {digest}"))?;
    let m: IndexOrManifest = parse_json(&bytes, &format!("manifest {digest}"))?;
    let mt = d.media_type.clone().or(m.media_type.clone());
    if is_index(mt.as_deref(), &m) {
        let (arch, variant) = crate::image::hello::host_platform();
        let children = m.manifests.unwrap_or_default();
        let pick = children.iter().find(|c| {
            c.platform.as_ref().is_some_and(|p| {
                p.os == "linux"
                    && p.architecture == arch
                    && (variant.is_none() || p.variant.is_none() || p.variant.as_deref() == variant || p.variant.as_deref() == Some(""))
            })
        });
        let Some(child) = pick else {
            return Err(EngineError::NoMatchingPlatform {
                reference: format!("image index {digest} in the archive"),
                platform: format!("linux/{arch}"),
            });
        };
        return plan_descriptor(files, child, depth + 1);
    }
    let Some(cd) = m.config.as_ref() else { return Ok(None) };
    let (_, config_digest) = files.blob(&cd.digest, cd.size)?;
    let (config, cfg) = plan_config(files, &format!("blobs/sha256/{}", config_digest.hex()), Some(config_digest.clone()))?;
    let diff_ids = cfg.diff_ids()?;
    if diff_ids.len() != m.layers.len() {
        return Err(EngineError::InvalidImage(format!(
            "manifest {digest} lists {} layers but its config has {} diff_ids",
            m.layers.len(),
            diff_ids.len()
        )));
    }
    let mut layers = Vec::new();
    for (l, diff_id) in m.layers.iter().zip(diff_ids) {
        let (file, _) = files.blob(&l.digest, l.size)?;
        layers.push(PlannedLayer { name: format!("blob {}", l.digest), file: file.clone(), diff_id, media_type: l.media_type.clone() });
    }
    let manifest = Some((f.clone(), digest, mt.unwrap_or_else(|| OCI_MANIFEST.to_string())));
    Ok(Some(Planned { config, config_digest, manifest, layers, tags: Vec::new() }))
}

/// One entry per image, tags merged, first appearance order.
fn merge(plan: Vec<Planned>) -> Vec<Planned> {
    let mut out: Vec<Planned> = Vec::new();
    for p in plan {
        match out.iter_mut().find(|o| o.config_digest == p.config_digest) {
            Some(o) => {
                for t in p.tags {
                    if !o.tags.contains(&t) {
                        o.tags.push(t);
                    }
                }
                if o.manifest.is_none() {
                    o.manifest = p.manifest;
                }
            }
            None => out.push(p),
        }
    }
    out
}

/// Check every layer's uncompressed digest against its config before the store is touched
/// (plain tars were hashed while staged; compressed ones are decompressed once here, unless
/// the store already knows this exact blob as this layer).
fn verify_layers(store: &ImageStore, plan: &[Planned]) -> Result<()> {
    let mut seen = HashSet::new();
    for p in plan {
        for l in &p.layers {
            if !seen.insert((l.file.digest.clone(), l.diff_id.clone())) {
                continue;
            }
            if l.file.digest != l.diff_id && store.layer_blobs(&l.diff_id)?.iter().any(|b| b.digest == l.file.digest) {
                continue;
            }
            let what = format!("layer {}", l.name);
            let file = File::open(&l.file.path).at(&l.file.path)?;
            let (c, plain) = decompress(file, &what)?;
            let actual = if c == Compression::None {
                l.file.digest.clone()
            } else {
                let mut hr = HashingReader::new(plain);
                io::copy(&mut hr, &mut io::sink()).map_err(|e| bad(format!("cannot decompress {what}: {e}")))?;
                hr.finish().1
            };
            if actual != l.diff_id {
                return Err(EngineError::DigestMismatch {
                    what: format!("{what} (it does not match the image config's diff_ids)"),
                    expected: l.diff_id.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Move blobs into the content store, unpack layers, then make the images visible.
fn commit(store: &ImageStore, plan: &[Planned]) -> Result<Vec<String>> {
    let mut rb = Rollback::new(store);
    let put = |rb: &mut Rollback<'_>, f: &Staged| -> Result<()> {
        if !store.content.contains(&f.digest) {
            store.content.commit_file(&f.path, &f.digest)?;
            rb.blobs.push(f.digest.clone());
        }
        Ok(())
    };
    for p in plan {
        for l in &p.layers {
            put(&mut rb, &l.file)?;
            let existed = store.layer(&l.diff_id)?.is_some();
            let media_type = match &l.media_type {
                Some(m) => m.clone(),
                None => {
                    let f = store.content.open_blob(&l.file.digest)?;
                    let (c, _) = decompress(f, &l.name)?;
                    c.docker_layer_media_type().to_string()
                }
            };
            ensure_layer(store, &l.file.digest, &media_type, Some(&l.diff_id))?;
            if !existed {
                rb.layers.push(l.diff_id.clone());
            }
        }
        put(&mut rb, &p.config)?;
        if let Some((f, _, _)) = &p.manifest {
            put(&mut rb, f)?;
        }
    }
    let mut out = Vec::new();
    for p in plan {
        let manifest = p.manifest.as_ref().map(|(_, d, mt)| (d.clone(), mt.clone()));
        let id =
            commit_image(store, &NewImage { config_digest: p.config_digest.clone(), manifest, tags: p.tags.clone(), repo_digest: None })?;
        if p.tags.is_empty() {
            out.push(id.to_string());
        }
        out.extend(p.tags.iter().filter_map(|t| t.tagged_name()).map(|t| familiar_tagged(&t)));
    }
    rb.disarm();
    Ok(out)
}

// ------------------------------------------------------------------------------------ save

/// An image to save and the familiar tags to record for it.
struct Selected {
    rec: ImageRecord,
    tags: Vec<String>,
}

/// Resolve names as `docker save` does: `name:tag` keeps that tag; a bare repository name
/// saves every tag of it; an ID (or `name@digest`) saves the image without tags.
fn select(store: &ImageStore, names: &[String]) -> Result<Vec<Selected>> {
    let mut out: Vec<Selected> = Vec::new();
    let mut add = |rec: ImageRecord, tag: Option<String>| match out.iter_mut().find(|s| s.rec.id == rec.id) {
        Some(s) => {
            if let Some(t) = tag
                && !s.tags.contains(&t)
            {
                s.tags.push(t);
            }
        }
        None => out.push(Selected { rec, tags: tag.into_iter().collect() }),
    };
    for name in names {
        let reference = Reference::parse(name).ok();
        let name_only =
            reference.as_ref().is_some_and(|r| r.digest.is_none() && !name[name.rfind('/').map(|i| i + 1).unwrap_or(0)..].contains(':'));
        if name_only && let Some(r) = &reference {
            let prefix = format!("{}:", r.name());
            let mut found = false;
            for rec in store.list()? {
                let tags: Vec<String> = rec.tags.iter().filter(|t| t.starts_with(&prefix)).cloned().collect();
                for t in tags {
                    found = true;
                    add(rec.clone(), Some(familiar_tagged(&t)));
                }
            }
            if found {
                continue;
            }
        }
        let rec = resolve_or_hello(store, name)?;
        let tag = reference.and_then(|r| if r.digest.is_none() { r.tagged_name() } else { None }).filter(|t| rec.tags.contains(t));
        add(rec, tag.map(|t| familiar_tagged(&t)));
    }
    Ok(out)
}

/// How to produce one layer's uncompressed tar.
struct LayerSource {
    blob: Digest,
    size: u64,
}

/// Find a stored blob for the layer and the size of its uncompressed tar, checking that it
/// really is the layer (so a broken store fails before anything is written).
fn layer_source(store: &ImageStore, diff_id: &Digest) -> Result<LayerSource> {
    let blobs = store.layer_blobs(diff_id)?;
    if let Some(b) = blobs.iter().find(|b| b.digest == *diff_id) {
        return Ok(LayerSource { blob: b.digest.clone(), size: store.content.size(&b.digest)? });
    }
    let b = blobs.first().ok_or_else(|| EngineError::InvalidImage(format!("no stored blob for layer {diff_id}")))?;
    let what = format!("layer {diff_id}");
    let (_, plain) = decompress(store.content.open_blob(&b.digest)?, &what)?;
    let mut hr = HashingReader::new(plain);
    io::copy(&mut hr, &mut io::sink()).ctx(|| format!("decompressing {what}"))?;
    let (_, actual, size) = hr.finish();
    if actual != *diff_id {
        return Err(EngineError::DigestMismatch { what, expected: diff_id.to_string(), actual: actual.to_string() });
    }
    Ok(LayerSource { blob: b.digest.clone(), size })
}

fn header(kind: tar::EntryType, size: u64, mode: u32, mtime: i64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(mtime.max(0) as u64);
    h
}

/// Write a docker-archive of the named images to `writer` (flushed, not closed). Every name
/// is resolved and every layer checked before the first byte is written.
pub fn save(store: &ImageStore, names: &[String], writer: impl Write) -> Result<()> {
    let selected = select(store, names)?;
    // Everything is resolved and checked before the first byte goes out.
    let mut sources: HashMap<Digest, LayerSource> = HashMap::new();
    let mut configs = Vec::new();
    for s in &selected {
        configs.push(store.content.read(&s.rec.id)?);
        for d in &s.rec.layers {
            if !sources.contains_key(d) {
                sources.insert(d.clone(), layer_source(store, d)?);
            }
        }
    }
    let werr = |e: io::Error| EngineError::io_ctx("writing the archive", e);
    let mut tar = tar::Builder::new(writer);
    let mut written: HashSet<Digest> = HashSet::new();
    let mut manifest = Vec::new();
    let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (s, config) in selected.iter().zip(&configs) {
        let mtime = s.rec.created;
        let mut layer_paths = Vec::new();
        for d in &s.rec.layers {
            let dir = d.hex().to_string();
            layer_paths.push(format!("{dir}/layer.tar"));
            if !written.insert(d.clone()) {
                continue;
            }
            tar.append_data(&mut header(tar::EntryType::Directory, 0, 0o755, mtime), format!("{dir}/"), io::empty()).map_err(werr)?;
            tar.append_data(&mut header(tar::EntryType::Regular, 3, 0o644, mtime), format!("{dir}/VERSION"), &b"1.0"[..]).map_err(werr)?;
            let src = &sources[d];
            let what = format!("layer {d}");
            let (_, plain) = decompress(store.content.open_blob(&src.blob)?, &what)?;
            let mut hr = HashingReader::new(plain.take(src.size));
            tar.append_data(&mut header(tar::EntryType::Regular, src.size, 0o644, mtime), format!("{dir}/layer.tar"), &mut hr)
                .map_err(werr)?;
            let (_, actual, n) = hr.finish();
            if n != src.size || actual != *d {
                return Err(EngineError::DigestMismatch { what, expected: d.to_string(), actual: actual.to_string() });
            }
        }
        let config_name = format!("{}.json", s.rec.id.hex());
        if written.insert(s.rec.id.clone()) {
            tar.append_data(&mut header(tar::EntryType::Regular, config.len() as u64, 0o644, mtime), &config_name, &config[..])
                .map_err(werr)?;
        }
        for t in &s.tags {
            if let Some((repo, tag)) = t.rsplit_once(':')
                && let Some(top) = s.rec.layers.last()
            {
                repositories.entry(repo.to_string()).or_default().insert(tag.to_string(), top.hex().to_string());
            }
        }
        manifest.push(serde_json::json!({
            "Config": config_name,
            "RepoTags": if s.tags.is_empty() { serde_json::Value::Null } else { serde_json::json!(s.tags) },
            "Layers": layer_paths,
        }));
    }
    let manifest = serde_json::to_vec(&manifest).map_err(|e| EngineError::Json { what: "encoding manifest.json".into(), source: e })?;
    tar.append_data(&mut header(tar::EntryType::Regular, manifest.len() as u64, 0o644, 0), "manifest.json", &manifest[..]).map_err(werr)?;
    if !repositories.is_empty() {
        let repos = serde_json::to_vec(&repositories).map_err(|e| EngineError::Json { what: "encoding repositories".into(), source: e })?;
        tar.append_data(&mut header(tar::EntryType::Regular, repos.len() as u64, 0o644, 0), "repositories", &repos[..]).map_err(werr)?;
    }
    let mut w = tar.into_inner().map_err(werr)?;
    w.flush().map_err(werr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_names() {
        assert_eq!(normalize("", "./manifest.json").as_deref(), Some("manifest.json"));
        assert_eq!(normalize("abc", "../f.tar").as_deref(), Some("f.tar"));
        assert_eq!(normalize("a/b", "/x/y").as_deref(), Some("x/y"));
        assert_eq!(normalize("", "../etc/passwd"), None);
        assert_eq!(normalize("a", "../../x"), None);
        assert_eq!(normalize("", "./").as_deref(), Some(""));
    }
}

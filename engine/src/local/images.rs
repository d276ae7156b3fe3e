//! Images for `LocalEngine`: list, inspect, history and tag over the store, and the async
//! wrappers of the blocking image and registry code (load, save, import, pull, push), which
//! run it off the runtime here so that `crate::image` and `crate::registry` stay plain
//! functions over the store.
use std::collections::BTreeMap;

use tokio_util::io::SyncIoBridge;

use crate::api::*;
use crate::image::commit::read_config;
use crate::image::reference::{Reference, familiar_tagged};
use crate::local::{Inner, LocalEngine, summary};
use crate::registry::Offload;
use crate::registry::pull::Target;

pub(crate) fn list(i: &Inner, opts: &ImageListOptions) -> Result<Vec<ImageSummary>> {
    let users = crate::store::containers::count_by_image(&i.images.db())?;
    let mut out = Vec::new();
    for rec in i.images.list()? {
        let dangling = rec.tags.is_empty();
        if let Some(want) = opts.dangling
            && want != dangling
        {
            continue;
        }
        if !opts.reference.is_empty() {
            let names: Vec<String> = rec.tags.iter().map(|t| familiar_tagged(t)).collect();
            let hit = names.iter().any(|n| {
                let (repo, _) = split_tag(n);
                opts.reference.iter().any(|p| glob_match(p, n) || glob_match(p, repo))
            });
            if !hit {
                continue;
            }
        }
        let used = users.get(rec.id.as_str()).copied().unwrap_or(0);
        out.push(summary(&rec, used as i64));
    }
    Ok(out)
}

fn split_tag(n: &str) -> (&str, Option<&str>) {
    let slash = n.rfind('/').map(|x| x + 1).unwrap_or(0);
    match n[slash..].rfind(':') {
        Some(c) => (&n[..slash + c], Some(&n[slash + c + 1..])),
        None => (n, None),
    }
}

/// Shell-style glob (`*`, `?`) where `*` does not cross `/`, as docker's reference filter.
pub fn glob_match(pat: &str, s: &str) -> bool {
    fn m(p: &[u8], s: &[u8]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some(b'*'), _) => m(&p[1..], s) || (!s.is_empty() && s[0] != b'/' && m(p, &s[1..])),
            (Some(b'?'), Some(c)) if *c != b'/' => m(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => m(&p[1..], &s[1..]),
            _ => false,
        }
    }
    m(pat.as_bytes(), s.as_bytes())
}

fn rfc3339(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

pub(crate) fn inspect(i: &Inner, name: &str) -> Result<ImageInspect> {
    let rec = i.resolve_image(name)?;
    let (_, cfg) = read_config(&i.images, &rec.id)?;
    let layers = i.images.image_layers(&rec)?;
    let snaps = i.images.snapshots.root();
    let lower: Vec<String> = layers.iter().rev().skip(1).map(|l| snaps.join(&l.snapshot).join("fs").display().to_string()).collect();
    let mut data = BTreeMap::new();
    if let Some(top) = layers.last() {
        data.insert("UpperDir".to_string(), snaps.join(&top.snapshot).join("fs").display().to_string());
        if !lower.is_empty() {
            data.insert("LowerDir".to_string(), lower.join(":"));
        }
    }
    Ok(ImageInspect {
        id: rec.id.to_string(),
        repo_tags: rec.tags.iter().map(|t| familiar_tagged(t)).collect(),
        repo_digests: rec.repo_digests.iter().map(|t| familiar_tagged(t)).collect(),
        parent: String::new(),
        comment: cfg.history.as_ref().and_then(|h| h.last()).and_then(|h| h.comment.clone()).unwrap_or_default(),
        created: cfg.created.clone().unwrap_or_else(|| rfc3339(rec.created)),
        docker_version: String::new(),
        author: cfg.author.clone().unwrap_or_default(),
        config: cfg.config.clone().unwrap_or_default(),
        architecture: cfg.architecture.clone(),
        variant: cfg.variant.clone().filter(|v| !v.is_empty()),
        os: cfg.os.clone(),
        size: rec.size,
        graph_driver: GraphDriver { name: "overlay2".into(), data },
        root_fs: RootFsInspect { kind: "layers".into(), layers: rec.layers.iter().map(|d| d.to_string()).collect() },
        metadata: ImageMetadata { last_tag_time: rfc3339(rec.added) },
    })
}

pub(crate) fn history(i: &Inner, name: &str) -> Result<Vec<HistoryItem>> {
    let rec = i.resolve_image(name)?;
    let (_, cfg) = read_config(&i.images, &rec.id)?;
    let layers = i.images.image_layers(&rec)?;
    let mut sizes = layers.iter().map(|l| l.size);
    let hist = cfg.history.clone().unwrap_or_default();
    let mut out: Vec<HistoryItem> = if hist.is_empty() {
        layers
            .iter()
            .map(|l| HistoryItem {
                id: String::new(),
                created: rec.created,
                created_by: String::new(),
                size: l.size,
                comment: String::new(),
                empty_layer: false,
            })
            .collect()
    } else {
        hist.iter()
            .map(|h| {
                let empty = h.empty_layer.unwrap_or(false);
                HistoryItem {
                    id: String::new(),
                    created: h.created.as_deref().map(crate::image::config::parse_time).unwrap_or(rec.created),
                    created_by: h.created_by.clone().unwrap_or_default(),
                    size: if empty { 0 } else { sizes.next().unwrap_or(0) },
                    comment: h.comment.clone().unwrap_or_default(),
                    empty_layer: empty,
                }
            })
            .collect()
    };
    out.reverse();
    for (n, h) in out.iter_mut().enumerate() {
        h.id = if n == 0 { rec.id.to_string() } else { "<missing>".to_string() };
    }
    Ok(out)
}

pub(crate) fn tag(i: &Inner, source: &str, target: &str) -> Result<()> {
    let target = Reference::parse_tagged(target)?;
    let name = target.tagged_name().ok_or_else(|| EngineError::InvalidArgument(format!("{target} has no tag")))?;
    let rec = i.resolve_image(source)?;
    i.images.tag(&rec.id, &name)
}

/// The store pull and push work on, with blocking work on tokio's blocking pool.
pub(crate) fn registry_target(engine: &LocalEngine) -> Target {
    Target { store: engine.inner.images.clone(), offload: Offload::new(tokio::task::spawn_blocking) }
}

pub(crate) async fn load(engine: &LocalEngine, input: ByteReader) -> Result<Vec<String>> {
    let reader = SyncIoBridge::new(input);
    engine.blocking(move |i| crate::image::archive::load(&i.images, i.images.content.ingest_dir(), reader)).await
}

pub(crate) async fn save(engine: &LocalEngine, names: &[String], output: ByteWriter) -> Result<()> {
    let names = names.to_vec();
    let mut writer = SyncIoBridge::new(output);
    engine
        .blocking(move |i| {
            crate::image::archive::save(&i.images, &names, &mut writer)?;
            writer.shutdown().map_err(|e| EngineError::io_ctx("writing the archive", e))
        })
        .await
}

pub(crate) async fn import(
    engine: &LocalEngine,
    input: ByteReader,
    reference: Option<String>,
    changes: Vec<String>,
    message: Option<String>,
) -> Result<String> {
    // Bad arguments are refused before a byte is read.
    let tag = reference.as_deref().map(Reference::parse_tagged).transpose()?;
    let config = crate::image::import::parse_changes(&changes)?;
    let reader = SyncIoBridge::new(input);
    engine.blocking(move |i| crate::image::import::import(&i.images, reader, tag, config, message)).await
}

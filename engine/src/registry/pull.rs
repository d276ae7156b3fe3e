//! Pulling images from a registry into the store, the way docker does: resolve the tag
//! (an index → the platform's manifest), fetch the config, then the layers a few at a
//! time, each streamed into the content store's ingest area with its digest checked
//! before it becomes a blob, and unpacked into a snapshot as soon as it is complete.
//! The image row is written last, so a failed or killed pull leaves no image behind; blobs
//! and layers that did complete are reused by the next attempt.
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::api::{LayerStatus, ProgressEvent, PullOptions};
use crate::error::{EngineError, Result};
use crate::image::commit::{NewImage, commit_image};
use crate::image::config::ImageConfig;
use crate::image::layer::ensure_layer;
use crate::image::reference::Reference;
use crate::image::resolve::resolve;
use crate::registry::manifest::{ACCEPTED, Descriptor, ImageManifest, Manifest, media_type_of};
use crate::registry::platform::Platform;
use crate::registry::{MAX_CONCURRENT, Offload, Progress, Session, is_not_found, spawn_stream};
use crate::store::digest::Digest;
use crate::store::images::ImageStore;

/// The store a pull or push works on, and how it runs blocking work.
#[derive(Clone)]
pub struct Target {
    pub store: Arc<ImageStore>,
    pub offload: Offload,
}

/// Largest manifest or config we accept (real ones are a few kB).
const MAX_DOC: u64 = 8 << 20;

/// Pull `reference` into the store, reporting progress as docker does.
pub fn pull(target: Target, reference: String, opts: PullOptions) -> BoxStream<'static, Result<ProgressEvent>> {
    spawn_stream(move |p| run(target, reference, opts, p))
}

/// Whether the user typed neither tag nor digest (docker then says "Using default tag").
fn typed_no_tag(s: &str) -> bool {
    let last = s.rsplit('/').next().unwrap_or(s);
    !s.contains('@') && !last.contains(':')
}

async fn run(t: Target, reference: String, opts: PullOptions, p: Progress) -> Result<()> {
    let r = Reference::parse(&reference)?;
    let platform = match opts.platform.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Platform::parse(s)?,
        None => Platform::host(),
    };
    if typed_no_tag(&reference) {
        p.message("Using default tag: latest").await;
    }
    let s = Session::new(&r);
    let not_found = |e: oci_client::errors::OciDistributionError| {
        if is_not_found(&e) {
            let what = match s.err(e) {
                EngineError::Registry { message, .. } => message,
                other => other.to_string(),
            };
            // Image-not-found (as Docker reports it), with what the registry said.
            EngineError::ImageNotFound(format!("{} (registry {}: not found: {what})", familiar_ref(&r), r.registry))
        } else {
            s.err(e)
        }
    };
    let (top_bytes, top_digest) = s.client.pull_manifest_raw(&s.oci_ref, &s.auth, ACCEPTED).await.map_err(not_found)?;
    let top_digest = Digest::parse(&top_digest)?;
    check_digest(&top_bytes, &top_digest, "manifest")?;
    let at = r.tag.clone().unwrap_or_else(|| top_digest.to_string());
    p.message(format!("{at}: Pulling from {}", r.repository)).await;

    let top_type = media_type_of(&top_bytes, None);
    let (bytes, digest, media_type, manifest) = match Manifest::parse(&top_bytes, &top_type)? {
        Manifest::Image(m) => (top_bytes.to_vec(), top_digest.clone(), top_type, m),
        Manifest::Index(idx) => {
            let entry = platform
                .select(&idx.manifests)
                .ok_or_else(|| EngineError::NoMatchingPlatform { reference: familiar_ref(&r), platform: platform.to_string() })?;
            let (b, d) = s.client.pull_manifest_raw(&s.at_digest(entry.digest.as_str()), &s.auth, ACCEPTED).await.map_err(not_found)?;
            let d = Digest::parse(&d)?;
            check_digest(&b, &entry.digest, "platform manifest")?;
            let mt = media_type_of(&b, Some(&entry.media_type));
            match Manifest::parse(&b, &mt)? {
                Manifest::Image(m) => (b.to_vec(), d, mt, m),
                Manifest::Index(_) => return Err(EngineError::InvalidImage(format!("{} points to a nested index", entry.digest))),
            }
        }
    };

    let store = &t.store;
    let cfg_bytes = fetch_config(&s, &t, &manifest).await?;
    let cfg = ImageConfig::parse(&cfg_bytes)?;
    let diff_ids = cfg.diff_ids()?;
    if diff_ids.len() != manifest.layers.len() {
        return Err(EngineError::InvalidImage(format!(
            "manifest {digest} lists {} layers but its config has {} diff_ids",
            manifest.layers.len(),
            diff_ids.len()
        )));
    }

    // One job per distinct layer; "Already exists" for layers we have unpacked.
    let mut jobs: Vec<(Descriptor, Digest)> = Vec::new();
    for (desc, diff) in manifest.layers.iter().zip(&diff_ids) {
        if jobs.iter().any(|(d, _)| d.digest == desc.digest) {
            continue;
        }
        if store.layer(diff)?.is_some() {
            p.layer(desc.digest.short(), LayerStatus::AlreadyExists, 0, None).await;
        } else {
            p.layer(desc.digest.short(), LayerStatus::Waiting, 0, Some(desc.size)).await;
            jobs.push((desc.clone(), diff.clone()));
        }
    }
    let downloaded = !jobs.is_empty();
    stream::iter(jobs.into_iter().map(|(desc, diff)| fetch_layer(&s, &t, desc, diff, &p)))
        .buffer_unordered(MAX_CONCURRENT)
        .try_collect::<Vec<()>>()
        .await?;

    let tags = if r.digest.is_none() { vec![r.clone()] } else { Vec::new() };
    let repo_digest = format!("{}@{}", r.name(), top_digest);
    let config_digest = manifest.config.digest.clone();
    let name = r.to_string();
    let store = t.store.clone();
    let (id, up_to_date) = t
        .offload
        .run(move || {
            let before = resolve(&store, &name).ok().map(|x| x.id);
            let m = store.content.put_bytes(&bytes)?;
            if m != digest {
                return Err(EngineError::DigestMismatch { what: "manifest".into(), expected: digest.to_string(), actual: m.to_string() });
            }
            let id =
                commit_image(&store, &NewImage { config_digest, manifest: Some((m, media_type)), tags, repo_digest: Some(repo_digest) })?;
            Ok((id.clone(), before.as_ref() == Some(&id)))
        })
        .await?;
    p.message(format!("Digest: {top_digest}")).await;
    if up_to_date && !downloaded {
        p.message(format!("Status: Image is up to date for {}", familiar_ref(&r))).await;
    } else {
        p.message(format!("Status: Downloaded newer image for {}", familiar_ref(&r))).await;
    }
    p.send(ProgressEvent::Pulled { reference: r.to_string(), image_id: id.to_string(), digest: Some(top_digest.to_string()) }).await;
    Ok(())
}

/// `busybox:latest`, `127.0.0.1:5000/x@sha256:…` as docker prints them.
fn familiar_ref(r: &Reference) -> String {
    let mut s = r.familiar_name();
    if let Some(t) = &r.tag {
        s = format!("{s}:{t}");
    }
    if let Some(d) = &r.digest {
        s = format!("{s}@{d}");
    }
    s
}

fn check_digest(bytes: &[u8], want: &Digest, what: &str) -> Result<()> {
    let got = Digest::of(bytes);
    if &got != want {
        return Err(EngineError::DigestMismatch { what: what.to_string(), expected: want.to_string(), actual: got.to_string() });
    }
    Ok(())
}

async fn fetch_config(s: &Session, t: &Target, m: &ImageManifest) -> Result<Vec<u8>> {
    let d = m.config.digest.clone();
    let content = &t.store.content;
    if content.contains(&d) {
        let bytes = content.read(&d)?;
        if Digest::of(&bytes) == d {
            return Ok(bytes);
        }
    }
    if m.config.size > MAX_DOC {
        return Err(EngineError::InvalidImage(format!("image config {d} is {} bytes, more than berth accepts", m.config.size)));
    }
    let mut buf: Vec<u8> = Vec::with_capacity(m.config.size as usize);
    s.client.pull_blob(&s.oci_ref, d.as_str(), &mut buf).await.map_err(|e| s.err(e))?;
    check_digest(&buf, &d, "image config")?;
    let bytes = buf.clone();
    let store = t.store.clone();
    t.offload.run(move || store.content.put_bytes(&buf).map(|_| ())).await?;
    Ok(bytes)
}

async fn fetch_layer(s: &Session, t: &Target, desc: Descriptor, diff_id: Digest, p: &Progress) -> Result<()> {
    let id = desc.digest.short().to_string();
    let content = &t.store.content;
    let have = content.contains(&desc.digest) && content.size(&desc.digest).ok() == Some(desc.size);
    if !have {
        download(s, t, &desc, p).await?;
    }
    p.layer(&id, LayerStatus::DownloadComplete, desc.size, Some(desc.size)).await;
    p.layer(&id, LayerStatus::Extracting, 0, Some(desc.size)).await;
    let (blob, mt) = (desc.digest.clone(), desc.media_type.clone());
    let store = t.store.clone();
    t.offload.run(move || ensure_layer(&store, &blob, &mt, Some(&diff_id)).map(|_| ())).await?;
    p.layer(&id, LayerStatus::PullComplete, desc.size, Some(desc.size)).await;
    Ok(())
}

/// Stream one blob into the content store: network chunks go over a bounded channel to a
/// blocking writer (hashing, fsync and the rename happen there), never whole in memory.
async fn download(s: &Session, t: &Target, desc: &Descriptor, p: &Progress) -> Result<()> {
    let id = desc.digest.short().to_string();
    let interrupted =
        |cause: String| EngineError::Registry { registry: s.registry.clone(), message: format!("download of layer {id} failed: {cause}") };
    let mut body = s.client.pull_blob_stream(&s.oci_ref, desc.digest.as_str()).await.map_err(|e| s.err(e))?;
    let writer = t.store.content.writer(Some(desc.digest.clone()), Some(desc.size))?.describe(format!("layer {}", desc.digest));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(64);
    let what = format!("writing layer {}", desc.digest);
    let sink = t.offload.run(move || {
        let mut w = writer;
        while let Some(chunk) = rx.blocking_recv() {
            w.write_all(&chunk).map_err(|e| EngineError::io_ctx(what.clone(), e))?;
        }
        Ok(w)
    });
    let mut got = 0u64;
    let mut last = Instant::now() - Duration::from_secs(1);
    let mut failure = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(c) => {
                got += c.len() as u64;
                if got > desc.size {
                    failure = Some(EngineError::SizeMismatch { what: format!("layer {}", desc.digest), expected: desc.size, actual: got });
                    break;
                }
                if tx.send(c).await.is_err() {
                    break;
                }
                if last.elapsed() >= Duration::from_millis(100) {
                    last = Instant::now();
                    p.layer(&id, LayerStatus::Downloading, got, Some(desc.size)).await;
                }
            }
            Err(e) => {
                let mut cause: &dyn std::error::Error = &e;
                while let Some(n) = cause.source() {
                    cause = n;
                }
                failure = Some(interrupted(cause.to_string()));
                break;
            }
        }
    }
    drop(tx);
    let w = sink.await?;
    if let Some(f) = failure {
        drop(w);
        return Err(f);
    }
    if got < desc.size {
        drop(w);
        return Err(interrupted(format!("connection closed after {got} of {} bytes", desc.size)));
    }
    p.layer(&id, LayerStatus::Downloading, got, Some(desc.size)).await;
    p.layer(&id, LayerStatus::Verifying, got, Some(desc.size)).await;
    t.offload.run(move || w.commit().map(|_| ())).await
}

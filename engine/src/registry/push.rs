//! Pushing images from the store to a registry. An image pulled and left unchanged is
//! pushed byte for byte (same manifest, same digest). Otherwise berth writes a Docker v2.2
//! manifest (what dockerd 20.10 pulls), gzipping first any layer it only holds
//! uncompressed or as zstd (Docker v2.2 has no zstd type). Blobs the registry already has
//! are skipped; the others are streamed from the content store (one monolithic PUT each,
//! which the Debian registry handles best), then the manifest goes last.
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::api::{LayerStatus, ProgressEvent};
use crate::error::{EngineError, Result};
use crate::image::commit::{NewImage, commit_image};
use crate::image::compression::{Compression, decompress};
use crate::image::reference::Reference;
use crate::image::resolve::resolve;
use crate::registry::manifest::{DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, Descriptor, ImageManifest, OCI_INDEX, media_type_of};
use crate::registry::pull::Target;
use crate::registry::{MAX_CONCURRENT, Progress, Session, spawn_stream};
use crate::store::digest::Digest;
use crate::store::images::{ImageRecord, ImageStore, LayerBlob};

/// Push the image tagged `reference` to its registry, reporting progress as docker does.
pub fn push(target: Target, reference: String) -> BoxStream<'static, Result<ProgressEvent>> {
    spawn_stream(move |p| run(target, reference, p))
}

/// What goes to the registry: blobs (layers bottom first, then the config) and the manifest.
struct Plan {
    blobs: Vec<Descriptor>,
    manifest: Vec<u8>,
    media_type: String,
}

async fn run(t: Target, reference: String, p: Progress) -> Result<()> {
    let r = Reference::parse_tagged(&reference)?;
    let name = r.to_string();
    let store = t.store.clone();
    let rec = t
        .offload
        .run(move || match resolve(&store, &name) {
            Err(EngineError::ImageNotFound(_)) => {
                Err(EngineError::ImageNotFound(format!("{name} (an image does not exist locally with this tag)")))
            }
            other => other,
        })
        .await?;
    p.message(format!("The push refers to repository [{}]", r.name())).await;
    let plan = {
        let (rec, store) = (rec.clone(), t.store.clone());
        t.offload.run(move || plan(&store, &rec)).await?
    };
    let s = Session::new(&r);
    s.client.store_auth_if_needed(s.oci_ref.resolve_registry(), &s.auth).await;
    for b in plan.blobs.iter().take(plan.blobs.len() - 1) {
        p.layer(b.digest.short(), LayerStatus::Preparing, 0, None).await;
    }
    let (layers, config) = plan.blobs.split_at(plan.blobs.len() - 1);
    let sources = mount_sources(&r, &rec);
    let uploads: Vec<_> = layers.iter().map(|b| futures_util::FutureExt::boxed(upload(&s, &t.store, b, &p, &sources, true))).collect();
    stream::iter(uploads).buffer_unordered(MAX_CONCURRENT).try_collect::<Vec<()>>().await?;
    upload(&s, &t.store, &config[0], &p, &[], false).await?;

    let header = reqwest::header::HeaderValue::from_str(&plan.media_type)
        .map_err(|_| EngineError::InvalidImage(format!("bad manifest media type {:?}", plan.media_type)))?;
    s.client.push_manifest_raw(&s.oci_ref, plan.manifest.clone(), header).await.map_err(|e| s.err(e))?;
    let digest = Digest::of(&plan.manifest);
    let size = plan.manifest.len() as u64;
    {
        let (id, bytes, mt, rd) = (rec.id.clone(), plan.manifest, plan.media_type, format!("{}@{}", r.name(), digest));
        let store = t.store.clone();
        t.offload
            .run(move || {
                let m = store.content.put_bytes(&bytes)?;
                commit_image(&store, &NewImage { config_digest: id, manifest: Some((m, mt)), tags: Vec::new(), repo_digest: Some(rd) })?;
                Ok(())
            })
            .await?;
    }
    p.send(ProgressEvent::Pushed { reference: r.to_string(), digest: digest.to_string(), size }).await;
    Ok(())
}

/// The image's own manifest when we hold it and every blob it names; else a new one.
fn plan(store: &ImageStore, rec: &ImageRecord) -> Result<Plan> {
    let content = &store.content;
    if let Some(md) = &rec.manifest_digest
        && content.contains(md)
    {
        let bytes = content.read(md)?;
        let mt = rec.manifest_media_type.clone().unwrap_or_else(|| media_type_of(&bytes, None));
        if mt != OCI_INDEX
            && mt != DOCKER_LIST
            && let Ok(m) = serde_json::from_slice::<ImageManifest>(&bytes)
            && m.config.digest == rec.id
            && m.layers.iter().all(|l| content.contains(&l.digest))
        {
            let mut blobs = m.layers.clone();
            blobs.push(m.config.clone());
            return Ok(Plan { blobs, manifest: bytes, media_type: mt });
        }
    }
    let mut layers = Vec::new();
    for diff in &rec.layers {
        layers.push(gzip_blob(store, diff)?);
    }
    let config = Descriptor {
        media_type: DOCKER_CONFIG.to_string(),
        digest: rec.id.clone(),
        size: content.size(&rec.id)?,
        platform: None,
        urls: None,
    };
    let m =
        ImageManifest { schema_version: 2, media_type: Some(DOCKER_MANIFEST.to_string()), config: config.clone(), layers: layers.clone() };
    let bytes = serde_json::to_vec_pretty(&m).map_err(|e| EngineError::Json { what: "encoding the manifest".into(), source: e })?;
    let mut blobs = layers;
    blobs.push(config);
    Ok(Plan { blobs, manifest: bytes, media_type: DOCKER_MANIFEST.to_string() })
}

fn sniff(store: &ImageStore, d: &Digest) -> Result<Compression> {
    let mut head = [0u8; 4];
    let mut f = store.content.open_blob(d)?;
    let n = f.read(&mut head).map_err(|e| EngineError::io(store.content.path(d), e))?;
    Ok(Compression::sniff(&head[..n]))
}

/// A gzip blob of layer `diff`, made (and recorded) from whatever form we hold if needed.
fn gzip_blob(store: &ImageStore, diff: &Digest) -> Result<Descriptor> {
    const GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    let blobs = store.layer_blobs(diff)?;
    for b in &blobs {
        if sniff(store, &b.digest)? == Compression::Gzip {
            return Ok(Descriptor { media_type: GZIP.to_string(), digest: b.digest.clone(), size: b.size, platform: None, urls: None });
        }
    }
    let src = blobs.first().ok_or_else(|| {
        EngineError::InvalidImage(format!("layer {diff} has no blob in the content store to push (pull or load the image again)"))
    })?;
    let what = format!("layer {}", src.digest);
    let (_, mut plain) = decompress(store.content.open_blob(&src.digest)?, &what)?;
    let w = store.content.writer(None, None)?;
    let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
    std::io::copy(&mut plain, &mut gz).map_err(|e| EngineError::io_ctx(format!("compressing {what}"), e))?;
    let mut w = gz.finish().map_err(|e| EngineError::io_ctx(format!("compressing {what}"), e))?;
    w.flush().map_err(|e| EngineError::io_ctx(format!("compressing {what}"), e))?;
    let (digest, size) = w.commit()?;
    store.add_layer_blob(&LayerBlob { digest: digest.clone(), diff_id: diff.clone(), media_type: GZIP.to_string(), size })?;
    Ok(Descriptor { media_type: GZIP.to_string(), digest, size, platform: None, urls: None })
}

/// Other repositories of the same registry this image came from or was pushed to: the
/// registry can link a blob from there instead of receiving it again (docker's "Mounted from").
fn mount_sources(r: &Reference, rec: &ImageRecord) -> Vec<oci_client::Reference> {
    let mut out: Vec<oci_client::Reference> = Vec::new();
    for name in rec.repo_digests.iter().chain(&rec.tags) {
        let Ok(o) = Reference::parse(name) else { continue };
        if o.registry == r.registry && o.repository != r.repository && !out.iter().any(|x| x.repository() == o.repository) {
            out.push(oci_client::Reference::with_tag(o.registry, o.repository, "latest".into()));
        }
    }
    out
}

/// Upload one blob unless the registry has it (or can mount it from `sources`). The config
/// shows no progress line (`show`), as in docker.
async fn upload(
    s: &Session,
    store: &ImageStore,
    b: &Descriptor,
    p: &Progress,
    sources: &[oci_client::Reference],
    show: bool,
) -> Result<()> {
    let id = b.digest.short().to_string();
    if s.client.blob_exists(&s.oci_ref, b.digest.as_str()).await.map_err(|e| s.err(e))? {
        if show {
            p.layer(&id, LayerStatus::Mounted, b.size, Some(b.size)).await;
        }
        return Ok(());
    }
    for src in sources {
        if s.client.mount_blob(&s.oci_ref, src, b.digest.as_str()).await.is_ok() {
            if show {
                p.layer(&id, LayerStatus::Mounted, b.size, Some(b.size)).await;
            }
            return Ok(());
        }
    }
    let path = store.content.path(&b.digest);
    let file = tokio::fs::File::open(&path).await.map_err(|e| EngineError::io(&path, e))?;
    let (total, pp, sid) = (b.size, p.clone(), id.clone());
    let mut sent = 0u64;
    let mut last = Instant::now() - Duration::from_secs(1);
    let body = tokio_util::io::ReaderStream::with_capacity(file, 256 * 1024).map(move |chunk| {
        if let Ok(c) = &chunk {
            sent += c.len() as u64;
            if show && last.elapsed() >= Duration::from_millis(100) {
                last = Instant::now();
                pp.try_layer(&sid, LayerStatus::Pushing, sent, Some(total));
            }
        }
        chunk.map_err(oci_client::errors::OciDistributionError::IoError)
    });
    s.client.push_blob_stream(&s.oci_ref, body, b.digest.as_str(), Some(b.size)).await.map_err(|e| s.err(e))?;
    if show {
        p.layer(&id, LayerStatus::Pushed, b.size, Some(b.size)).await;
    }
    Ok(())
}

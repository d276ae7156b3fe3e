//! Image verbs over the Docker Engine API.
use std::collections::HashMap;

use bollard::query_parameters::{
    CreateImageOptionsBuilder, ImportImageOptionsBuilder, ListImagesOptionsBuilder, PruneImagesOptionsBuilder, PushImageOptionsBuilder,
    RemoveImageOptionsBuilder, TagImageOptionsBuilder,
};
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio_util::io::ReaderStream;

use super::{DockerBackend, NotFound, describe, map_err};
use crate::api::*;
use crate::image::reference::Reference;

/// dockerd's pull messages for a tag or repository the registry does not have
/// ("manifest for x:y not found: manifest unknown", "repository x not found: name unknown",
/// Docker Hub's "pull access denied for x, repository does not exist").
fn pull_not_found(msg: &str) -> bool {
    let m = msg.to_lowercase();
    ["manifest unknown", "name unknown", "not found", "repository does not exist"].iter().any(|p| m.contains(p))
}

fn other(e: bollard::errors::Error) -> EngineError {
    EngineError::Other(describe(&e))
}

pub(super) async fn list(d: &DockerBackend, opts: &ImageListOptions) -> Result<Vec<ImageSummary>> {
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    if let Some(v) = opts.dangling {
        filters.insert("dangling".into(), vec![v.to_string()]);
    }
    if !opts.reference.is_empty() {
        filters.insert("reference".into(), opts.reference.clone());
    }
    let o = ListImagesOptionsBuilder::default().all(opts.all).filters(&filters).build();
    let list = d.client.list_images(Some(o)).await.map_err(other)?;
    // dockerd reports -1 here (it counts only for `system df`): count the containers, as
    // `system df -v` does, from the container list.
    let mut users: HashMap<String, i64> = HashMap::new();
    if list.iter().any(|i| i.containers < 0) {
        let all = bollard::query_parameters::ListContainersOptionsBuilder::default().all(true).build();
        for c in d.client.list_containers(Some(all)).await.map_err(other)? {
            *users.entry(c.image_id.unwrap_or_default()).or_default() += 1;
        }
    }
    Ok(list
        .into_iter()
        .map(|i| ImageSummary {
            containers: if i.containers < 0 { users.get(&i.id).copied().unwrap_or(0) } else { i.containers },
            id: i.id,
            repo_tags: i.repo_tags.into_iter().filter(|t| t != "<none>:<none>").collect(),
            repo_digests: i.repo_digests.into_iter().filter(|t| t != "<none>@<none>").collect(),
            created: i.created,
            size: i.size.max(0) as u64,
        })
        .collect())
}

pub(super) async fn inspect(d: &DockerBackend, name: &str) -> Result<ImageInspect> {
    let i = d.client.inspect_image(name).await.map_err(map_err(name, NotFound::Image))?;
    // bollard's model serialises with the API's field names, which ours share.
    let v = serde_json::to_value(i).map_err(|e| EngineError::Other(format!("decoding image {name}: {e}")))?;
    serde_json::from_value(v).map_err(|e| EngineError::Other(format!("decoding image {name}: {e}")))
}

pub(super) async fn history(d: &DockerBackend, name: &str) -> Result<Vec<HistoryItem>> {
    let h = d.client.image_history(name).await.map_err(map_err(name, NotFound::Image))?;
    Ok(h.into_iter()
        .map(|i| HistoryItem {
            id: i.id,
            created: i.created,
            created_by: i.created_by,
            size: i.size.max(0) as u64,
            comment: i.comment,
            empty_layer: i.size == 0,
        })
        .collect())
}

pub(super) async fn tag(d: &DockerBackend, source: &str, target: &str) -> Result<()> {
    let r = Reference::parse_tagged(target)?;
    let o = TagImageOptionsBuilder::default().repo(&r.familiar_name()).tag(r.tag.as_deref().unwrap_or("latest")).build();
    d.client.tag_image(source, Some(o)).await.map_err(map_err(source, NotFound::Image))
}

pub(super) async fn remove(d: &DockerBackend, name: &str, force: bool) -> Result<Vec<RemovedImage>> {
    let o = RemoveImageOptionsBuilder::default().force(force).build();
    let items = d.client.remove_image(name, Some(o), None).await.map_err(map_err(name, NotFound::Image))?;
    Ok(items
        .into_iter()
        .flat_map(|i| {
            let mut v = Vec::new();
            if let Some(u) = i.untagged {
                v.push(RemovedImage::Untagged(u));
            }
            if let Some(x) = i.deleted {
                v.push(RemovedImage::Deleted(x));
            }
            v
        })
        .collect())
}

pub(super) async fn prune(d: &DockerBackend, all: bool) -> Result<PruneReport> {
    let mut filters: HashMap<String, Vec<String>> = HashMap::new();
    filters.insert("dangling".into(), vec![(!all).to_string()]);
    let r = d.client.prune_images(Some(PruneImagesOptionsBuilder::default().filters(&filters).build())).await.map_err(other)?;
    let removed = r
        .images_deleted
        .unwrap_or_default()
        .into_iter()
        .flat_map(|i| {
            let mut v = Vec::new();
            if let Some(u) = i.untagged {
                v.push(RemovedImage::Untagged(u));
            }
            if let Some(x) = i.deleted {
                v.push(RemovedImage::Deleted(x));
            }
            v
        })
        .collect();
    Ok(PruneReport { removed, space_reclaimed: r.space_reclaimed.unwrap_or(0).max(0) as u64 })
}

/// Docker's progress JSON → our events. Layer lines carry a 12-hex id.
fn progress(id: Option<String>, status: Option<String>, current: Option<i64>, total: Option<i64>) -> Option<ProgressEvent> {
    let status = status?;
    let layer = id.filter(|i| i.len() == 12 && i.bytes().all(|b| b.is_ascii_hexdigit()));
    let Some(id) = layer else { return Some(ProgressEvent::Message(status)) };
    let st = match status.as_str() {
        "Waiting" => LayerStatus::Waiting,
        "Already exists" => LayerStatus::AlreadyExists,
        "Pulling fs layer" => LayerStatus::Waiting,
        "Downloading" => LayerStatus::Downloading,
        "Verifying Checksum" => LayerStatus::Verifying,
        "Download complete" => LayerStatus::DownloadComplete,
        "Extracting" => LayerStatus::Extracting,
        "Pull complete" => LayerStatus::PullComplete,
        "Preparing" => LayerStatus::Preparing,
        "Pushing" => LayerStatus::Pushing,
        "Pushed" => LayerStatus::Pushed,
        "Layer already exists" | "Mounted from" => LayerStatus::Mounted,
        s if s.starts_with("Mounted from") => LayerStatus::Mounted,
        _ => return Some(ProgressEvent::Message(format!("{id}: {status}"))),
    };
    Some(ProgressEvent::Layer {
        id,
        status: st,
        current: current.unwrap_or(0).max(0) as u64,
        total: total.filter(|t| *t > 0).map(|t| t as u64),
    })
}

fn credentials_for(r: &Reference) -> Option<bollard::auth::DockerCredentials> {
    crate::registry::auth::lookup(&r.registry).map(|c| bollard::auth::DockerCredentials {
        username: Some(c.username),
        password: Some(c.password),
        serveraddress: Some(r.registry.clone()),
        ..Default::default()
    })
}

pub(super) fn pull(d: DockerBackend, reference: String, opts: PullOptions) -> BoxStream<'static, Result<ProgressEvent>> {
    let r = match Reference::parse(&reference) {
        Ok(r) => r,
        Err(e) => return stream::once(async { Err(e) }).boxed(),
    };
    let image = match (&r.digest, &r.tag) {
        (Some(dg), _) => format!("{}@{dg}", r.familiar_name()),
        (None, Some(t)) => format!("{}:{t}", r.familiar_name()),
        (None, None) => r.familiar_name(),
    };
    let mut b = CreateImageOptionsBuilder::default().from_image(&image);
    if let Some(p) = &opts.platform {
        b = b.platform(p);
    }
    let creds = credentials_for(&r);
    let client = d.client.clone();
    let s = client.create_image(Some(b.build()), None, creds);
    let tail = {
        let image = image.clone();
        stream::once(async move {
            let i = d.client.inspect_image(&image).await.map_err(map_err(&image, NotFound::Image))?;
            Ok(ProgressEvent::Pulled {
                reference: image,
                image_id: i.id.unwrap_or_default(),
                digest: i.repo_digests.and_then(|v| v.into_iter().next()),
            })
        })
    };
    let img = image.clone();
    s.filter_map(move |item| {
        let img = img.clone();
        async move {
            match item {
                Ok(i) => progress(
                    i.id,
                    i.status,
                    i.progress_detail.as_ref().and_then(|p| p.current),
                    i.progress_detail.as_ref().and_then(|p| p.total),
                )
                .map(Ok),
                Err(e) => Some(Err(match &e {
                    bollard::errors::Error::DockerResponseServerError { status_code: 404, message } => {
                        EngineError::ImageNotFound(format!("{img}: {message}"))
                    }
                    // A registry's "no such tag/repository" arrives mid-stream (HTTP 200).
                    bollard::errors::Error::DockerStreamError { error } if pull_not_found(error) => {
                        EngineError::ImageNotFound(format!("{img}: {error}"))
                    }
                    _ => other(e),
                })),
            }
        }
    })
    .chain(tail)
    .scan(false, |failed, item| {
        // Stop after the first error: the tail must not run for a failed pull.
        if *failed {
            return futures_util::future::ready(None);
        }
        *failed = item.is_err();
        futures_util::future::ready(Some(item))
    })
    .boxed()
}

pub(super) fn push(d: DockerBackend, reference: String) -> BoxStream<'static, Result<ProgressEvent>> {
    let r = match Reference::parse_tagged(&reference) {
        Ok(r) => r,
        Err(e) => return stream::once(async { Err(e) }).boxed(),
    };
    let name = r.familiar_name();
    let tag = r.tag.clone().unwrap_or_else(|| "latest".into());
    // dockerd insists on an X-Registry-Auth header, even an empty one.
    let creds = credentials_for(&r).unwrap_or_default();
    let o = PushImageOptionsBuilder::default().tag(&tag).build();
    let full = format!("{name}:{tag}");
    d.client
        .push_image(&name, Some(o), Some(creds))
        .filter_map(move |item| {
            let full = full.clone();
            async move {
                match item {
                    Ok(i) => {
                        if let Some(e) = i.error_detail.and_then(|e| e.message) {
                            return Some(Err(EngineError::Registry { registry: full, message: e }));
                        }
                        let status = i.status.clone().unwrap_or_default();
                        // "latest: digest: sha256:… size: 527"
                        if let Some(rest) = status.split_once(": digest: ").map(|x| x.1) {
                            let mut it = rest.split_whitespace();
                            let digest = it.next().unwrap_or_default().to_string();
                            let size = it.nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                            return Some(Ok(ProgressEvent::Pushed { reference: full, digest, size }));
                        }
                        // bollard's push model drops the layer id: report statuses as text.
                        i.status.map(|s| Ok(ProgressEvent::Message(s)))
                    }
                    Err(e) => Some(Err(other(e))),
                }
            }
        })
        .boxed()
}

pub(super) async fn load(d: &DockerBackend, input: ByteReader) -> Result<Vec<String>> {
    let body = ReaderStream::new(input);
    let o = ImportImageOptionsBuilder::default().quiet(true).build();
    let mut s = d.client.import_image_stream(o, body, None);
    let mut out = Vec::new();
    while let Some(item) = s.next().await {
        let i = item.map_err(other)?;
        if let Some(e) = i.error_detail.and_then(|e| e.message) {
            return Err(EngineError::InvalidArchive(e));
        }
        for line in i.stream.unwrap_or_default().lines() {
            if let Some(n) = line.strip_prefix("Loaded image: ").or_else(|| line.strip_prefix("Loaded image ID: ")) {
                out.push(n.trim().to_string());
            }
        }
    }
    Ok(out)
}

pub(super) async fn import(
    d: &DockerBackend,
    input: ByteReader,
    reference: Option<String>,
    changes: Vec<String>,
    message: Option<String>,
) -> Result<String> {
    let mut b = CreateImageOptionsBuilder::default().from_src("-").changes(changes.clone());
    if let Some(r) = &reference {
        let r = Reference::parse_tagged(r)?;
        b = b.repo(&r.familiar_name()).tag(r.tag.as_deref().unwrap_or("latest"));
    }
    if let Some(m) = &message {
        b = b.message(m);
    }
    let body = bollard::body_try_stream(ReaderStream::new(input));
    let mut s = d.client.create_image(Some(b.build()), Some(body), None);
    let mut id = String::new();
    while let Some(item) = s.next().await {
        let i = item.map_err(other)?;
        if let Some(st) = i.status.filter(|s| s.starts_with("sha256:")) {
            id = st;
        }
    }
    if id.is_empty() {
        return Err(EngineError::Other("the daemon did not report the imported image's ID".into()));
    }
    Ok(id)
}

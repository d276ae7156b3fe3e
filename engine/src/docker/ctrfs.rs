//! `cp`, `diff`, `export` and `commit` over the Docker Engine API (`/containers/{id}/archive`,
//! `/changes`, `/export`, `/commit`): the daemon resolves paths in the container itself.
use bollard::errors::Error as BollardError;
use bollard::query_parameters::{
    CommitContainerOptionsBuilder, ContainerArchiveInfoOptionsBuilder, DownloadFromContainerOptionsBuilder, UploadToContainerOptionsBuilder,
};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio_util::io::ReaderStream;

use super::{DockerBackend, NotFound, map_err};
use crate::api::*;
use crate::image::reference::Reference;

/// Go's `os.FileMode` (what the daemon reports) to a unix `st_mode`.
fn go_mode(m: u32) -> u32 {
    const DIR: u32 = 1 << 31;
    const SYMLINK: u32 = 1 << 27;
    const DEVICE: u32 = 1 << 26;
    const PIPE: u32 = 1 << 25;
    const SOCKET: u32 = 1 << 24;
    const SETUID: u32 = 1 << 23;
    const SETGID: u32 = 1 << 22;
    const CHARDEV: u32 = 1 << 21;
    const STICKY: u32 = 1 << 20;
    let kind = if m & DIR != 0 {
        libc::S_IFDIR
    } else if m & SYMLINK != 0 {
        libc::S_IFLNK
    } else if m & DEVICE != 0 && m & CHARDEV != 0 {
        libc::S_IFCHR
    } else if m & DEVICE != 0 {
        libc::S_IFBLK
    } else if m & PIPE != 0 {
        libc::S_IFIFO
    } else if m & SOCKET != 0 {
        libc::S_IFSOCK
    } else {
        libc::S_IFREG
    };
    let mut bits = m & 0o777;
    for (go, unix) in [(SETUID, libc::S_ISUID), (SETGID, libc::S_ISGID), (STICKY, libc::S_ISVTX)] {
        if m & go != 0 {
            bits |= unix;
        }
    }
    kind | bits
}

/// A 404 names the path when the container exists (HEAD answers carry no message).
async fn path_err(d: &DockerBackend, id: &str, path: &str, e: BollardError) -> EngineError {
    match &e {
        BollardError::DockerResponseServerError { status_code: 404, message } => {
            if message.contains("Could not find the file") || d.client.inspect_container(id, None).await.is_ok() {
                EngineError::PathNotFound { path: path.to_string(), container: id.to_string() }
            } else {
                EngineError::ContainerNotFound(id.to_string())
            }
        }
        _ => map_err(id, NotFound::Container)(e),
    }
}

pub(super) async fn stat(d: &DockerBackend, id: &str, path: &str) -> Result<PathStat> {
    let o = ContainerArchiveInfoOptionsBuilder::default().path(path).build();
    match d.client.get_container_archive_info(id, Some(o)).await {
        Ok(s) => Ok(PathStat {
            name: s.name,
            size: s.size,
            mode: go_mode(s.file_mode),
            mtime: s.modification_time.unwrap_or_default(),
            link_target: s.link_target,
        }),
        Err(e) => Err(path_err(d, id, path, e).await),
    }
}

pub(super) async fn copy_from(d: &DockerBackend, id: &str, path: &str, mut out: ByteWriter) -> Result<()> {
    let o = DownloadFromContainerOptionsBuilder::default().path(path).build();
    let mut s = d.client.download_from_container(id, Some(o));
    while let Some(chunk) = s.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => return Err(path_err(d, id, path, e).await),
        };
        out.write_all(&chunk).await.map_err(|e| EngineError::io_ctx("writing the archive", e))?;
    }
    out.shutdown().await.map_err(|e| EngineError::io_ctx("writing the archive", e))
}

pub(super) async fn copy_to(d: &DockerBackend, id: &str, path: &str, input: ByteReader, copy_uid_gid: bool) -> Result<()> {
    let mut b = UploadToContainerOptionsBuilder::default().path(path);
    if copy_uid_gid {
        b = b.copy_uidgid("1");
    }
    let body = bollard::body_try_stream(ReaderStream::new(input));
    match d.client.upload_to_container(id, Some(b.build()), body).await {
        Ok(()) => Ok(()),
        Err(BollardError::DockerResponseServerError { status_code: 400, message }) => Err(EngineError::InvalidArgument(message)),
        Err(e) => Err(path_err(d, id, path, e).await),
    }
}

pub(super) async fn changes(d: &DockerBackend, id: &str) -> Result<Vec<FsChange>> {
    let list = d.client.container_changes(id).await.map_err(map_err(id, NotFound::Container))?.unwrap_or_default();
    let mut out: Vec<FsChange> = list
        .into_iter()
        .map(|c| FsChange {
            kind: match c.kind as i32 {
                1 => ChangeKind::Added,
                2 => ChangeKind::Deleted,
                _ => ChangeKind::Modified,
            },
            path: c.path,
        })
        .collect();
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

pub(super) async fn export(d: &DockerBackend, id: &str, mut out: ByteWriter) -> Result<()> {
    let mut s = d.client.export_container(id);
    while let Some(chunk) = s.next().await {
        let chunk = chunk.map_err(map_err(id, NotFound::Container))?;
        out.write_all(&chunk).await.map_err(|e| EngineError::io_ctx("writing the archive", e))?;
    }
    out.shutdown().await.map_err(|e| EngineError::io_ctx("writing the archive", e))
}

pub(super) async fn commit(d: &DockerBackend, id: &str, o: &CommitOptions) -> Result<String> {
    // Refused here as the local engine refuses them, before the daemon is asked.
    let tag = o.reference.as_deref().map(Reference::parse_tagged).transpose()?;
    let mut probe = serde_json::Map::new();
    for c in &o.changes {
        crate::image::import::apply_change(&mut probe, c)?;
    }
    let mut b = CommitContainerOptionsBuilder::default().container(id).pause(o.pause);
    if let Some(r) = &tag {
        b = b.repo(&r.familiar_name()).tag(r.tag.as_deref().unwrap_or("latest"));
    }
    if let Some(a) = &o.author {
        b = b.author(a);
    }
    if let Some(m) = &o.message {
        b = b.comment(m);
    }
    let changes = o.changes.join("\n");
    if !changes.is_empty() {
        b = b.changes(&changes);
    }
    let r = d
        .client
        .commit_container(b.build(), bollard::models::ContainerConfig::default())
        .await
        .map_err(map_err(id, NotFound::Container))?;
    Ok(r.id)
}

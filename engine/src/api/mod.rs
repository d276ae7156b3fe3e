//! The seam: [`ContainerBackend`] is what the dashboard, the CLI and `berth system service`
//! call, and nothing else of the engine. `LocalEngine` implements it in-process,
//! `DockerBackend` over the Docker Engine API, `MultiBackend` over several endpoints. The
//! types (one file per resource) are backend-neutral and serialise the way the Docker API
//! spells them, so `inspect` output is docker-compatible whichever backend produced it.
use std::pin::Pin;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

pub use crate::error::{EngineError, Result};
pub use crate::image::config::ContainerConfig;

mod containers;
mod ctrfs;
mod images;
mod networks;
mod sessions;
mod system;
mod volumes;

pub use containers::*;
pub use ctrfs::*;
pub use images::*;
pub use networks::*;
pub use sessions::*;
pub use system::*;
pub use volumes::*;

/// The host side of `cp` (a tar of a host path; a tar extracted under a host directory
/// without leaving it): the same hardened code the embedded engine uses inside containers.
pub mod host_fs {
    pub use crate::ctrfs::clean;
    pub use crate::ctrfs::tarwrite::{TarOptions, write_tree};
    pub use crate::ctrfs::untar::{Owner, extract};
}

/// Registry credentials as `login` and `logout` keep them (docker's `config.json` format);
/// pulls on either backend read them.
pub mod credentials {
    pub use crate::registry::auth::{file_key, lookup, normalize_server, remove, store};
}

/// docker's rule for volume names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
pub fn valid_volume_name(n: &str) -> bool {
    let b = n.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphanumeric() && b[1..].iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// docker sends `null` for empty lists and maps: read it as empty.
pub(crate) fn null_default<'de, D: serde::Deserializer<'de>, T: Default + serde::Deserialize<'de>>(
    d: D,
) -> std::result::Result<T, D::Error> {
    Ok(<Option<T> as serde::Deserialize>::deserialize(d)?.unwrap_or_default())
}

/// Bytes in (load, import).
pub type ByteReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;
/// Bytes out (save, export).
pub type ByteWriter = Pin<Box<dyn tokio::io::AsyncWrite + Send>>;

/// The one interface every front end uses.
#[async_trait]
pub trait ContainerBackend: Send + Sync {
    /// Human description: "local /var/lib/berth", "docker unix:///var/run/docker.sock".
    fn describe(&self) -> String;

    async fn list_images(&self, opts: &ImageListOptions) -> Result<Vec<ImageSummary>>;
    async fn inspect_image(&self, name: &str) -> Result<ImageInspect>;
    async fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>>;
    /// Pull; the stream ends with [`ProgressEvent::Pulled`] or an error.
    fn pull_image(&self, reference: &str, opts: PullOptions) -> BoxStream<'static, Result<ProgressEvent>>;
    /// Push; the stream ends with [`ProgressEvent::Pushed`] or an error.
    fn push_image(&self, reference: &str) -> BoxStream<'static, Result<ProgressEvent>>;
    async fn tag_image(&self, source: &str, target: &str) -> Result<()>;
    async fn remove_image(&self, name: &str, force: bool) -> Result<Vec<RemovedImage>>;
    async fn prune_images(&self, all: bool) -> Result<PruneReport>;
    /// Load docker-archive or OCI-layout tars; returns the names (or IDs) loaded.
    async fn load_images(&self, input: ByteReader) -> Result<Vec<String>>;
    /// Write a docker-archive tar of the named images.
    async fn save_images(&self, names: &[String], output: ByteWriter) -> Result<()>;
    /// Import a plain rootfs tar as a one-layer image; returns its ID.
    async fn import_image(
        &self,
        input: ByteReader,
        reference: Option<String>,
        changes: Vec<String>,
        message: Option<String>,
    ) -> Result<String>;
    /// Check credentials against a registry (the caller stores them on success).
    async fn login(&self, registry: &str, creds: &Credentials) -> Result<String>;

    /// Create a container (not started); returns its ID.
    async fn create_container(&self, opts: &ContainerCreate) -> Result<String>;
    /// Start a created or exited container; returns when it runs.
    async fn start_container(&self, id: &str) -> Result<()>;
    /// SIGTERM (or the image's stop signal), then SIGKILL after `timeout` seconds (default 10).
    async fn stop_container(&self, id: &str, timeout: Option<u32>) -> Result<()>;
    /// Send a signal (`KILL`, `SIGTERM`, `9`...).
    async fn kill_container(&self, id: &str, signal: &str) -> Result<()>;
    /// Remove; a running container only with `force` (it is killed first).
    async fn remove_container(&self, id: &str, force: bool) -> Result<()>;
    /// `rm -v`: remove the container and its anonymous volumes (named ones stay).
    async fn remove_container_and_volumes(&self, id: &str, force: bool) -> Result<()> {
        let _ = (id, force);
        Err(EngineError::Unsupported("removing a container's volumes on this backend".into()))
    }
    async fn list_containers(&self, opts: &ContainerListOptions) -> Result<Vec<ContainerSummary>>;
    async fn inspect_container(&self, id: &str) -> Result<ContainerInspect>;
    /// Block until the container is not running; its exit code.
    async fn wait_container(&self, id: &str) -> Result<i64>;
    /// The container's output; with `follow` the stream ends when the container does.
    async fn container_logs(&self, id: &str, opts: &LogOptions) -> Result<BoxStream<'static, Result<LogLine>>>;

    /// Live stats: one `Vec` per interval with a sample for each running container named
    /// in `ids` (every running container when empty: new ones join, stopped ones leave).
    /// The first batch comes at once (CPU % is 0 until there is a previous reading).
    fn stats(&self, ids: Vec<String>, interval: std::time::Duration) -> BoxStream<'static, Result<Vec<StatsSample>>>;
    /// The container's processes; `ps_args` empty for the default `ps -ef` columns.
    async fn top(&self, id: &str, ps_args: Vec<String>) -> Result<TopResult>;
    async fn system_info(&self) -> Result<SystemInfo>;
    async fn disk_usage(&self) -> Result<DiskUsage>;
    async fn pause_container(&self, id: &str) -> Result<()>;
    async fn unpause_container(&self, id: &str) -> Result<()>;
    /// Stop (with `timeout` like `stop`) then start.
    async fn restart_container(&self, id: &str, timeout: Option<u32>) -> Result<()>;
    async fn rename_container(&self, id: &str, new_name: &str) -> Result<()>;
    /// Attach to a running container's TTY or stdio (with an initial window size).
    async fn attach_session(&self, id: &str, size: Option<(u16, u16)>) -> Result<Session>;
    /// Start a created or exited container with the caller attached from its first byte
    /// (`run` without `-d`, `start -a`): attach, then start, losing no output. The session's
    /// `exit` is the container's exit code, also for a `--rm` container that is gone by
    /// then. A process that cannot be started is [`EngineError::StartFailed`], with
    /// docker's exit code for it.
    async fn attach_and_start(&self, id: &str, opts: AttachOptions) -> Result<Session> {
        // A backend that cannot attach before the start attaches right after it.
        match self.attach_session(id, opts.size).await {
            Ok(s) => {
                self.start_container(id).await?;
                Ok(s)
            }
            Err(_) => {
                self.start_container(id).await?;
                self.attach_session(id, opts.size).await
            }
        }
    }
    /// Run a process inside a running container.
    async fn exec_session(&self, id: &str, opts: ExecOptions) -> Result<Session>;
    /// Run a process inside a running container in the background (`exec -d`): returns once
    /// it was handed to the container; nobody waits for it.
    async fn exec_detached(&self, id: &str, opts: ExecOptions) -> Result<()> {
        let _ = (id, opts);
        Err(EngineError::Unsupported("exec -d on this backend".into()))
    }
    /// The login shell to exec in this container: its /etc/passwd entry for the user,
    /// else the first of /bin/bash, /bin/sh, /bin/ash, /bin/busybox sh that exists.
    async fn shell(&self, id: &str) -> Result<Vec<String>>;

    // --- Container filesystem: cp, diff, export, commit (docker's archive/changes/export/commit
    // endpoints). Paths are resolved inside the container's root: symlinks never leave it.
    /// What a path in the container is (the symlink itself, not its target: `link_target` says
    /// where it points). Missing: [`EngineError::PathNotFound`].
    async fn stat_container_path(&self, id: &str, path: &str) -> Result<PathStat>;
    /// A tar of `path` whose root entry is named after the path's last component (docker's
    /// `GET /containers/{id}/archive`).
    async fn copy_from_container(&self, id: &str, path: &str, output: ByteWriter) -> Result<()>;
    /// Extract a tar into the existing directory `path` (docker's `PUT /containers/{id}/archive`);
    /// entries are owned by the container's root unless `copy_uid_gid`.
    async fn copy_to_container(&self, id: &str, path: &str, input: ByteReader, copy_uid_gid: bool) -> Result<()>;
    /// Files added, changed and deleted since the container was created, sorted by path.
    async fn container_changes(&self, id: &str) -> Result<Vec<FsChange>>;
    /// A tar of the container's whole filesystem (without its volumes and mounts).
    async fn export_container(&self, id: &str, output: ByteWriter) -> Result<()>;
    /// The container's changes as a new image layer on top of its image; returns the image ID.
    async fn commit_container(&self, id: &str, opts: &CommitOptions) -> Result<String>;
    /// What happens to containers (and, on Docker, images, networks...): past events from
    /// `opts.since`, then live ones until `opts.until` (forever when None). Filters are
    /// docker's (`event=`, `container=`, `type=`); an unknown one is an error item.
    fn events(&self, opts: EventOptions) -> BoxStream<'static, Result<EngineEvent>> {
        let _ = opts;
        Box::pin(futures_util::stream::once(async { Err(EngineError::Unsupported("events on this backend".into())) }))
    }

    // --- Volumes (docker's /volumes endpoints). Names are docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
    async fn list_volumes(&self, opts: &VolumeListOptions) -> Result<Vec<Volume>> {
        let _ = opts;
        Err(EngineError::Unsupported("volumes on this backend".into()))
    }
    /// Create a volume (a random name when None); an existing name is returned as is.
    async fn create_volume(&self, name: Option<&str>) -> Result<Volume> {
        let _ = name;
        Err(EngineError::Unsupported("volumes on this backend".into()))
    }
    async fn inspect_volume(&self, name: &str) -> Result<Volume> {
        let _ = name;
        Err(EngineError::Unsupported("volumes on this backend".into()))
    }
    /// A volume in use is refused, `force` or not (as docker does); `force` ignores a missing one.
    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let _ = (name, force);
        Err(EngineError::Unsupported("volumes on this backend".into()))
    }
    /// Remove unused anonymous volumes (every unused one with `all`).
    async fn prune_volumes(&self, all: bool) -> Result<VolumePruneReport> {
        let _ = all;
        Err(EngineError::Unsupported("volumes on this backend".into()))
    }

    // --- Networks (docker's /networks endpoints). `name` is a name, an ID or an ID prefix.
    async fn list_networks(&self) -> Result<Vec<Network>> {
        Err(EngineError::Unsupported("networks on this backend".into()))
    }
    async fn create_network(&self, opts: &NetworkCreate) -> Result<Network> {
        let _ = opts;
        Err(EngineError::Unsupported("networks on this backend".into()))
    }
    async fn inspect_network(&self, name: &str) -> Result<Network> {
        let _ = name;
        Err(EngineError::Unsupported("networks on this backend".into()))
    }
    /// A network a container is connected to is refused, naming the containers.
    async fn remove_network(&self, name: &str) -> Result<()> {
        let _ = name;
        Err(EngineError::Unsupported("networks on this backend".into()))
    }
    /// Remove the user-defined networks no container is connected to.
    async fn prune_networks(&self) -> Result<NetworkPruneReport> {
        Err(EngineError::Unsupported("networks on this backend".into()))
    }
    /// Connect a container (set up at once if it runs; at its next start otherwise).
    async fn connect_network(&self, network: &str, opts: &NetworkConnect) -> Result<()> {
        let _ = (network, opts);
        Err(EngineError::Unsupported("networks on this backend".into()))
    }
    async fn disconnect_network(&self, network: &str, container: &str, force: bool) -> Result<()> {
        let _ = (network, container, force);
        Err(EngineError::Unsupported("networks on this backend".into()))
    }

    /// A cheap value that changes whenever the lists (containers, images) may have changed,
    /// so a dashboard can skip a refresh that would find nothing new. None: not known (the
    /// caller refreshes as usual).
    fn change_token(&self) -> Option<u64> {
        None
    }
}

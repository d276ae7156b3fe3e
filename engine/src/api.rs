//! The seam: [`ContainerBackend`] is what the dashboard, the CLI and `berth daemon` call.
//! `LocalEngine` implements it in-process; `DockerBackend` (later) over the Docker Engine
//! API. Types here are backend-neutral and serialise the way the Docker API spells them, so
//! `inspect` output is docker-compatible whichever backend produced it.
use std::pin::Pin;

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use serde::{Deserialize, Serialize};

pub use crate::error::{EngineError, Result};
pub use crate::image::config::ContainerConfig;

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

/// Bytes in (load, import).
pub type ByteReader = Pin<Box<dyn tokio::io::AsyncRead + Send>>;
/// Bytes out (save, export).
pub type ByteWriter = Pin<Box<dyn tokio::io::AsyncWrite + Send>>;

/// One row of `images`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageSummary {
    /// `sha256:…` (the config digest).
    pub id: String,
    /// Familiar `repo:tag` names.
    pub repo_tags: Vec<String>,
    /// Familiar `repo@sha256:…`.
    pub repo_digests: Vec<String>,
    /// Unix seconds.
    pub created: i64,
    /// Bytes (unpacked).
    pub size: u64,
    /// Containers using the image (-1 when the backend does not say).
    pub containers: i64,
}

#[derive(Clone, Debug, Default)]
pub struct ImageListOptions {
    /// Include intermediate images (`-a`).
    pub all: bool,
    /// Only untagged images.
    pub dangling: Option<bool>,
    /// `reference=` patterns (shell globs on familiar name\[:tag\]).
    pub reference: Vec<String>,
}

/// `image inspect`, spelled as the Docker API spells it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageInspect {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    pub created: String,
    pub docker_version: String,
    pub author: String,
    pub config: ContainerConfig,
    pub architecture: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    pub os: String,
    pub size: u64,
    pub graph_driver: GraphDriver,
    #[serde(rename = "RootFS")]
    pub root_fs: RootFsInspect,
    pub metadata: ImageMetadata,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct GraphDriver {
    pub name: String,
    pub data: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RootFsInspect {
    #[serde(rename = "Type")]
    pub kind: String,
    pub layers: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageMetadata {
    pub last_tag_time: String,
}

/// One row of `history`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Image ID for the top entry, `<missing>` otherwise (as docker prints).
    pub id: String,
    pub created: i64,
    pub created_by: String,
    pub size: u64,
    pub comment: String,
    pub empty_layer: bool,
}

#[derive(Clone, Debug, Default)]
pub struct PullOptions {
    /// `os/arch[/variant]`; the host's when absent.
    pub platform: Option<String>,
}

/// Progress of one layer, in docker's vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerStatus {
    Waiting,
    AlreadyExists,
    Downloading,
    Verifying,
    DownloadComplete,
    Extracting,
    PullComplete,
    Preparing,
    Pushing,
    Pushed,
    Mounted,
}

impl LayerStatus {
    pub fn docker_text(self) -> &'static str {
        match self {
            LayerStatus::Waiting => "Waiting",
            LayerStatus::AlreadyExists => "Already exists",
            LayerStatus::Downloading => "Downloading",
            LayerStatus::Verifying => "Verifying Checksum",
            LayerStatus::DownloadComplete => "Download complete",
            LayerStatus::Extracting => "Extracting",
            LayerStatus::PullComplete => "Pull complete",
            LayerStatus::Preparing => "Preparing",
            LayerStatus::Pushing => "Pushing",
            LayerStatus::Pushed => "Pushed",
            LayerStatus::Mounted => "Layer already exists",
        }
    }
}

/// An item of a pull or push progress stream.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProgressEvent {
    /// Free text (e.g. "Using default tag: latest", "latest: Pulling from library/alpine").
    Message(String),
    /// A layer's status; `id` is docker's 12-character short digest.
    Layer { id: String, status: LayerStatus, current: u64, total: Option<u64> },
    /// The end of a pull: the image now in the store.
    Pulled { reference: String, image_id: String, digest: Option<String> },
    /// The end of a push: `tag: digest: sha256:… size: N`.
    Pushed { reference: String, digest: String, size: u64 },
}

/// What `rmi`/`image prune` did, as docker prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RemovedImage {
    Untagged(String),
    Deleted(String),
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PruneReport {
    pub removed: Vec<RemovedImage>,
    pub space_reclaimed: u64,
}

/// Credentials for a registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// What `create`/`run` asked for, in backend-neutral terms (docker's flags).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ContainerCreate {
    pub image: String,
    pub name: Option<String>,
    /// Overrides the image's CMD when non-empty.
    pub cmd: Vec<String>,
    /// `--entrypoint` (`Some("")` clears the image's).
    pub entrypoint: Option<String>,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    pub hostname: Option<String>,
    pub tty: bool,
    pub open_stdin: bool,
    /// Close the container's stdin when the first attached client's input ends (docker's
    /// `StdinOnce`: `run -i` piping a file in). The embedded engine always does this without
    /// a TTY.
    pub stdin_once: bool,
    pub labels: std::collections::BTreeMap<String, String>,
    pub restart: Option<String>,
    pub auto_remove: bool,
    /// `default`, `none` or `host`.
    pub network: Option<String>,
    pub privileged: bool,
    pub memory: Option<i64>,
    pub memory_swap: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub pids_limit: Option<i64>,
    /// `--cap-add` / `--cap-drop` (names with or without `CAP_`, or `ALL`).
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// `--read-only` root filesystem.
    pub read_only: bool,
    /// `--security-opt no-new-privileges`.
    pub no_new_privileges: bool,
    /// `--tmpfs PATH[:OPTIONS]`.
    pub tmpfs: Vec<String>,
    /// `-v HOST:CONTAINER[:ro]` bind mounts, `-v NAME:CONTAINER[:ro]` named volumes,
    /// `-v CONTAINER` anonymous volumes.
    pub binds: Vec<String>,
    /// `--runtime`: an OCI runtime binary (embedded engine) or a runtime name (Docker).
    pub runtime: Option<String>,
}

/// One row of `ps`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerSummary {
    pub id: String,
    pub name: String,
    pub image: String,
    pub image_id: String,
    /// The command line as docker shows it (entrypoint and cmd joined).
    pub command: String,
    /// Unix seconds.
    pub created: i64,
    /// created, running, paused, exited, dead.
    pub state: String,
    /// docker's "Up 3 minutes", "Exited (0) 2 hours ago", "Created".
    pub status: String,
    pub exit_code: i64,
    pub labels: std::collections::BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default)]
pub struct ContainerListOptions {
    pub all: bool,
}

/// `inspect` of a container: the State part docker users script against.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspect {
    pub id: String,
    pub name: String,
    pub created: String,
    pub path: String,
    pub args: Vec<String>,
    pub state: ContainerState,
    pub image: String,
    pub restart_count: i64,
    pub config: ContainerInspectConfig,
    #[serde(default)]
    pub host_config: HostConfig,
    #[serde(default, deserialize_with = "null_default")]
    pub mounts: Vec<MountPoint>,
    #[serde(default)]
    pub network_settings: NetworkSettings,
    #[serde(default)]
    pub log_path: String,
    #[serde(default)]
    pub driver: String,
    #[serde(default)]
    pub platform: String,
}

/// docker sends `null` for empty lists and maps: read it as empty.
fn null_default<'de, D: serde::Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> std::result::Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `HostConfig` of container inspect: the limits and policies docker CLI and docker-py read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct HostConfig {
    /// Bytes; 0 = unlimited.
    pub memory: i64,
    /// Bytes; 0 = unset, -1 = unlimited swap.
    pub memory_swap: i64,
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    /// None (null) = unlimited, as docker.
    pub pids_limit: Option<i64>,
    pub privileged: bool,
    pub network_mode: String,
    pub restart_policy: RestartPolicy,
    pub auto_remove: bool,
    pub readonly_rootfs: bool,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub binds: Option<Vec<String>>,
    /// The OCI runtime: `berth` (built in), or the `--runtime` path; docker's runtime name.
    pub runtime: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct RestartPolicy {
    /// "no", "always", "unless-stopped", "on-failure" ("" from some docker versions).
    pub name: String,
    pub maximum_retry_count: i64,
}

/// One entry of `Mounts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: String,
    /// The volume's name (volumes only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub source: String,
    pub destination: String,
    /// `local` (volumes only).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub driver: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
}

/// A volume, as docker's `volume inspect` spells it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Volume {
    /// RFC 3339.
    pub created_at: String,
    pub driver: String,
    #[serde(deserialize_with = "null_default")]
    pub labels: std::collections::BTreeMap<String, String>,
    pub mountpoint: String,
    pub name: String,
    #[serde(deserialize_with = "null_default")]
    pub options: std::collections::BTreeMap<String, String>,
    pub scope: String,
    /// Names of the containers using it, filled by `list_volumes` (None: the backend did
    /// not say). Not part of docker's JSON.
    #[serde(skip)]
    pub users: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VolumeListOptions {
    /// `dangling=true`: only volumes no container uses; `false`: only used ones.
    pub dangling: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumePruneReport {
    pub removed: Vec<String>,
    pub space_reclaimed: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct NetworkSettings {
    /// `"80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]`; empty until ports are published.
    #[serde(deserialize_with = "null_default")]
    pub ports: std::collections::BTreeMap<String, Option<Vec<PortBinding>>>,
    #[serde(deserialize_with = "null_default")]
    pub networks: std::collections::BTreeMap<String, EndpointSettings>,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    pub gateway: String,
    pub mac_address: String,
    pub sandbox_key: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct EndpointSettings {
    #[serde(rename = "NetworkID")]
    pub network_id: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    pub gateway: String,
    #[serde(rename = "IPAddress")]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen")]
    pub ip_prefix_len: i64,
    pub mac_address: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerState {
    pub status: String,
    pub running: bool,
    pub paused: bool,
    pub restarting: bool,
    #[serde(rename = "OOMKilled")]
    pub oom_killed: bool,
    pub dead: bool,
    pub pid: i64,
    pub exit_code: i64,
    pub error: String,
    pub started_at: String,
    pub finished_at: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ContainerInspectConfig {
    pub hostname: String,
    pub user: String,
    pub tty: bool,
    pub open_stdin: bool,
    pub env: Vec<String>,
    pub cmd: Vec<String>,
    pub image: String,
    pub working_dir: String,
    pub entrypoint: Vec<String>,
    pub labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub domainname: String,
    #[serde(default)]
    pub attach_stdin: bool,
    #[serde(default)]
    pub attach_stdout: bool,
    #[serde(default)]
    pub attach_stderr: bool,
    #[serde(default)]
    pub stdin_once: bool,
}

/// One line of container output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub stream: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
    pub line: String,
}

#[derive(Clone, Debug, Default)]
pub struct LogOptions {
    pub follow: bool,
    /// Last N lines only.
    pub tail: Option<usize>,
}

/// A container's processes, as `top` prints them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopResult {
    pub titles: Vec<String>,
    pub processes: Vec<Vec<String>>,
}

/// Host overview for `info` and the dashboard header.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// "berth" or "docker".
    pub engine: String,
    pub server_version: String,
    pub hostname: String,
    pub kernel_version: String,
    pub operating_system: String,
    pub architecture: String,
    pub cpus: u32,
    pub memory_total: u64,
    /// 1 or 2.
    pub cgroup_version: u32,
    pub cgroup_driver: String,
    pub storage_driver: String,
    pub root_dir: String,
    pub runtime: String,
    pub containers: u64,
    pub containers_running: u64,
    pub containers_paused: u64,
    pub containers_stopped: u64,
    pub images: u64,
}

/// `system df`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskUsage {
    pub images: Vec<ImageUsage>,
    pub containers: Vec<ContainerUsage>,
    /// Bytes held by image layers (shared layers counted once).
    pub layers_size: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ImageUsage {
    pub id: String,
    pub repo_tags: Vec<String>,
    pub created: i64,
    pub size: u64,
    /// Bytes shared with other images.
    pub shared_size: u64,
    pub containers: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ContainerUsage {
    pub id: String,
    pub name: String,
    pub image: String,
    /// Bytes written by the container (its upper layer).
    pub size_rw: u64,
    pub state: String,
    pub status: String,
    pub created: i64,
}

/// A live attach or exec session: the bytes the process writes, senders for its input and
/// window size, and its end. Dropping the session detaches (the container keeps running).
pub struct Session {
    /// Output (on a TTY, stdout and stderr are one stream). Ends when the session does.
    pub output: BoxStream<'static, Result<bytes::Bytes>>,
    /// Without a TTY a backend may deliver stderr here instead of in `output` (None: it is
    /// in `output`). A caller showing one stream merges the two.
    pub stderr: Option<BoxStream<'static, Result<bytes::Bytes>>>,
    pub input: tokio::sync::mpsc::Sender<bytes::Bytes>,
    /// Window size as (rows, cols).
    pub resize: tokio::sync::mpsc::Sender<(u16, u16)>,
    /// Resolves when the session ended: the exec'd command's exit code, or for an attach
    /// the container's (None if only the connection ended).
    pub exit: futures_util::future::BoxFuture<'static, Result<Option<i64>>>,
}

/// How `run` and `start -a` attach to the container they start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachOptions {
    /// Send the caller's input (`-i`); a container that did not open stdin ignores it.
    pub stdin: bool,
    /// The caller's window size (rows, cols), for a container with a TTY.
    pub size: Option<(u16, u16)>,
}

/// What `exec` runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    pub tty: bool,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// Initial window size (rows, cols).
    pub size: Option<(u16, u16)>,
}

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

    /// A cheap value that changes whenever the lists (containers, images) may have changed,
    /// so a dashboard can skip a refresh that would find nothing new. None: not known (the
    /// caller refreshes as usual).
    fn change_token(&self) -> Option<u64> {
        None
    }
}

/// One `events` item, in docker's vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineEvent {
    /// `container`, `image`, `network`...
    pub kind: String,
    /// `create`, `start`, `die`, `destroy`...
    pub action: String,
    /// The object's ID.
    pub actor: String,
    pub attributes: std::collections::BTreeMap<String, String>,
    /// Unix nanoseconds.
    pub time: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventOptions {
    /// Unix nanoseconds: replay events from then on (None: only new ones).
    pub since: Option<i64>,
    /// Unix nanoseconds: the stream ends once this time has passed.
    pub until: Option<i64>,
    /// Filter name → accepted values (an event passes when, for every name, one value matches).
    pub filters: std::collections::BTreeMap<String, Vec<String>>,
}

/// One stats reading of one container (docker's `stats` fields).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatsSample {
    pub id: String,
    pub name: String,
    /// RFC 3339 with nanoseconds.
    pub time: String,
    /// 100 = one core.
    pub cpu_percent: f64,
    pub cpu_total_ns: u64,
    pub online_cpus: u32,
    /// Usage minus inactive file cache, bytes.
    pub memory_usage: u64,
    /// The limit, or the host's memory when unlimited.
    pub memory_limit: u64,
    pub pids: u64,
    pub block_read: u64,
    pub block_write: u64,
    pub net_rx: u64,
    pub net_tx: u64,
}

impl StatsSample {
    /// MEM % as docker computes it.
    pub fn memory_percent(&self) -> f64 {
        if self.memory_limit == 0 { 0.0 } else { self.memory_usage as f64 / self.memory_limit as f64 * 100.0 }
    }
}

// --- Container filesystem types (cp, diff, commit) ---

/// A path inside a container, as `cp` needs to know it (docker's `X-Docker-Container-Path-Stat`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathStat {
    pub name: String,
    pub size: i64,
    /// Unix `st_mode`: file type and permission bits.
    pub mode: u32,
    /// RFC 3339.
    pub mtime: String,
    /// For a symlink: the absolute path it resolves to inside the container; else empty.
    pub link_target: String,
}

impl PathStat {
    pub fn is_dir(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFDIR
    }
    pub fn is_symlink(&self) -> bool {
        self.mode & libc::S_IFMT == libc::S_IFLNK
    }
}

/// One line of `diff`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChangeKind {
    /// `C`
    Modified,
    /// `A`
    Added,
    /// `D`
    Deleted,
}

impl ChangeKind {
    /// Docker's letter.
    pub fn letter(self) -> char {
        match self {
            ChangeKind::Modified => 'C',
            ChangeKind::Added => 'A',
            ChangeKind::Deleted => 'D',
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsChange {
    pub kind: ChangeKind,
    pub path: String,
}

/// `commit`'s options.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommitOptions {
    /// `REPO[:TAG]` to tag the new image with.
    pub reference: Option<String>,
    pub author: Option<String>,
    pub message: Option<String>,
    /// Dockerfile instructions (`CMD ...`, `ENV ...`), as `import --change` takes them.
    pub changes: Vec<String>,
    /// Freeze a running container while its filesystem is read (docker's default).
    pub pause: bool,
}

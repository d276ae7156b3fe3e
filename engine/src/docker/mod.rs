//! `DockerBackend`: the same [`ContainerBackend`] over a Docker Engine API (dockerd,
//! Podman's service, remote hosts) through bollard. Every call has a deadline, so an
//! unreachable daemon is one clear error, never a hang.
use std::time::Duration;

use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as BollardError;
use futures_util::stream::{BoxStream, StreamExt};

use crate::api::*;

mod containers;
mod ctrfs;
mod images;
mod networks;
mod session;
mod stats;
mod volumes;

/// How long connecting and the version handshake may take together (a user sees an
/// unreachable daemon's error within 5 s).
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(4);
/// bollard's per-request timeout, seconds (streams run past it once headers arrived).
const REQUEST_TIMEOUT_SECS: u64 = 120;

#[derive(Clone)]
pub struct DockerBackend {
    client: Docker,
    host: String,
    /// Read stats through the API even when the cgroup files are readable.
    api_stats: bool,
    /// Detach keys the daemon watches for in attach and exec sessions (its default,
    /// ctrl-p,ctrl-q, when None).
    detach_keys: Option<String>,
}

/// The endpoint a user means: `-H` first, then DOCKER_HOST, then the docker context
/// (DOCKER_CONTEXT or the current one in ~/.docker/config.json), then the default socket.
pub fn resolve_host(flag: Option<&str>) -> String {
    if let Some(h) = flag.filter(|h| !h.is_empty()) {
        return h.to_string();
    }
    if let Ok(h) = std::env::var("DOCKER_HOST")
        && !h.is_empty()
    {
        return h;
    }
    if let Some(h) = context_host() {
        return h;
    }
    "unix:///var/run/docker.sock".to_string()
}

fn docker_config_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("DOCKER_CONFIG")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker")))
}

/// The endpoint of the active docker context, if one other than "default" is selected.
fn context_host() -> Option<String> {
    let name = match std::env::var("DOCKER_CONTEXT") {
        Ok(n) if !n.is_empty() => n,
        _ => {
            let dir = docker_config_dir()?;
            let cfg: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("config.json")).ok()?).ok()?;
            cfg.get("currentContext")?.as_str()?.to_string()
        }
    };
    if name == "default" {
        return None;
    }
    named_context_host(&name)
}

/// The Docker endpoint of the docker context called `name` (~/.docker/contexts, as
/// `docker context ls` shows them); "default" is DOCKER_HOST or the default socket.
pub fn context_endpoint(name: &str) -> Option<String> {
    if name == "default" {
        return Some(std::env::var("DOCKER_HOST").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "unix:///var/run/docker.sock".into()));
    }
    named_context_host(name)
}

fn named_context_host(name: &str) -> Option<String> {
    // Contexts live in contexts/meta/<sha256(name)>/meta.json.
    let dir = docker_config_dir()?;
    let hash = crate::store::digest::Digest::of(name.as_bytes());
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("contexts/meta").join(hash.hex()).join("meta.json")).ok()?).ok()?;
    meta.pointer("/Endpoints/docker/Host")?.as_str().map(String::from)
}

impl DockerBackend {
    /// Connect to `host` (unix://, tcp://, https://, ssh://) and negotiate the API version.
    pub async fn connect(host: &str) -> Result<Self> {
        let unreachable = |e: String| EngineError::Other(format!("cannot connect to the Docker daemon at {host}: {e}"));
        let client = if let Some(path) = host.strip_prefix("unix://") {
            Docker::connect_with_unix(path, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
        } else if host.starts_with("tcp://") || host.starts_with("http://") || host.starts_with("https://") {
            if std::env::var_os("DOCKER_TLS_VERIFY").is_some_and(|v| !v.is_empty()) || host.starts_with("https://") {
                let certs = std::env::var_os("DOCKER_CERT_PATH")
                    .map(std::path::PathBuf::from)
                    .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker")));
                match certs {
                    Some(c) => Docker::connect_with_ssl(
                        host,
                        &c.join("key.pem"),
                        &c.join("cert.pem"),
                        &c.join("ca.pem"),
                        REQUEST_TIMEOUT_SECS,
                        bollard::API_DEFAULT_VERSION,
                    ),
                    None => Docker::connect_with_ssl_defaults(),
                }
            } else {
                Docker::connect_with_http(host, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION)
            }
        } else if host.starts_with("ssh://") {
            Docker::connect_with_ssh(host, REQUEST_TIMEOUT_SECS, bollard::API_DEFAULT_VERSION, None)
        } else {
            return Err(EngineError::InvalidArgument(format!(
                "unsupported Docker host {host:?} (use unix://, tcp://, https:// or ssh://)"
            )));
        }
        .map_err(|e| unreachable(describe(&e)))?;
        // One deadline for the whole handshake (negotiation + version), so a daemon that
        // accepts but never answers is an error within 5 s.
        let handshake = async {
            let client = client.negotiate_version().await?;
            let v = client.version().await?;
            Ok::<_, BollardError>((client, v))
        };
        let (client, v) = match tokio::time::timeout(CONNECT_TIMEOUT, handshake).await {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => return Err(unreachable(describe(&e))),
            Err(_) => return Err(unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))),
        };
        if let Some(api) = v.api_version.as_deref()
            && api_too_old(api)
        {
            return Err(EngineError::Unsupported(format!("the Docker daemon at {host} speaks API {api}; berth needs 1.41 or newer")));
        }
        Ok(Self { client, host: host.to_string(), api_stats: false, detach_keys: None })
    }

    /// Always read stats through the API (one-shot requests), never from cgroup files:
    /// for a daemon whose containers' cgroups are visible but not its own (and for tests).
    pub fn with_api_stats(mut self) -> Self {
        self.api_stats = true;
        self
    }

    /// Have the daemon watch for these detach keys (docker's format) instead of its default:
    /// the CLI catches the user's keys itself, so the daemon must not act on ctrl-p,ctrl-q
    /// when the user chose others.
    pub fn with_detach_keys(mut self, keys: String) -> Self {
        self.detach_keys = Some(keys);
        self
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn client(&self) -> &Docker {
        &self.client
    }
}

fn api_too_old(v: &str) -> bool {
    let mut it = v.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
    let (maj, min) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
    (maj, min) < (1, 41)
}

/// The first I/O error in `e`'s chain of causes.
fn io_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a std::io::Error> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = c.source();
    }
    None
}

/// A bollard error as one line a user understands.
fn describe(e: &BollardError) -> String {
    if let Some(io) = io_cause(e) {
        match io.kind() {
            std::io::ErrorKind::PermissionDenied => {
                return "permission denied (run as root, or as a member of the socket's group)".into();
            }
            std::io::ErrorKind::ConnectionRefused => return "connection refused (is the daemon running?)".into(),
            _ => {}
        }
    }
    match e {
        BollardError::DockerResponseServerError { status_code, message } if message.trim().is_empty() => {
            format!("the server answered HTTP {status_code} with no message (is this a Docker daemon?)")
        }
        BollardError::DockerResponseServerError { message, .. } => message.clone(),
        BollardError::SocketNotFoundError(p) => format!("no socket at {p} (is the daemon running?)"),
        BollardError::RequestTimeoutError => "no answer in time".into(),
        other => {
            let mut s = other.to_string();
            let mut src = std::error::Error::source(other);
            while let Some(c) = src {
                let cs = c.to_string();
                if !s.contains(&cs) {
                    s.push_str(": ");
                    s.push_str(&cs);
                }
                src = c.source();
            }
            s
        }
    }
}

/// Map a daemon error to ours: 404s name the thing, 409s are conflicts.
pub(crate) fn map_err(what: &str, kind: NotFound) -> impl Fn(BollardError) -> EngineError + '_ {
    move |e| match &e {
        BollardError::DockerResponseServerError { status_code: 404, .. } => match kind {
            NotFound::Image => EngineError::ImageNotFound(what.to_string()),
            NotFound::Container => EngineError::ContainerNotFound(what.to_string()),
            NotFound::Volume => EngineError::VolumeNotFound(what.to_string()),
            NotFound::Network => EngineError::NetworkNotFound(what.to_string()),
        },
        // 403: an operation the object's state forbids (a network with endpoints).
        BollardError::DockerResponseServerError { status_code: 409 | 403, message } => EngineError::Conflict(message.clone()),
        BollardError::DockerResponseServerError { status_code: 400, message } => EngineError::InvalidArgument(message.clone()),
        _ => EngineError::Other(describe(&e)),
    }
}

#[derive(Clone, Copy)]
pub(crate) enum NotFound {
    Image,
    Container,
    Volume,
    Network,
}

#[async_trait]
impl ContainerBackend for DockerBackend {
    fn describe(&self) -> String {
        format!("docker {}", self.host)
    }

    async fn list_images(&self, opts: &ImageListOptions) -> Result<Vec<ImageSummary>> {
        images::list(self, opts).await
    }

    async fn inspect_image(&self, name: &str) -> Result<ImageInspect> {
        images::inspect(self, name).await
    }

    async fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        images::history(self, name).await
    }

    fn pull_image(&self, reference: &str, opts: PullOptions) -> BoxStream<'static, Result<ProgressEvent>> {
        images::pull(self.clone(), reference.to_string(), opts)
    }

    fn push_image(&self, reference: &str) -> BoxStream<'static, Result<ProgressEvent>> {
        images::push(self.clone(), reference.to_string())
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        images::tag(self, source, target).await
    }

    async fn remove_image(&self, name: &str, force: bool) -> Result<Vec<RemovedImage>> {
        images::remove(self, name, force).await
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        images::prune(self, all).await
    }

    async fn load_images(&self, input: ByteReader) -> Result<Vec<String>> {
        images::load(self, input).await
    }

    async fn save_images(&self, names: &[String], output: ByteWriter) -> Result<()> {
        use tokio::io::AsyncWriteExt;
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut out = output;
        let mut s = self.client.export_images(&refs);
        while let Some(chunk) = s.next().await {
            let chunk = chunk.map_err(|e| map_err(&names.join(" "), NotFound::Image)(e))?;
            out.write_all(&chunk).await.map_err(|e| EngineError::io_ctx("writing the archive", e))?;
        }
        out.flush().await.map_err(|e| EngineError::io_ctx("writing the archive", e))?;
        Ok(())
    }

    async fn import_image(
        &self,
        input: ByteReader,
        reference: Option<String>,
        changes: Vec<String>,
        message: Option<String>,
    ) -> Result<String> {
        images::import(self, input, reference, changes, message).await
    }

    async fn login(&self, registry: &str, creds: &Credentials) -> Result<String> {
        // bollard has no /auth call; the registry itself is the authority on credentials.
        crate::registry::auth::check_login(registry, creds).await
    }

    async fn create_container(&self, opts: &ContainerCreate) -> Result<String> {
        containers::create(self, opts).await
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        start(self, id).await
    }

    async fn stop_container(&self, id: &str, timeout: Option<u32>) -> Result<()> {
        containers::stop(self, id, timeout).await
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        containers::kill(self, id, signal).await
    }

    async fn remove_container(&self, id: &str, force: bool) -> Result<()> {
        containers::remove(self, id, force, false).await
    }

    async fn remove_container_and_volumes(&self, id: &str, force: bool) -> Result<()> {
        containers::remove(self, id, force, true).await
    }

    async fn list_containers(&self, opts: &ContainerListOptions) -> Result<Vec<ContainerSummary>> {
        containers::list(self, opts).await
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerInspect> {
        containers::inspect(self, id).await
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        containers::wait(self, id).await
    }

    async fn container_logs(&self, id: &str, opts: &LogOptions) -> Result<BoxStream<'static, Result<LogLine>>> {
        containers::logs(self, id, opts).await
    }
    fn stats(&self, ids: Vec<String>, interval: std::time::Duration) -> BoxStream<'static, Result<Vec<StatsSample>>> {
        stats::stream(self.clone(), ids, interval)
    }

    async fn top(&self, id: &str, ps_args: Vec<String>) -> Result<TopResult> {
        containers::top(self, id, ps_args).await
    }

    async fn system_info(&self) -> Result<SystemInfo> {
        containers::system_info(self).await
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        containers::disk_usage(self).await
    }

    async fn pause_container(&self, id: &str) -> Result<()> {
        self.client.pause_container(id).await.map_err(map_err(id, NotFound::Container))
    }

    async fn unpause_container(&self, id: &str) -> Result<()> {
        self.client.unpause_container(id).await.map_err(map_err(id, NotFound::Container))
    }

    async fn restart_container(&self, id: &str, timeout: Option<u32>) -> Result<()> {
        let mut b = bollard::query_parameters::RestartContainerOptionsBuilder::default();
        if let Some(t) = timeout {
            b = b.t(t as i32);
        }
        self.client.restart_container(id, Some(b.build())).await.map_err(map_err(id, NotFound::Container))
    }

    async fn rename_container(&self, id: &str, new_name: &str) -> Result<()> {
        let o = bollard::query_parameters::RenameContainerOptionsBuilder::default().name(new_name).build();
        self.client.rename_container(id, o).await.map_err(map_err(id, NotFound::Container))
    }

    async fn attach_session(&self, id: &str, size: Option<(u16, u16)>) -> Result<Session> {
        session::attach(self, id, size).await
    }

    async fn attach_and_start(&self, id: &str, opts: AttachOptions) -> Result<Session> {
        session::attach_and_start(self, id, opts).await
    }

    async fn exec_session(&self, id: &str, opts: ExecOptions) -> Result<Session> {
        session::exec(self, id, opts).await
    }

    async fn exec_detached(&self, id: &str, opts: ExecOptions) -> Result<()> {
        session::exec_detached(self, id, opts).await
    }

    async fn shell(&self, id: &str) -> Result<Vec<String>> {
        session::shell(self, id).await
    }

    // --- Container filesystem: cp, diff, export, commit (docker/ctrfs.rs) ---
    async fn stat_container_path(&self, id: &str, path: &str) -> Result<PathStat> {
        ctrfs::stat(self, id, path).await
    }
    async fn copy_from_container(&self, id: &str, path: &str, output: ByteWriter) -> Result<()> {
        ctrfs::copy_from(self, id, path, output).await
    }
    async fn copy_to_container(&self, id: &str, path: &str, input: ByteReader, copy_uid_gid: bool) -> Result<()> {
        ctrfs::copy_to(self, id, path, input, copy_uid_gid).await
    }
    async fn container_changes(&self, id: &str) -> Result<Vec<FsChange>> {
        ctrfs::changes(self, id).await
    }
    async fn export_container(&self, id: &str, output: ByteWriter) -> Result<()> {
        ctrfs::export(self, id, output).await
    }
    async fn commit_container(&self, id: &str, opts: &CommitOptions) -> Result<String> {
        ctrfs::commit(self, id, opts).await
    }
    fn events(&self, opts: EventOptions) -> BoxStream<'static, Result<EngineEvent>> {
        events(self, opts)
    }

    async fn list_volumes(&self, opts: &VolumeListOptions) -> Result<Vec<Volume>> {
        volumes::list(self, opts).await
    }

    async fn create_volume(&self, name: Option<&str>) -> Result<Volume> {
        volumes::create(self, name).await
    }

    async fn inspect_volume(&self, name: &str) -> Result<Volume> {
        volumes::inspect(self, name).await
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        volumes::remove(self, name, force).await
    }

    async fn prune_volumes(&self, all: bool) -> Result<VolumePruneReport> {
        volumes::prune(self, all).await
    }

    async fn list_networks(&self) -> Result<Vec<Network>> {
        networks::list(self).await
    }
    async fn create_network(&self, opts: &NetworkCreate) -> Result<Network> {
        networks::create(self, opts).await
    }
    async fn inspect_network(&self, name: &str) -> Result<Network> {
        networks::inspect(self, name).await
    }
    async fn remove_network(&self, name: &str) -> Result<()> {
        networks::remove(self, name).await
    }
    async fn prune_networks(&self) -> Result<NetworkPruneReport> {
        networks::prune(self).await
    }
    async fn connect_network(&self, network: &str, opts: &NetworkConnect) -> Result<()> {
        networks::connect(self, network, opts).await
    }
    async fn disconnect_network(&self, network: &str, container: &str, force: bool) -> Result<()> {
        networks::disconnect(self, network, container, force).await
    }
}

/// Start a container; a process the runtime could not start is [`EngineError::StartFailed`]
/// with the exit code the docker CLI gives it (127 not found, 126 not executable).
async fn start(d: &DockerBackend, id: &str) -> Result<()> {
    d.client.start_container(id, None::<bollard::query_parameters::StartContainerOptions>).await.map_err(|e| match &e {
        BollardError::DockerResponseServerError { message, .. } if message.contains("OCI runtime") => {
            EngineError::StartFailed { code: crate::monitor::start_failure_code(message), message: message.clone() }
        }
        _ => map_err(id, NotFound::Container)(e),
    })
}

/// Unix nanoseconds as docker's `SECONDS.NANOS` timestamp parameter.
fn docker_time(nanos: i64) -> String {
    format!("{}.{:09}", nanos.div_euclid(1_000_000_000), nanos.rem_euclid(1_000_000_000))
}

/// `GET /events`: the daemon filters and ends the stream at `until`; items become ours.
fn events(d: &DockerBackend, opts: EventOptions) -> BoxStream<'static, Result<EngineEvent>> {
    // dockerd 20.10 ignores filters it does not know: refuse them here, as
    // the embedded engine does, rather than stream everything.
    const KNOWN: [&str; 14] = [
        "config",
        "container",
        "daemon",
        "event",
        "image",
        "label",
        "network",
        "node",
        "plugin",
        "scope",
        "secret",
        "service",
        "type",
        "volume",
    ];
    if let Some(k) = opts.filters.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        let e = EngineError::InvalidArgument(format!("invalid filter {k:?}"));
        return futures_util::stream::once(async move { Err(e) }).boxed();
    }
    let mut q =
        bollard::query_parameters::EventsOptions { since: opts.since.map(docker_time), until: opts.until.map(docker_time), filters: None };
    if !opts.filters.is_empty() {
        q.filters = Some(opts.filters.into_iter().collect());
    }
    // Without --since the daemon starts with what happens next; with --until alone the
    // stream must still end (docker needs a since for that: "now").
    if q.until.is_some() && q.since.is_none() {
        q.since = Some(docker_time(chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)));
    }
    d.client
        .events(Some(q))
        .map(|item| {
            let m = item.map_err(|e| match &e {
                BollardError::DockerResponseServerError { status_code: 400, message } => EngineError::InvalidArgument(message.clone()),
                _ => EngineError::Other(describe(&e)),
            })?;
            let kind = m.typ.and_then(|t| serde_json::to_value(t).ok()).and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
            let actor = m.actor.unwrap_or_default();
            Ok(EngineEvent {
                kind,
                action: m.action.unwrap_or_default(),
                actor: actor.id.unwrap_or_default(),
                attributes: actor.attributes.unwrap_or_default().into_iter().collect(),
                time: m.time_nano.or(m.time.map(|t| t * 1_000_000_000)).unwrap_or(0),
            })
        })
        .boxed()
}

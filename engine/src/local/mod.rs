//! `LocalEngine`: the in-process engine over the state root. Every berth process opens
//! its own `LocalEngine` on the same root; the database keeps them consistent.
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use crate::api::*;
use crate::image::remove::Removed;
use crate::store::images::{ImageRecord, ImageStore};

mod boot;
mod containers;
mod ctrfs;
mod images;
mod networks;
mod session;
mod volumes;
pub mod watch;

pub use boot::{BootAction, BootItem};

/// Default state root when running as root.
pub const DEFAULT_ROOT: &str = "/var/lib/berth";

#[derive(Clone)]
pub struct LocalEngine {
    inner: Arc<Inner>,
    /// The `berth` binary monitors run from; this executable when None.
    monitor_exe: Option<Arc<PathBuf>>,
}

pub(crate) struct Inner {
    pub root: PathBuf,
    pub images: Arc<ImageStore>,
}

impl LocalEngine {
    /// Open (creating if needed) the engine state under `root`.
    pub fn open(root: &Path) -> Result<Self> {
        let images = Arc::new(ImageStore::open(root)?);
        Ok(Self { inner: Arc::new(Inner { root: root.to_path_buf(), images }), monitor_exe: None })
    }

    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    pub fn image_store(&self) -> &ImageStore {
        &self.inner.images
    }

    /// Run blocking store work off the async runtime.
    pub(crate) async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&Inner) -> Result<T> + Send + 'static) -> Result<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || f(&inner))
            .await
            .map_err(|source| EngineError::Task { what: "an engine task".into(), source })?
    }

    /// Resolve what a user typed to an image, creating the built-in `hello` image on first
    /// use when the name means it and nothing else does (blocking: call from `blocking`).
    pub fn resolve_image(&self, name: &str) -> Result<ImageRecord> {
        self.inner.resolve_image(name)
    }

    /// Run monitors from `exe` (a `berth` binary) instead of this executable: for
    /// programs that embed the engine but are not berth, such as the conformance tests.
    pub fn with_monitor_exe(mut self, exe: PathBuf) -> Self {
        self.monitor_exe = Some(Arc::new(exe));
        self
    }

    /// The berth binary that `berth monitor` runs from (this process's executable).
    pub(crate) fn monitor_exe(&self) -> Result<PathBuf> {
        match &self.monitor_exe {
            Some(p) => Ok(p.as_ref().clone()),
            None => std::env::current_exe().map_err(|e| EngineError::io_ctx("locating the berth executable", e)),
        }
    }

    /// Container events after sequence number `after` and not before `since` (unix ns).
    pub(crate) async fn events_after(&self, after: i64, since: i64) -> Result<Vec<crate::store::events::EventRecord>> {
        self.blocking(move |i| crate::store::events::after(&i.images.db(), after, since)).await
    }
}

impl Inner {
    pub(crate) fn resolve_image(&self, name: &str) -> Result<ImageRecord> {
        crate::image::resolve::resolve_or_hello(&self.images, name)
    }
}

pub(crate) fn removed(r: Removed) -> RemovedImage {
    match r {
        Removed::Untagged(t) => RemovedImage::Untagged(t),
        Removed::Deleted(d) => RemovedImage::Deleted(d.to_string()),
    }
}

pub(crate) fn summary(rec: &ImageRecord, containers: i64) -> ImageSummary {
    use crate::image::reference::familiar_tagged;
    ImageSummary {
        id: rec.id.to_string(),
        repo_tags: rec.tags.iter().map(|t| familiar_tagged(t)).collect(),
        repo_digests: rec.repo_digests.iter().map(|t| familiar_tagged(t)).collect(),
        created: rec.created,
        size: rec.size,
        containers,
    }
}

#[async_trait]
impl ContainerBackend for LocalEngine {
    fn describe(&self) -> String {
        format!("local {}", self.inner.root.display())
    }
    fn change_token(&self) -> Option<u64> {
        crate::store::db::change_token(&self.inner.root)
    }

    async fn list_images(&self, opts: &ImageListOptions) -> Result<Vec<ImageSummary>> {
        let opts = opts.clone();
        self.blocking(move |i| images::list(i, &opts)).await
    }

    async fn inspect_image(&self, name: &str) -> Result<ImageInspect> {
        let name = name.to_string();
        self.blocking(move |i| images::inspect(i, &name)).await
    }

    async fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let name = name.to_string();
        self.blocking(move |i| images::history(i, &name)).await
    }

    fn pull_image(&self, reference: &str, opts: PullOptions) -> BoxStream<'static, Result<ProgressEvent>> {
        crate::registry::pull::pull(images::registry_target(self), reference.to_string(), opts)
    }

    fn push_image(&self, reference: &str) -> BoxStream<'static, Result<ProgressEvent>> {
        crate::registry::push::push(images::registry_target(self), reference.to_string())
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let (s, t) = (source.to_string(), target.to_string());
        self.blocking(move |i| images::tag(i, &s, &t)).await
    }

    async fn remove_image(&self, name: &str, force: bool) -> Result<Vec<RemovedImage>> {
        let name = name.to_string();
        self.blocking(move |i| Ok(crate::image::remove::remove(&i.images, &name, force)?.into_iter().map(removed).collect())).await
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        self.blocking(move |i| {
            let (r, freed) = crate::image::remove::prune(&i.images, all)?;
            Ok(PruneReport { removed: r.into_iter().map(removed).collect(), space_reclaimed: freed })
        })
        .await
    }

    async fn load_images(&self, input: ByteReader) -> Result<Vec<String>> {
        images::load(self, input).await
    }

    async fn save_images(&self, names: &[String], output: ByteWriter) -> Result<()> {
        images::save(self, names, output).await
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
        crate::registry::auth::check_login(registry, creds).await
    }

    async fn create_container(&self, opts: &ContainerCreate) -> Result<String> {
        let opts = opts.clone();
        self.blocking(move |i| containers::create(i, &opts)).await
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        let exe = self.monitor_exe()?;
        self.blocking(move |i| containers::start(i, &exe, &id, false)).await.map(|_| ())
    }

    async fn stop_container(&self, id: &str, timeout: Option<u32>) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |i| containers::stop(i, &id, timeout)).await
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        let (id, sig) = (id.to_string(), signal.to_string());
        self.blocking(move |i| containers::kill(i, &id, &sig)).await
    }

    async fn remove_container(&self, id: &str, force: bool) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |i| containers::remove(i, &id, force, false)).await
    }

    async fn remove_container_and_volumes(&self, id: &str, force: bool) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |i| containers::remove(i, &id, force, true)).await
    }

    async fn list_containers(&self, opts: &ContainerListOptions) -> Result<Vec<ContainerSummary>> {
        let opts = opts.clone();
        self.blocking(move |i| containers::list(i, &opts)).await
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerInspect> {
        let id = id.to_string();
        self.blocking(move |i| containers::inspect(i, &id)).await
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        let id = id.to_string();
        self.blocking(move |i| containers::wait(i, &id)).await
    }

    async fn container_logs(&self, id: &str, opts: &LogOptions) -> Result<BoxStream<'static, Result<LogLine>>> {
        let id = id.to_string();
        let (rec, path) = self.blocking(move |i| containers::log_path(i, &id)).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(256);
        let inner = self.inner.clone();
        let opts = opts.clone();
        tokio::task::spawn_blocking(move || containers::follow_logs(&inner, &rec, &path, &opts, tx));
        Ok(Box::pin(futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) })))
    }
    fn stats(&self, ids: Vec<String>, interval: std::time::Duration) -> BoxStream<'static, Result<Vec<StatsSample>>> {
        watch::stats(self, ids, interval)
    }
    async fn top(&self, id: &str, ps_args: Vec<String>) -> Result<TopResult> {
        let id = id.to_string();
        self.blocking(move |i| watch::top(i, &id, &ps_args)).await
    }
    async fn system_info(&self) -> Result<SystemInfo> {
        self.blocking(watch::system_info).await
    }
    async fn disk_usage(&self) -> Result<DiskUsage> {
        self.blocking(watch::disk_usage).await
    }
    async fn pause_container(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |i| containers::pause(i, &id, true)).await
    }
    async fn unpause_container(&self, id: &str) -> Result<()> {
        let id = id.to_string();
        self.blocking(move |i| containers::pause(i, &id, false)).await
    }
    async fn restart_container(&self, id: &str, timeout: Option<u32>) -> Result<()> {
        ContainerBackend::stop_container(self, id, timeout).await?;
        ContainerBackend::start_container(self, id).await
    }
    async fn rename_container(&self, id: &str, new_name: &str) -> Result<()> {
        let (id, name) = (id.to_string(), new_name.to_string());
        self.blocking(move |i| containers::rename(i, &id, &name)).await
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

    // --- Container filesystem: cp, diff, export, commit (local/ctrfs.rs) ---
    async fn stat_container_path(&self, id: &str, path: &str) -> Result<PathStat> {
        let (id, path) = (id.to_string(), path.to_string());
        self.blocking(move |i| ctrfs::stat(i, &id, &path)).await
    }

    async fn copy_from_container(&self, id: &str, path: &str, output: ByteWriter) -> Result<()> {
        let (id, path) = (id.to_string(), path.to_string());
        let mut w = tokio_util::io::SyncIoBridge::new(output);
        self.blocking(move |i| {
            ctrfs::copy_from(i, &id, &path, &mut w)?;
            w.shutdown().map_err(|e| EngineError::io_ctx("writing the archive", e))
        })
        .await
    }

    async fn copy_to_container(&self, id: &str, path: &str, input: ByteReader, copy_uid_gid: bool) -> Result<()> {
        let (id, path) = (id.to_string(), path.to_string());
        let r = tokio_util::io::SyncIoBridge::new(input);
        self.blocking(move |i| ctrfs::copy_to(i, &id, &path, r, copy_uid_gid)).await
    }

    async fn container_changes(&self, id: &str) -> Result<Vec<FsChange>> {
        let id = id.to_string();
        self.blocking(move |i| ctrfs::changes(i, &id)).await
    }

    async fn export_container(&self, id: &str, output: ByteWriter) -> Result<()> {
        let id = id.to_string();
        let mut w = tokio_util::io::SyncIoBridge::new(output);
        self.blocking(move |i| {
            ctrfs::export(i, &id, &mut w)?;
            w.shutdown().map_err(|e| EngineError::io_ctx("writing the archive", e))
        })
        .await
    }

    async fn commit_container(&self, id: &str, opts: &CommitOptions) -> Result<String> {
        let (id, opts) = (id.to_string(), opts.clone());
        self.blocking(move |i| ctrfs::commit(i, &id, &opts)).await
    }

    fn events(&self, opts: EventOptions) -> BoxStream<'static, Result<EngineEvent>> {
        watch::events(self, opts)
    }

    async fn list_volumes(&self, opts: &VolumeListOptions) -> Result<Vec<Volume>> {
        let opts = opts.clone();
        self.blocking(move |i| volumes::list(i, &opts)).await
    }

    async fn create_volume(&self, name: Option<&str>) -> Result<Volume> {
        let name = name.map(String::from);
        self.blocking(move |i| volumes::create(i, name.as_deref())).await
    }

    async fn inspect_volume(&self, name: &str) -> Result<Volume> {
        let name = name.to_string();
        self.blocking(move |i| volumes::inspect(i, &name)).await
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let name = name.to_string();
        self.blocking(move |i| volumes::remove(i, &name, force)).await
    }

    async fn prune_volumes(&self, all: bool) -> Result<VolumePruneReport> {
        self.blocking(move |i| volumes::prune(i, all)).await
    }

    async fn list_networks(&self) -> Result<Vec<Network>> {
        self.blocking(networks::list).await
    }
    async fn create_network(&self, opts: &NetworkCreate) -> Result<Network> {
        let opts = opts.clone();
        self.blocking(move |i| networks::create(i, &opts)).await
    }
    async fn inspect_network(&self, name: &str) -> Result<Network> {
        let name = name.to_string();
        self.blocking(move |i| networks::inspect(i, &name)).await
    }
    async fn remove_network(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        self.blocking(move |i| networks::remove(i, &name)).await
    }
    async fn prune_networks(&self) -> Result<NetworkPruneReport> {
        self.blocking(networks::prune).await
    }
    async fn connect_network(&self, network: &str, opts: &NetworkConnect) -> Result<()> {
        let (network, opts) = (network.to_string(), opts.clone());
        self.blocking(move |i| networks::connect(i, &network, &opts)).await
    }
    async fn disconnect_network(&self, network: &str, container: &str, force: bool) -> Result<()> {
        let (network, container) = (network.to_string(), container.to_string());
        self.blocking(move |i| networks::disconnect(i, &network, &container, force)).await
    }
}

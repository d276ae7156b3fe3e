//! Several endpoints as one [`ContainerBackend`]: the embedded engine and Docker daemons
//! side by side in one dashboard. Every ID it hands out is qualified, `ENDPOINT#ID`, so
//! whatever the caller does with it later (stop, logs, exec, inspect) finds its way back
//! to the endpoint that owns the object, and the front ends need no second code path.
//! Lists fan out with a deadline and merge what answered: a dead or hanging daemon is
//! marked down with its error (see [`MultiBackend::endpoints`]) and reconnected in the
//! background, and never blocks or hides the others.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures_util::future::BoxFuture;
use futures_util::stream::{BoxStream, StreamExt};

use crate::api::*;

/// Between an endpoint's name and the ID it owns. Docker IDs, names and references never
/// contain it, so a qualified string is never ambiguous.
pub const SEP: char = '#';
/// How long one endpoint may take to answer a list before it is marked down.
pub const LIST_TIMEOUT: Duration = Duration::from_secs(3);
/// How often a down endpoint is tried again.
pub const RETRY: Duration = Duration::from_secs(5);

/// `endpoint#id`.
pub fn qualify(endpoint: &str, id: &str) -> String {
    format!("{endpoint}{SEP}{id}")
}

/// (endpoint, id) of a qualified string; (None, s) when it is not qualified.
pub fn split(q: &str) -> (Option<&str>, &str) {
    match q.split_once(SEP) {
        Some((e, rest)) => (Some(e), rest),
        None => (None, q),
    }
}

/// `name` qualified with the endpoint that `like` (a qualified ID) belongs to.
pub fn requalify(like: &str, name: &str) -> String {
    match split(like).0 {
        Some(ep) => qualify(ep, split(name).1),
        None => name.to_string(),
    }
}

/// Endpoint names: what docker allows for context names (letters, digits, `_.+-`, not
/// starting with punctuation), at most 64 characters.
pub fn valid_name(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_some_and(|c| c.is_ascii_alphanumeric()) && it.all(|c| c.is_ascii_alphanumeric() || "_.+-".contains(c)) && s.len() <= 64
}

/// How to reach one endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// The embedded engine on this state root.
    Embedded(PathBuf),
    /// A Docker Engine API address (unix://, tcp://, https://, ssh://).
    Docker(String),
}

impl Target {
    pub fn address(&self) -> String {
        match self {
            Target::Embedded(root) => format!("local {}", root.display()),
            Target::Docker(h) => format!("docker {h}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointSpec {
    pub name: String,
    pub target: Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EndpointState {
    Connecting,
    Up,
    /// Why it is not usable (the last error).
    Down(String),
}

/// One endpoint as the switcher shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointStatus {
    pub name: String,
    /// "local /var/lib/berth", "docker unix:///run/docker.sock".
    pub address: String,
    pub state: EndpointState,
}

type Connector = Arc<dyn Fn() -> BoxFuture<'static, Result<Arc<dyn ContainerBackend>>> + Send + Sync>;

#[derive(Default)]
struct Slot {
    backend: Option<Arc<dyn ContainerBackend>>,
    error: Option<String>,
    connecting: bool,
    last_try: Option<Instant>,
}

struct Endpoint {
    name: String,
    address: String,
    /// A remote daemon: a failed list drops the connection (it is made again).
    remote: bool,
    connect: Connector,
    slot: Mutex<Slot>,
}

impl Endpoint {
    fn slot(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connected backend, or why there is none (and a reconnect is started).
    fn backend(self: &Arc<Self>) -> Result<Arc<dyn ContainerBackend>> {
        let s = self.slot();
        if let Some(b) = &s.backend {
            return Ok(b.clone());
        }
        let why = if s.connecting { "connecting".to_string() } else { s.error.clone().unwrap_or_else(|| "not connected".into()) };
        drop(s);
        self.reconnect();
        Err(EngineError::Other(format!("endpoint {}: {why}", self.name)))
    }

    /// Connect in the background unless connected, connecting, or tried in the last RETRY.
    fn reconnect(self: &Arc<Self>) {
        {
            let mut s = self.slot();
            if s.backend.is_some() || s.connecting || s.last_try.is_some_and(|t| t.elapsed() < RETRY) {
                return;
            }
            s.connecting = true;
            s.last_try = Some(Instant::now());
        }
        let me = self.clone();
        tokio::spawn(async move {
            let r = (me.connect)().await;
            let mut s = me.slot();
            s.connecting = false;
            match r {
                Ok(b) => {
                    s.backend = Some(b);
                    s.error = None;
                }
                Err(e) => s.error = Some(e.to_string()),
            }
        });
    }

    fn record(&self, r: std::result::Result<(), String>) {
        let mut s = self.slot();
        match r {
            Ok(()) => s.error = None,
            Err(e) => {
                if self.remote {
                    s.backend = None;
                }
                s.error = Some(e);
            }
        }
    }

    fn status(&self) -> EndpointStatus {
        let s = self.slot();
        let state = match (&s.backend, &s.error) {
            (Some(_), None) => EndpointState::Up,
            (_, Some(e)) if !s.connecting => EndpointState::Down(e.clone()),
            _ if s.connecting => EndpointState::Connecting,
            _ => EndpointState::Down("not connected".into()),
        };
        EndpointStatus { name: self.name.clone(), address: self.address.clone(), state }
    }
}

/// The embedded engine and/or Docker endpoints as one backend (see the module doc).
pub struct MultiBackend {
    eps: Vec<Arc<Endpoint>>,
    /// Where unqualified names go (pull, run of a typed image, load...): the endpoint the
    /// user switched to, else the first.
    current: RwLock<Option<String>>,
}

impl MultiBackend {
    /// Endpoints in the given order; connecting starts at once in the background (call
    /// within a tokio runtime). Names must be valid and unique.
    pub fn new(specs: Vec<EndpointSpec>) -> Result<Self> {
        if specs.is_empty() {
            return Err(EngineError::InvalidArgument("no endpoints".into()));
        }
        let mut eps = Vec::new();
        for spec in specs {
            if !valid_name(&spec.name) {
                return Err(EngineError::InvalidArgument(format!(
                    "invalid endpoint name {:?} (letters, digits and _.+- only, starting with a letter or digit)",
                    spec.name
                )));
            }
            if eps.iter().any(|e: &Arc<Endpoint>| e.name == spec.name) {
                return Err(EngineError::InvalidArgument(format!("two endpoints are named {:?}", spec.name)));
            }
            let connect: Connector = match spec.target.clone() {
                Target::Embedded(root) => Arc::new(move || {
                    let root = root.clone();
                    Box::pin(async move {
                        let e = tokio::task::spawn_blocking(move || crate::local::LocalEngine::open(&root))
                            .await
                            .map_err(|e| EngineError::Other(format!("opening the state root: {e}")))??;
                        Ok(Arc::new(e) as Arc<dyn ContainerBackend>)
                    })
                }),
                Target::Docker(host) => Arc::new(move || {
                    let host = host.clone();
                    Box::pin(async move { Ok(Arc::new(crate::docker::DockerBackend::connect(&host).await?) as Arc<dyn ContainerBackend>) })
                }),
            };
            eps.push(Arc::new(Endpoint {
                name: spec.name,
                address: spec.target.address(),
                remote: matches!(spec.target, Target::Docker(_)),
                connect,
                slot: Mutex::new(Slot::default()),
            }));
        }
        for e in &eps {
            e.reconnect();
        }
        Ok(Self { eps, current: RwLock::new(None) })
    }

    /// Every endpoint's name, address and state, in configured order.
    pub fn endpoints(&self) -> Vec<EndpointStatus> {
        self.eps.iter().map(|e| e.status()).collect()
    }

    /// Wait (up to `timeout`) until no endpoint is still making its first connection.
    pub async fn settle(&self, timeout: Duration) {
        let t0 = Instant::now();
        while t0.elapsed() < timeout && self.endpoints().iter().any(|e| e.state == EndpointState::Connecting) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Send unqualified names to `name` (None: the first endpoint).
    pub fn set_current(&self, name: Option<&str>) -> Result<()> {
        if let Some(n) = name
            && self.find(n).is_none()
        {
            return Err(EngineError::InvalidArgument(format!("no endpoint named {n:?}")));
        }
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = name.map(String::from);
        Ok(())
    }

    pub fn current(&self) -> Option<String> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn find(&self, name: &str) -> Option<Arc<Endpoint>> {
        self.eps.iter().find(|e| e.name == name).cloned()
    }

    fn current_ep(&self) -> Arc<Endpoint> {
        self.current().and_then(|n| self.find(&n)).unwrap_or_else(|| self.eps[0].clone())
    }

    /// The endpoint a (possibly qualified) name belongs to, and the name without qualifier.
    fn route<'a>(&self, q: &'a str) -> Result<(Arc<Endpoint>, &'a str)> {
        match split(q) {
            (Some(ep), rest) => match self.find(ep) {
                Some(e) => Ok((e, rest)),
                None => Err(EngineError::InvalidArgument(format!("no endpoint named {ep:?} (in {q:?})"))),
            },
            (None, rest) => Ok((self.current_ep(), rest)),
        }
    }

    fn backend_for<'a>(&self, q: &'a str) -> Result<(Arc<Endpoint>, Arc<dyn ContainerBackend>, &'a str)> {
        let (ep, rest) = self.route(q)?;
        let b = ep.backend()?;
        Ok((ep, b, rest))
    }

    /// The endpoints a fan-out covers: the current one if the user picked one, else all.
    fn scope(&self) -> Vec<Arc<Endpoint>> {
        match self.current().and_then(|n| self.find(&n)) {
            Some(e) => vec![e],
            None => self.eps.clone(),
        }
    }

    /// Ask every endpoint of `eps` at once, each within LIST_TIMEOUT; endpoints not
    /// connected are skipped (their reconnect started). Results in endpoint order.
    async fn fan_out<T: Send + 'static>(
        eps: Vec<Arc<Endpoint>>,
        f: impl Fn(Arc<dyn ContainerBackend>) -> BoxFuture<'static, Result<T>>,
    ) -> Vec<(Arc<Endpoint>, Result<T>)> {
        let calls = eps.into_iter().map(|ep| {
            let fut = ep.backend().map(&f);
            async move {
                let r = match fut {
                    Err(e) => Err(e),
                    Ok(fut) => match tokio::time::timeout(LIST_TIMEOUT, fut).await {
                        Ok(r) => {
                            ep.record(r.as_ref().map(|_| ()).map_err(|e| e.to_string()));
                            r
                        }
                        Err(_) => {
                            let e = format!("no answer within {} s", LIST_TIMEOUT.as_secs());
                            ep.record(Err(e.clone()));
                            Err(EngineError::Other(format!("endpoint {}: {e}", ep.name)))
                        }
                    },
                };
                (ep, r)
            }
        });
        futures_util::future::join_all(calls).await
    }

    /// Merge per-endpoint lists: an error only when no endpoint answered and one failed
    /// for a reason other than still connecting.
    fn merge<T>(results: Vec<(Arc<Endpoint>, Result<Vec<T>>)>, tag: impl Fn(&str, &mut T)) -> Result<Vec<T>> {
        let mut out = Vec::new();
        let (mut ok, mut errors) = (false, Vec::new());
        for (ep, r) in results {
            match r {
                Ok(list) => {
                    ok = true;
                    out.extend(list.into_iter().map(|mut x| {
                        tag(&ep.name, &mut x);
                        x
                    }));
                }
                Err(_) if ep.status().state == EndpointState::Connecting => {}
                Err(e) => errors.push(e.to_string()),
            }
        }
        if !ok && !errors.is_empty() {
            return Err(EngineError::Other(errors.join("; ")));
        }
        Ok(out)
    }

    fn failed_stream<T: Send + 'static>(e: EngineError) -> BoxStream<'static, Result<T>> {
        futures_util::stream::once(async move { Err(e) }).boxed()
    }
}

/// A stream per endpoint merged into one, each restarted after RETRY when it fails or its
/// endpoint is down; items are mapped by `tag` (qualifying IDs). Ends when dropped.
fn merged<T: Send + 'static>(
    eps: Vec<(Arc<Endpoint>, Vec<String>)>,
    open: impl Fn(&Arc<dyn ContainerBackend>, Vec<String>) -> BoxStream<'static, Result<T>> + Send + Sync + 'static,
    tag: impl Fn(&str, T) -> T + Send + Sync + 'static,
    restart: bool,
) -> BoxStream<'static, Result<T>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<T>>(8);
    let (open, tag) = (Arc::new(open), Arc::new(tag));
    for (ep, ids) in eps {
        let (tx, open, tag) = (tx.clone(), open.clone(), tag.clone());
        tokio::spawn(async move {
            loop {
                if let Ok(b) = ep.backend() {
                    let mut s = open(&b, ids.clone());
                    while let Some(item) = s.next().await {
                        let item = item.map(|x| tag(&ep.name, x)).map_err(|e| EngineError::Other(format!("{}: {e}", ep.name)));
                        if tx.send(item).await.is_err() {
                            return;
                        }
                    }
                }
                if !restart {
                    return;
                }
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = tx.closed() => return,
                }
            }
        });
    }
    tokio_stream_from(rx)
}

fn tokio_stream_from<T: Send + 'static>(rx: tokio::sync::mpsc::Receiver<T>) -> BoxStream<'static, T> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) }).boxed()
}

#[async_trait]
impl ContainerBackend for MultiBackend {
    fn describe(&self) -> String {
        match self.current() {
            Some(c) => format!("endpoint {c}"),
            None => format!("endpoints {}", self.eps.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")),
        }
    }

    async fn list_images(&self, opts: &ImageListOptions) -> Result<Vec<ImageSummary>> {
        let opts = opts.clone();
        let r = Self::fan_out(self.eps.clone(), move |b| {
            let o = opts.clone();
            Box::pin(async move { b.list_images(&o).await })
        })
        .await;
        Self::merge(r, |ep, i| i.id = qualify(ep, &i.id))
    }

    async fn inspect_image(&self, name: &str) -> Result<ImageInspect> {
        let (_, b, n) = self.backend_for(name)?;
        b.inspect_image(n).await
    }

    async fn image_history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let (_, b, n) = self.backend_for(name)?;
        b.image_history(n).await
    }

    fn pull_image(&self, reference: &str, opts: PullOptions) -> BoxStream<'static, Result<ProgressEvent>> {
        match self.backend_for(reference) {
            Ok((_, b, r)) => b.pull_image(r, opts),
            Err(e) => Self::failed_stream(e),
        }
    }

    fn push_image(&self, reference: &str) -> BoxStream<'static, Result<ProgressEvent>> {
        match self.backend_for(reference) {
            Ok((_, b, r)) => b.push_image(r),
            Err(e) => Self::failed_stream(e),
        }
    }

    async fn tag_image(&self, source: &str, target: &str) -> Result<()> {
        let (_, b, s) = self.backend_for(source)?;
        b.tag_image(s, split(target).1).await
    }

    async fn remove_image(&self, name: &str, force: bool) -> Result<Vec<RemovedImage>> {
        let (_, b, n) = self.backend_for(name)?;
        b.remove_image(n, force).await
    }

    async fn prune_images(&self, all: bool) -> Result<PruneReport> {
        let mut report = PruneReport::default();
        for ep in self.scope() {
            let r = ep.backend()?.prune_images(all).await?;
            report.removed.extend(r.removed);
            report.space_reclaimed += r.space_reclaimed;
        }
        Ok(report)
    }

    async fn load_images(&self, input: ByteReader) -> Result<Vec<String>> {
        self.current_ep().backend()?.load_images(input).await
    }

    async fn save_images(&self, names: &[String], output: ByteWriter) -> Result<()> {
        let (_, b, _) = self.backend_for(names.first().map(String::as_str).unwrap_or(""))?;
        let names: Vec<String> = names.iter().map(|n| split(n).1.to_string()).collect();
        b.save_images(&names, output).await
    }

    async fn import_image(
        &self,
        input: ByteReader,
        reference: Option<String>,
        changes: Vec<String>,
        message: Option<String>,
    ) -> Result<String> {
        self.current_ep().backend()?.import_image(input, reference, changes, message).await
    }

    async fn login(&self, registry: &str, creds: &Credentials) -> Result<String> {
        self.current_ep().backend()?.login(registry, creds).await
    }

    async fn create_container(&self, opts: &ContainerCreate) -> Result<String> {
        let (ep, b, image) = self.backend_for(&opts.image)?;
        let opts = ContainerCreate { image: image.to_string(), ..opts.clone() };
        Ok(qualify(&ep.name, &b.create_container(&opts).await?))
    }

    async fn start_container(&self, id: &str) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.start_container(id).await
    }

    async fn stop_container(&self, id: &str, timeout: Option<u32>) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.stop_container(id, timeout).await
    }

    async fn kill_container(&self, id: &str, signal: &str) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.kill_container(id, signal).await
    }

    async fn remove_container(&self, id: &str, force: bool) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.remove_container(id, force).await
    }

    async fn remove_container_and_volumes(&self, id: &str, force: bool) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.remove_container_and_volumes(id, force).await
    }

    async fn list_containers(&self, opts: &ContainerListOptions) -> Result<Vec<ContainerSummary>> {
        let opts = opts.clone();
        let r = Self::fan_out(self.eps.clone(), move |b| {
            let o = opts.clone();
            Box::pin(async move { b.list_containers(&o).await })
        })
        .await;
        Self::merge(r, |ep, c| c.id = qualify(ep, &c.id))
    }

    async fn stat_container_path(&self, id: &str, path: &str) -> Result<PathStat> {
        let (_, b, id) = self.backend_for(id)?;
        b.stat_container_path(id, path).await
    }

    async fn copy_from_container(&self, id: &str, path: &str, output: ByteWriter) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.copy_from_container(id, path, output).await
    }

    async fn copy_to_container(&self, id: &str, path: &str, input: ByteReader, copy_uid_gid: bool) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.copy_to_container(id, path, input, copy_uid_gid).await
    }

    async fn container_changes(&self, id: &str) -> Result<Vec<FsChange>> {
        let (_, b, id) = self.backend_for(id)?;
        b.container_changes(id).await
    }

    async fn export_container(&self, id: &str, output: ByteWriter) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.export_container(id, output).await
    }

    /// The new image lives on the container's endpoint; its reference is taken as typed.
    async fn commit_container(&self, id: &str, opts: &CommitOptions) -> Result<String> {
        let (ep, b, id) = self.backend_for(id)?;
        let opts = CommitOptions { reference: opts.reference.as_deref().map(|r| split(r).1.to_string()), ..opts.clone() };
        Ok(qualify(&ep.name, &b.commit_container(id, &opts).await?))
    }

    async fn inspect_container(&self, id: &str) -> Result<ContainerInspect> {
        let (_, b, id) = self.backend_for(id)?;
        b.inspect_container(id).await
    }

    async fn wait_container(&self, id: &str) -> Result<i64> {
        let (_, b, id) = self.backend_for(id)?;
        b.wait_container(id).await
    }

    async fn container_logs(&self, id: &str, opts: &LogOptions) -> Result<BoxStream<'static, Result<LogLine>>> {
        let (_, b, id) = self.backend_for(id)?;
        b.container_logs(id, opts).await
    }

    fn stats(&self, ids: Vec<String>, interval: Duration) -> BoxStream<'static, Result<Vec<StatsSample>>> {
        let mut by_ep: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for q in &ids {
            match self.route(q) {
                Ok((ep, id)) => by_ep.entry(ep.name.clone()).or_default().push(id.to_string()),
                Err(e) => return Self::failed_stream(e),
            }
        }
        let eps: Vec<(Arc<Endpoint>, Vec<String>)> = if ids.is_empty() {
            self.eps.iter().map(|e| (e.clone(), vec![])).collect()
        } else {
            by_ep.into_iter().filter_map(|(n, v)| self.find(&n).map(|e| (e, v))).collect()
        };
        merged(
            eps,
            move |b, ids| b.stats(ids, interval),
            |ep, mut batch: Vec<StatsSample>| {
                for s in &mut batch {
                    s.id = qualify(ep, &s.id);
                }
                batch
            },
            true,
        )
    }

    async fn top(&self, id: &str, ps_args: Vec<String>) -> Result<TopResult> {
        let (_, b, id) = self.backend_for(id)?;
        b.top(id, ps_args).await
    }

    async fn system_info(&self) -> Result<SystemInfo> {
        if let [ep] = &self.scope()[..] {
            return ep.backend()?.system_info().await;
        }
        let r = Self::fan_out(self.eps.clone(), |b| Box::pin(async move { b.system_info().await.map(|i| vec![i]) })).await;
        let mut sum = SystemInfo { engine: "multi".into(), ..SystemInfo::default() };
        for i in Self::merge(r, |_, _| {})? {
            sum.cpus += i.cpus;
            sum.memory_total += i.memory_total;
            sum.containers += i.containers;
            sum.containers_running += i.containers_running;
            sum.containers_paused += i.containers_paused;
            sum.containers_stopped += i.containers_stopped;
            sum.images += i.images;
        }
        Ok(sum)
    }

    async fn disk_usage(&self) -> Result<DiskUsage> {
        let r = Self::fan_out(self.scope(), |b| Box::pin(async move { b.disk_usage().await.map(|d| vec![d]) })).await;
        let mut sum = DiskUsage::default();
        let tagged = Self::merge(r, |ep, d: &mut DiskUsage| {
            d.images.iter_mut().for_each(|i| i.id = qualify(ep, &i.id));
            d.containers.iter_mut().for_each(|c| c.id = qualify(ep, &c.id));
        })?;
        for d in tagged {
            sum.images.extend(d.images);
            sum.containers.extend(d.containers);
            sum.layers_size += d.layers_size;
        }
        Ok(sum)
    }

    async fn pause_container(&self, id: &str) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.pause_container(id).await
    }

    async fn unpause_container(&self, id: &str) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.unpause_container(id).await
    }

    async fn restart_container(&self, id: &str, timeout: Option<u32>) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.restart_container(id, timeout).await
    }

    async fn rename_container(&self, id: &str, new_name: &str) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.rename_container(id, new_name).await
    }

    async fn attach_session(&self, id: &str, size: Option<(u16, u16)>) -> Result<Session> {
        let (_, b, id) = self.backend_for(id)?;
        b.attach_session(id, size).await
    }

    async fn attach_and_start(&self, id: &str, opts: AttachOptions) -> Result<Session> {
        let (_, b, id) = self.backend_for(id)?;
        b.attach_and_start(id, opts).await
    }

    async fn exec_session(&self, id: &str, opts: ExecOptions) -> Result<Session> {
        let (_, b, id) = self.backend_for(id)?;
        b.exec_session(id, opts).await
    }

    async fn exec_detached(&self, id: &str, opts: ExecOptions) -> Result<()> {
        let (_, b, id) = self.backend_for(id)?;
        b.exec_detached(id, opts).await
    }

    async fn shell(&self, id: &str) -> Result<Vec<String>> {
        let (_, b, id) = self.backend_for(id)?;
        b.shell(id).await
    }

    /// Known only when every endpoint is connected and knows its own (else None: refresh).
    fn change_token(&self) -> Option<u64> {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        for e in &self.eps {
            let b = e.slot().backend.clone()?;
            b.change_token()?.hash(&mut h);
        }
        Some(h.finish())
    }

    fn events(&self, opts: EventOptions) -> BoxStream<'static, Result<EngineEvent>> {
        let eps = self.scope().into_iter().map(|e| (e, vec![])).collect();
        // A live-only stream picks an endpoint up again when it comes back; one with a
        // window must not replay it.
        let live = opts.since.is_none() && opts.until.is_none();
        merged(
            eps,
            move |b, _| b.events(opts.clone()),
            |ep, mut e: EngineEvent| {
                e.actor = qualify(ep, &e.actor);
                e
            },
            live,
        )
    }

    // Volume names are qualified `ENDPOINT#NAME` like IDs; an unqualified one goes to the
    // current endpoint.
    async fn list_volumes(&self, opts: &VolumeListOptions) -> Result<Vec<Volume>> {
        let opts = opts.clone();
        let r = Self::fan_out(self.eps.clone(), move |b| {
            let o = opts.clone();
            Box::pin(async move { b.list_volumes(&o).await })
        })
        .await;
        Self::merge(r, |ep, v| v.name = qualify(ep, &v.name))
    }

    async fn create_volume(&self, name: Option<&str>) -> Result<Volume> {
        let (ep, b, n) = match name {
            Some(q) => {
                let (ep, b, n) = self.backend_for(q)?;
                (ep, b, Some(n))
            }
            None => {
                let ep = self.current_ep();
                let b = ep.backend()?;
                (ep, b, None)
            }
        };
        let mut v = b.create_volume(n).await?;
        v.name = qualify(&ep.name, &v.name);
        Ok(v)
    }

    async fn inspect_volume(&self, name: &str) -> Result<Volume> {
        let (ep, b, n) = self.backend_for(name)?;
        let mut v = b.inspect_volume(n).await?;
        v.name = qualify(&ep.name, &v.name);
        Ok(v)
    }

    async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let (_, b, n) = self.backend_for(name)?;
        b.remove_volume(n, force).await
    }

    async fn prune_volumes(&self, all: bool) -> Result<VolumePruneReport> {
        let mut report = VolumePruneReport::default();
        for ep in self.scope() {
            let r = ep.backend()?.prune_volumes(all).await?;
            report.removed.extend(r.removed.iter().map(|n| qualify(&ep.name, n)));
            report.space_reclaimed += r.space_reclaimed;
        }
        Ok(report)
    }

    // Network names and IDs are qualified like volume names; connect/disconnect go to the
    // network's endpoint, with the container's own qualification dropped.
    async fn list_networks(&self) -> Result<Vec<Network>> {
        let r = Self::fan_out(self.eps.clone(), move |b| Box::pin(async move { b.list_networks().await })).await;
        Self::merge(r, |ep, n| {
            n.name = qualify(ep, &n.name);
            n.id = qualify(ep, &n.id);
        })
    }

    async fn create_network(&self, opts: &NetworkCreate) -> Result<Network> {
        let (ep, b, n) = self.backend_for(&opts.name)?;
        let mut net = b.create_network(&NetworkCreate { name: n.to_string(), ..opts.clone() }).await?;
        net.name = qualify(&ep.name, &net.name);
        net.id = qualify(&ep.name, &net.id);
        Ok(net)
    }

    async fn inspect_network(&self, name: &str) -> Result<Network> {
        let (ep, b, n) = self.backend_for(name)?;
        let mut net = b.inspect_network(n).await?;
        net.name = qualify(&ep.name, &net.name);
        net.id = qualify(&ep.name, &net.id);
        Ok(net)
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        let (_, b, n) = self.backend_for(name)?;
        b.remove_network(n).await
    }

    async fn prune_networks(&self) -> Result<NetworkPruneReport> {
        let mut report = NetworkPruneReport::default();
        for ep in self.scope() {
            let r = ep.backend()?.prune_networks().await?;
            report.removed.extend(r.removed.iter().map(|n| qualify(&ep.name, n)));
        }
        Ok(report)
    }

    async fn connect_network(&self, network: &str, opts: &NetworkConnect) -> Result<()> {
        let (_, b, n) = self.backend_for(network)?;
        let container = split(&opts.container).1.to_string();
        b.connect_network(n, &NetworkConnect { container, ..opts.clone() }).await
    }

    async fn disconnect_network(&self, network: &str, container: &str, force: bool) -> Result<()> {
        let (_, b, n) = self.backend_for(network)?;
        b.disconnect_network(n, split(container).1, force).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_names_split_back() {
        assert_eq!(split(&qualify("dockerd", "abc")), (Some("dockerd"), "abc"));
        assert_eq!(split("localhost:5000/x/busybox:1"), (None, "localhost:5000/x/busybox:1"));
        assert_eq!(split(&qualify("a", "sha256:00")), (Some("a"), "sha256:00"));
        assert_eq!(requalify("remote#sha256:1", "busybox:latest"), "remote#busybox:latest");
        assert_eq!(requalify("sha256:1", "busybox:latest"), "busybox:latest");
        assert!(valid_name("local-docker") && valid_name("a.b_c+1"));
        for bad in ["", "-x", "a#b", "a/b", "a b", &"x".repeat(65)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}

//! Talking to OCI distribution registries: pull, push, login, and the credentials file.
//!
//! oci-client does the HTTP (auth challenges, token cache, blob streams, uploads); this
//! module adds what docker users expect on top: loopback registries over plain HTTP,
//! credentials from docker's `config.json`, platform choice, and one clear error line
//! instead of oci-client's nested errors.
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;

use crate::error::EngineError;
use crate::image::reference::Reference;

pub mod auth;
pub(crate) mod manifest;
pub(crate) mod platform;
pub(crate) mod pull;
pub(crate) mod push;

/// Layers fetched or uploaded at once (docker's default is 3 as well).
pub const MAX_CONCURRENT: usize = 3;

/// Where a reference points, ready for oci-client: the client (plain HTTP for loopback
/// registries, as docker does), its reference and the credentials we hold for the registry.
pub(crate) struct Session {
    pub client: oci_client::Client,
    pub oci_ref: oci_client::Reference,
    pub auth: RegistryAuth,
    pub registry: String,
}

impl Session {
    pub fn new(r: &Reference) -> Self {
        let oci_ref = match (&r.tag, &r.digest) {
            (Some(t), Some(d)) => {
                oci_client::Reference::with_tag_and_digest(r.registry.clone(), r.repository.clone(), t.clone(), d.to_string())
            }
            (None, Some(d)) => oci_client::Reference::with_digest(r.registry.clone(), r.repository.clone(), d.to_string()),
            (Some(t), None) => oci_client::Reference::with_tag(r.registry.clone(), r.repository.clone(), t.clone()),
            (None, None) => oci_client::Reference::with_tag(r.registry.clone(), r.repository.clone(), "latest".into()),
        };
        let protocol = if r.is_insecure_registry() {
            ClientProtocol::HttpsExcept(vec![oci_ref.resolve_registry().to_string()])
        } else {
            ClientProtocol::Https
        };
        let config = ClientConfig {
            protocol,
            use_monolithic_push: true,
            platform_resolver: None,
            connect_timeout: Some(std::time::Duration::from_secs(30)),
            read_timeout: Some(std::time::Duration::from_secs(120)),
            user_agent: concat!("berth/", env!("CARGO_PKG_VERSION")),
            max_concurrent_download: MAX_CONCURRENT,
            max_concurrent_upload: MAX_CONCURRENT,
            ..Default::default()
        };
        let auth = match auth::lookup(&r.registry) {
            Some(c) => RegistryAuth::Basic(c.username, c.password),
            None => RegistryAuth::Anonymous,
        };
        Self { client: oci_client::Client::new(config), oci_ref, auth, registry: r.registry.clone() }
    }

    /// The same repository at another tag or digest.
    pub fn at_digest(&self, digest: &str) -> oci_client::Reference {
        self.oci_ref.clone_with_digest(digest.to_string())
    }

    pub fn err(&self, e: OciDistributionError) -> EngineError {
        map_error(&self.registry, e)
    }
}

/// The innermost cause of an error chain, which is what a user can act on
/// ("Connection refused", "connection closed before message completed").
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

fn oci_code(code: &OciErrorCode) -> &'static str {
    match code {
        OciErrorCode::BlobUnknown => "blob unknown",
        OciErrorCode::BlobUploadInvalid => "blob upload invalid",
        OciErrorCode::BlobUploadUnknown => "blob upload unknown",
        OciErrorCode::DigestInvalid => "digest invalid",
        OciErrorCode::ManifestBlobUnknown => "manifest blob unknown",
        OciErrorCode::ManifestInvalid => "manifest invalid",
        OciErrorCode::ManifestUnknown => "manifest unknown",
        OciErrorCode::NameInvalid => "repository name invalid",
        OciErrorCode::NameUnknown => "repository name not known to registry",
        OciErrorCode::NotFound => "not found",
        OciErrorCode::SizeInvalid => "size invalid",
        OciErrorCode::Unauthorized => "authentication required",
        OciErrorCode::Denied => "requested access to the resource is denied",
        OciErrorCode::Unsupported => "unsupported",
        OciErrorCode::Toomanyrequests => "too many requests",
        _ => "error",
    }
}

/// Whether the registry said the repository or tag does not exist.
pub(crate) fn is_not_found(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|x| matches!(x.code, OciErrorCode::ManifestUnknown | OciErrorCode::NameUnknown | OciErrorCode::NotFound)),
        OciDistributionError::ServerError { code: 404, .. } => true,
        OciDistributionError::ImageManifestNotFoundError(_) => true,
        _ => false,
    }
}

/// oci-client's error as one line naming the registry.
pub(crate) fn map_error(registry: &str, e: OciDistributionError) -> EngineError {
    let reg = |message: String| EngineError::Registry { registry: registry.to_string(), message };
    match e {
        OciDistributionError::UnauthorizedError { .. } => EngineError::Unauthorized(registry.to_string()),
        OciDistributionError::AuthenticationFailure(m) => reg(format!("authentication failed: {}", one_line(&m))),
        OciDistributionError::RegistryError { envelope, .. } => {
            if envelope.errors.iter().any(|x| matches!(x.code, OciErrorCode::Unauthorized)) {
                return EngineError::Unauthorized(registry.to_string());
            }
            let msgs: Vec<String> = envelope
                .errors
                .iter()
                .map(|x| {
                    let code = oci_code(&x.code);
                    if x.message.is_empty() || x.message == code { code.to_string() } else { format!("{code}: {}", one_line(&x.message)) }
                })
                .collect();
            reg(msgs.join("; "))
        }
        OciDistributionError::ServerError { code, message, .. } => {
            let m = one_line(&message);
            if code == 401 {
                EngineError::Unauthorized(registry.to_string())
            } else if m.is_empty() {
                reg(format!("HTTP status {code}"))
            } else {
                reg(format!("HTTP status {code}: {m}"))
            }
        }
        OciDistributionError::RequestError(re) => {
            let cause = root_cause(&re);
            if re.status().is_some_and(|s| s.as_u16() == 401) {
                EngineError::Unauthorized(registry.to_string())
            } else if let Some(s) = re.status() {
                reg(format!("HTTP status {s}"))
            } else if re.is_connect() {
                reg(format!("cannot connect: {cause}"))
            } else if re.is_timeout() {
                reg(format!("timed out: {cause}"))
            } else {
                reg(format!("connection failed: {cause}"))
            }
        }
        OciDistributionError::IoError(io) => reg(format!("transfer failed: {}", root_cause(&io))),
        OciDistributionError::DigestError(d) => reg(format!("content does not match its digest: {d}")),
        other => reg(one_line(&other.to_string())),
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The sending half of a progress stream. Sends never fail: when the consumer has gone,
/// the task is being aborted anyway.
#[derive(Clone)]
pub(crate) struct Progress(tokio::sync::mpsc::Sender<crate::error::Result<crate::api::ProgressEvent>>);

impl Progress {
    pub async fn send(&self, ev: crate::api::ProgressEvent) {
        let _ = self.0.send(Ok(ev)).await;
    }
    pub async fn message(&self, m: impl Into<String>) {
        self.send(crate::api::ProgressEvent::Message(m.into())).await
    }
    pub async fn layer(&self, id: &str, status: crate::api::LayerStatus, current: u64, total: Option<u64>) {
        self.send(crate::api::ProgressEvent::Layer { id: id.to_string(), status, current, total }).await
    }
    /// From synchronous code (a byte stream's callback): dropped when the channel is full.
    pub fn try_layer(&self, id: &str, status: crate::api::LayerStatus, current: u64, total: Option<u64>) {
        let _ = self.0.try_send(Ok(crate::api::ProgressEvent::Layer { id: id.to_string(), status, current, total }));
    }
}

/// A job for [`Offload`].
pub type BlockingJob = Box<dyn FnOnce() + Send>;

/// How pull and push run their blocking store work (unpacking, fsync, SQLite) off the async
/// runtime. `crate::local` provides it, so spawning blocking tasks stays in one layer and
/// this module is plain code over `&ImageStore`.
#[derive(Clone)]
pub struct Offload(std::sync::Arc<dyn Fn(BlockingJob) -> tokio::task::JoinHandle<()> + Send + Sync>);

impl Offload {
    pub fn new(spawn: impl Fn(BlockingJob) -> tokio::task::JoinHandle<()> + Send + Sync + 'static) -> Self {
        Self(std::sync::Arc::new(spawn))
    }

    /// Start `job` now (not when the future is first polled) and resolve to its result.
    pub fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> crate::error::Result<T> + Send + 'static,
    ) -> impl std::future::Future<Output = crate::error::Result<T>> + Send + 'static {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let handle = (self.0)(Box::new(move || {
            let _ = tx.send(job());
        }));
        async move {
            handle.await.map_err(|source| EngineError::Task { what: "a blocking store task".into(), source })?;
            rx.await.unwrap_or_else(|_| Err(EngineError::Other("a blocking store task ended without a result".into())))
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Run `job` as a task on first poll and stream what it reports; its error, if any, is the
/// last item. Dropping the stream aborts the job (a dropped ingest writer removes its file).
pub(crate) fn spawn_stream<F, Fut>(job: F) -> futures_util::stream::BoxStream<'static, crate::error::Result<crate::api::ProgressEvent>>
where
    F: FnOnce(Progress) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = crate::error::Result<()>> + Send + 'static,
{
    use futures_util::StreamExt;
    let (tx, rx) = tokio::sync::mpsc::channel(256);
    struct State<F> {
        job: Option<(F, tokio::sync::mpsc::Sender<crate::error::Result<crate::api::ProgressEvent>>)>,
        rx: tokio::sync::mpsc::Receiver<crate::error::Result<crate::api::ProgressEvent>>,
        _task: Option<AbortOnDrop>,
    }
    let st = State { job: Some((job, tx)), rx, _task: None };
    futures_util::stream::unfold(st, |mut st| async move {
        if let Some((job, tx)) = st.job.take() {
            st._task = Some(AbortOnDrop(tokio::spawn(async move {
                if let Err(e) = job(Progress(tx.clone())).await {
                    let _ = tx.send(Err(e)).await;
                }
            })));
        }
        st.rx.recv().await.map(|item| (item, st))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use futures_util::StreamExt;

    use super::*;
    use crate::api::ProgressEvent;

    struct SetOnDrop(Arc<AtomicBool>);
    impl Drop for SetOnDrop {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn stream_ends_with_the_jobs_error() {
        let s = spawn_stream(|p| async move {
            p.message("one").await;
            Err(EngineError::Other("boom".into()))
        });
        let items: Vec<_> = s.collect().await;
        assert!(matches!(&items[0], Ok(ProgressEvent::Message(m)) if m == "one"));
        assert!(matches!(&items[1], Err(EngineError::Other(m)) if m == "boom"));
        assert_eq!(items.len(), 2);
    }

    #[tokio::test]
    async fn dropping_the_stream_aborts_the_job() {
        let dropped = Arc::new(AtomicBool::new(false));
        let d = dropped.clone();
        let mut s = spawn_stream(move |p| async move {
            let _guard = SetOnDrop(d);
            p.message("started").await;
            std::future::pending::<()>().await;
            Ok(())
        });
        assert!(matches!(s.next().await, Some(Ok(ProgressEvent::Message(_)))));
        drop(s);
        for _ in 0..100 {
            if dropped.load(Ordering::SeqCst) {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the job kept running after its stream was dropped");
    }

    #[test]
    fn errors_are_one_line_naming_the_registry() {
        let e = map_error("r:5000", OciDistributionError::UnauthorizedError { url: "http://r:5000/v2/x".into() });
        assert_eq!(e.to_string(), "unauthorized: authentication required for r:5000");
        let env: oci_client::errors::OciEnvelope =
            serde_json::from_str(r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#).unwrap();
        let e = OciDistributionError::RegistryError { envelope: env, url: String::new() };
        assert!(is_not_found(&e));
        assert_eq!(map_error("r:5000", e).to_string(), "registry r:5000: manifest unknown");
        let e = map_error("r:5000", OciDistributionError::ServerError { code: 500, url: String::new(), message: "a\nb".into() });
        assert_eq!(e.to_string(), "registry r:5000: HTTP status 500: a b");
    }
}

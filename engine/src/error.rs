//! The engine's error type. One enum, each variant naming the thing it is about, so a
//! front end can print one clear line (`Display`) and pick an exit code or HTTP status.
use std::path::PathBuf;

/// Errors every backend returns through [`crate::api::ContainerBackend`].
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("invalid reference format: {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("No such image: {0}")]
    ImageNotFound(String),
    #[error("No such container: {0}")]
    ContainerNotFound(String),
    #[error("No such volume: {0}")]
    VolumeNotFound(String),
    #[error("network {0} not found")]
    NetworkNotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch { what: String, expected: String, actual: String },
    #[error("size mismatch for {what}: expected {expected} bytes, got {actual}")]
    SizeMismatch { what: String, expected: u64, actual: u64 },
    #[error("unsafe layer entry {entry:?}: {reason}")]
    UnsafeLayer { entry: String, reason: String },
    #[error("invalid archive: {0}")]
    InvalidArchive(String),
    #[error("invalid image: {0}")]
    InvalidImage(String),
    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },
    #[error("unauthorized: authentication required for {0}")]
    Unauthorized(String),
    #[error("no matching manifest for {platform} in the manifest list of {reference}")]
    NoMatchingPlatform { reference: String, platform: String },
    #[error("state database {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{context}: {source}")]
    IoContext {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Unsupported(String),
    /// The container's process could not be started; `code` is docker's exit code for it
    /// (126 not executable, 127 not found, 125 otherwise).
    #[error("{message}")]
    StartFailed { code: i32, message: String },
    /// JSON that berth writes or reads itself (a config, a manifest, a spec) would not
    /// encode or decode.
    #[error("{what}: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A blocking or background task of the engine panicked or was cancelled.
    #[error("{what} failed: {source}")]
    Task {
        what: String,
        #[source]
        source: tokio::task::JoinError,
    },
    /// The runtime (libcontainer, or an external one given with `--runtime`) refused an
    /// operation on a container (load, pause, resume, kill).
    #[error("container {container}: {source}")]
    Runtime {
        container: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The runtime spec (`config.json`) could not be written.
    #[error("{}: {source}", .path.display())]
    Spec {
        path: PathBuf,
        #[source]
        source: oci_spec::OciSpecError,
    },
    /// A blob the database names is not in the content store.
    #[error("blob {digest} is missing from the content store")]
    BlobMissing {
        digest: String,
        #[source]
        source: std::io::Error,
    },
    /// Something went wrong that no cause explains better (the message says what).
    #[error("{0}")]
    Other(String),
    /// `cp`'s missing source or destination, worded as docker words it.
    #[error("Could not find the file {path} in container {container}")]
    PathNotFound { path: String, container: String },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

impl EngineError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        EngineError::Io { path: path.into(), source }
    }
    pub fn io_ctx(context: impl Into<String>, source: std::io::Error) -> Self {
        EngineError::IoContext { context: context.into(), source }
    }
}

/// Attach a path to an `io::Result`.
pub trait IoResultExt<T> {
    fn at(self, path: impl AsRef<std::path::Path>) -> Result<T>;
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoResultExt<T> for std::io::Result<T> {
    fn at(self, path: impl AsRef<std::path::Path>) -> Result<T> {
        self.map_err(|e| EngineError::io(path.as_ref(), e))
    }
    fn ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| EngineError::io_ctx(context(), e))
    }
}

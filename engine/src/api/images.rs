//! Images: lists, inspect, history, pull/push progress, removal.
use super::*;
use serde::{Deserialize, Serialize};

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

//! The host and the engine as a whole: `info`, `system df`, events, stats samples.
use serde::{Deserialize, Serialize};

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

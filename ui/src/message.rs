//! The dashboard's two vocabularies: [`Message`]s that background tasks send to the state
//! (lists, stats, a tab's data, an action's result), and [`Action`]s, the work a key asks
//! the event loop to start. Neither knows about panes, so any pane or dialog can name them.
use berth_engine::api::{
    ContainerCreate, ContainerSummary, FsChange, HistoryItem, ImageSummary, LogLine, Network, ProgressEvent, PruneReport, RemovedImage,
    StatsSample, SystemInfo, TopResult, Volume,
};
use berth_engine::multi::EndpointStatus;

/// Everything that can change the state.
#[derive(Debug)]
pub enum Message {
    Containers(Result<Vec<ContainerSummary>, String>),
    Images(Result<Vec<ImageSummary>, String>),
    Volumes(Result<Vec<Volume>, String>),
    /// A volume removed (its name) or volumes pruned.
    VolumesChanged(Result<String, String>),
    Networks(Result<Vec<Network>, String>),
    /// A network created, removed, pruned, (dis)connected: what happened.
    NetworksChanged(Result<String, String>),
    /// One batch from the stats stream, received at unix second `now`.
    Stats {
        samples: Vec<StatsSample>,
        now: i64,
    },
    /// The stats stream failed (shown in the Stats tab, not as a dialog: it retries).
    StatsError(String),
    Info(Result<SystemInfo, String>),
    Top {
        id: String,
        result: Result<TopResult, String>,
    },
    LogLines {
        id: String,
        lines: Vec<LogLine>,
    },
    LogEnd {
        id: String,
        error: Option<String>,
    },
    Inspect {
        id: String,
        result: Result<serde_json::Value, String>,
    },
    /// The Changes tab's list (`diff`).
    Changes {
        id: String,
        result: Result<Vec<FsChange>, String>,
    },
    /// A commit finished: the new image's ID (and its name), or the error.
    Committed(Result<(String, String), String>),
    /// A container action finished; errors become a dialog.
    Done(Result<(), String>),
    Removed(Result<Vec<RemovedImage>, String>),
    Pruned(Result<PruneReport, String>),
    Pull(Result<ProgressEvent, String>),
    History {
        image: String,
        result: Result<Vec<HistoryItem>, String>,
    },
    Tick {
        now: i64,
    },
    /// The endpoints and whether each answers (several-endpoint dashboards only).
    Endpoints(Vec<EndpointStatus>),
}

/// Container actions that take only IDs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContainerOp {
    Start,
    Stop,
    Restart,
    Kill,
    Pause,
    Unpause,
    Remove,
}

impl ContainerOp {
    pub fn verb(self) -> &'static str {
        match self {
            ContainerOp::Start => "start",
            ContainerOp::Stop => "stop",
            ContainerOp::Restart => "restart",
            ContainerOp::Kill => "kill",
            ContainerOp::Pause => "pause",
            ContainerOp::Unpause => "unpause",
            ContainerOp::Remove => "remove",
        }
    }
}

/// How a terminal session attaches to its container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A new shell (found from the image) via exec.
    Shell,
    /// The container's own TTY.
    Attach,
}

/// Work for the event loop.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Containers(ContainerOp, Vec<String>),
    Rename {
        id: String,
        name: String,
    },
    Commit {
        id: String,
        reference: String,
    },
    Run(Box<ContainerCreate>),
    RemoveImage(String),
    PruneImages,
    RemoveVolume(String),
    PruneVolumes,
    CreateNetwork(String),
    RemoveNetwork(String),
    PruneNetworks,
    ConnectNetwork {
        network: String,
        container: String,
    },
    DisconnectNetwork {
        network: String,
        container: String,
    },
    Pull(String),
    History(String),
    Refresh,
    /// Show one endpoint (None: all); unqualified names (pull, run) go there too.
    SetEndpoint(Option<String>),
    /// Open a terminal session on a container, its screen `size` (rows, cols).
    OpenSession {
        kind: SessionKind,
        id: String,
        title: String,
        size: (u16, u16),
    },
}

//! The dashboard's one state store. Background tasks and key handling produce
//! [`Message`]s; [`AppState::update`] applies them and says whether anything visible
//! changed, so the loop redraws only when dirty. Rendering reads this, never does I/O.
use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use berth_engine::api::{
    ContainerSummary, FsChange, HistoryItem, ImageSummary, LayerStatus, LogLine, ProgressEvent, PruneReport, RemovedImage, StatsSample,
    SystemInfo, TopResult, Volume,
};

use berth_engine::multi::{EndpointState, EndpointStatus};

use crate::history::History;

/// The endpoint a qualified ID belongs to ("" for a single backend's plain IDs).
pub fn host_of(id: &str) -> &str {
    berth_engine::multi::split(id).0.unwrap_or("")
}

/// A container or image ID as a user reads it: 12 hex digits, and where it lives.
pub fn id_label(id: &str) -> String {
    let (host, rest) = berth_engine::multi::split(id);
    let short: String = rest.trim_start_matches("sha256:").chars().take(12).collect();
    match host {
        Some(h) => format!("{short} on {h}"),
        None => short,
    }
}

/// Which list has focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Containers,
    Images,
    Volumes,
}

impl Pane {
    pub const ALL: [Pane; 3] = [Pane::Containers, Pane::Images, Pane::Volumes];
    pub fn title(self) -> &'static str {
        match self {
            Pane::Containers => "Containers",
            Pane::Images => "Images",
            Pane::Volumes => "Volumes",
        }
    }
    /// The next (or previous) list, round the three.
    pub fn cycle(self, back: bool) -> Pane {
        let i = Pane::ALL.iter().position(|p| *p == self).unwrap_or(0);
        let n = Pane::ALL.len();
        Pane::ALL[if back { (i + n - 1) % n } else { (i + 1) % n }]
    }
}

/// The selected container's detail tabs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    Stats,
    Top,
    Logs,
    Inspect,
    /// `diff`: files added, changed and deleted in the container.
    Changes,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Stats, Tab::Top, Tab::Logs, Tab::Inspect, Tab::Changes];
    pub fn title(self) -> &'static str {
        match self {
            Tab::Stats => "Stats",
            Tab::Top => "Top",
            Tab::Logs => "Logs",
            Tab::Inspect => "Inspect",
            Tab::Changes => "Changes",
        }
    }
    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
    pub fn step(self, d: isize) -> Tab {
        let n = Tab::ALL.len() as isize;
        Tab::ALL[((self.index() as isize + d).rem_euclid(n)) as usize]
    }
}

/// The time span the Stats tab's charts cover (`w` cycles). Up to 15 minutes the charts
/// draw 1 s points; beyond, the 10 s averages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChartWindow {
    Min1,
    Min15,
    Hour1,
    Hour24,
}

impl ChartWindow {
    pub const ALL: [ChartWindow; 4] = [ChartWindow::Min1, ChartWindow::Min15, ChartWindow::Hour1, ChartWindow::Hour24];
    pub fn secs(self) -> i64 {
        match self {
            ChartWindow::Min1 => 60,
            ChartWindow::Min15 => 15 * 60,
            ChartWindow::Hour1 => 3600,
            ChartWindow::Hour24 => 24 * 3600,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            ChartWindow::Min1 => "1m",
            ChartWindow::Min15 => "15m",
            ChartWindow::Hour1 => "1h",
            ChartWindow::Hour24 => "24h",
        }
    }
    pub fn next(self) -> ChartWindow {
        let i = ChartWindow::ALL.iter().position(|w| *w == self).unwrap_or(0);
        ChartWindow::ALL[(i + 1) % ChartWindow::ALL.len()]
    }
}

/// Container list columns that can be sorted on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Image,
    State,
    Status,
    Cpu,
    Mem,
    Net,
}

impl SortKey {
    pub const ALL: [SortKey; 7] =
        [SortKey::Name, SortKey::Image, SortKey::State, SortKey::Status, SortKey::Cpu, SortKey::Mem, SortKey::Net];
    pub fn title(self) -> &'static str {
        match self {
            SortKey::Name => "NAME",
            SortKey::Image => "IMAGE",
            SortKey::State => "STATE",
            SortKey::Status => "STATUS",
            SortKey::Cpu => "CPU%",
            SortKey::Mem => "MEM",
            SortKey::Net => "NET rx/tx",
        }
    }
    pub fn next(self) -> SortKey {
        let i = SortKey::ALL.iter().position(|k| *k == self).unwrap_or(0);
        SortKey::ALL[(i + 1) % SortKey::ALL.len()]
    }
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

/// A one-line text input (own: the dialogs need only insert, delete and cursor moves,
/// which is less code than adapting a widget crate's key type to ours).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextField {
    pub label: &'static str,
    pub text: String,
    /// Cursor, in chars.
    pub cursor: usize,
}

impl TextField {
    pub fn new(label: &'static str, text: &str) -> Self {
        TextField { label, text: text.to_string(), cursor: text.chars().count() }
    }
    fn byte(&self, c: usize) -> usize {
        self.text.char_indices().nth(c).map(|(i, _)| i).unwrap_or(self.text.len())
    }
    pub fn insert(&mut self, ch: char) {
        let b = self.byte(self.cursor);
        self.text.insert(b, ch);
        self.cursor += 1;
    }
    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let b = self.byte(self.cursor);
            self.text.remove(b);
        }
    }
    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let b = self.byte(self.cursor);
            self.text.remove(b);
        }
    }
    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }
    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }
    pub fn home(&mut self) {
        self.cursor = 0;
    }
    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }
}

/// What a one-field input dialog is for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputKind {
    Rename {
        id: String,
    },
    Pull,
    /// Commit the container as a new image named REPO[:TAG].
    Commit {
        id: String,
        name: String,
    },
    /// The `:` prompt (`ctx`, `ctx NAME`, `ctx all`, `q`).
    Command,
}

/// The run dialog: image, name, command, env (space separated K=V), interactive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunForm {
    pub fields: [TextField; 4],
    pub interactive: bool,
    /// 0..=3 a field, 4 the interactive toggle.
    pub focus: usize,
}

impl RunForm {
    pub fn new(image: &str) -> Self {
        RunForm {
            fields: [
                TextField::new("Image", image),
                TextField::new("Name", ""),
                TextField::new("Command", ""),
                TextField::new("Env (K=V …)", ""),
            ],
            interactive: false,
            focus: if image.is_empty() { 0 } else { 1 },
        }
    }
}

/// What a pull dialog shows: one row per layer, in the order layers appeared.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullView {
    pub reference: String,
    pub messages: Vec<String>,
    pub layers: Vec<(String, LayerStatus, u64, Option<u64>)>,
    /// Set when the pull ended: the image ID or the error.
    pub done: Option<Result<String, String>>,
}

/// A modal on top of everything.
#[derive(Clone, Debug, PartialEq)]
pub enum Modal {
    Help,
    /// Confirm removal of the named image.
    ConfirmRemove {
        image: String,
        label: String,
    },
    /// Confirm removal of containers (forced when running).
    ConfirmRemoveContainers {
        ids: Vec<String>,
        label: String,
    },
    /// Confirm an action on volumes (remove one, prune): the question and what follows a yes.
    ConfirmVolumes {
        question: String,
        action: crate::input::Action,
    },
    Input {
        kind: InputKind,
        field: TextField,
    },
    Run(RunForm),
    Pull(PullView),
    History {
        image: String,
        items: Vec<HistoryItem>,
    },
    /// A dismissable error.
    Error(String),
    /// A dismissable report of a finished action.
    Info(String),
    /// The endpoint switcher (`:ctx`): row 0 is "all", then each endpoint.
    Endpoints {
        cursor: usize,
    },
}

/// The logs tab's pane-local state (bounded buffer of the tail).
#[derive(Clone, Debug, Default)]
pub struct LogView {
    pub id: String,
    pub lines: VecDeque<LogLine>,
    /// Stick to the newest line.
    pub follow: bool,
    /// Lines scrolled up from the bottom (0 while following).
    pub scroll: usize,
    pub search: String,
    pub searching: bool,
    pub timestamps: bool,
    /// Set when the stream ended (with the error, if any).
    pub ended: Option<Option<String>>,
}

/// Points in a row's CPU sparkline.
pub const SPARK_POINTS: usize = 10;

/// Lines kept in the logs buffer (and asked for from the tail).
pub const LOG_CAP: usize = 2000;

/// Top sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopSort {
    Cpu,
    Mem,
}

/// The selected container's detail in view (see [`AppState::watch`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    pub id: String,
    pub tab: Tab,
    pub running: bool,
}

/// Everything that can change the state.
#[derive(Debug)]
pub enum Message {
    Containers(Result<Vec<ContainerSummary>, String>),
    Images(Result<Vec<ImageSummary>, String>),
    Volumes(Result<Vec<Volume>, String>),
    /// A volume removed (its name) or volumes pruned.
    VolumesChanged(Result<String, String>),
    /// One batch from the stats stream, received at unix second `now`.
    Stats {
        samples: Vec<StatsSample>,
        now: i64,
    },
    /// The stats stream failed (shown in the Stats tab, not as a modal: it retries).
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
    /// A container action finished; errors become a modal.
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

#[derive(Clone, Debug)]
pub struct AppState {
    /// Backend description shown in the header.
    pub backend: String,
    pub focus: Pane,
    pub info: Option<SystemInfo>,

    pub containers: Vec<ContainerSummary>,
    pub containers_loaded: bool,
    /// Show stopped containers too (`a`).
    pub show_all: bool,
    pub c_selected: usize,
    pub c_filter: String,
    pub sort: SortKey,
    pub sort_rev: bool,
    /// Multi-selection (IDs).
    pub marked: BTreeSet<String>,
    pub stats: HashMap<String, History>,
    pub stats_error: Option<String>,
    /// The detail area has the keys (enter focuses it, esc leaves).
    pub detail_focus: bool,
    pub tab: Tab,
    pub top: Option<(String, Result<TopResult, String>)>,
    pub top_sort: TopSort,
    pub top_scroll: usize,
    pub logs: LogView,
    pub inspect: Option<(String, Result<serde_json::Value, String>)>,
    pub folded: HashSet<String>,
    pub inspect_cursor: usize,
    pub changes: Option<(String, Result<Vec<FsChange>, String>)>,
    pub changes_scroll: usize,
    /// The span of the Stats tab's charts.
    pub chart_window: ChartWindow,

    pub images: Vec<ImageSummary>,
    pub images_loaded: bool,
    pub volumes: Vec<Volume>,
    pub volumes_loaded: bool,
    pub v_selected: usize,
    pub v_filter: String,
    pub selected: usize,
    pub filter: String,
    /// Typing a filter for the focused list.
    pub filtering: bool,

    pub modal: Option<Modal>,
    /// The last failed refresh (shown once until a refresh works again).
    pub refresh_error: Option<String>,
    /// Unix seconds used for "3 minutes ago"; set by ticks so renders are pure.
    pub now: i64,
    pub quit: bool,
    /// Every endpoint when the dashboard shows several (empty for a single backend).
    pub endpoints: Vec<EndpointStatus>,
    /// Show only this endpoint's containers and images (`:ctx NAME`); None shows all.
    pub endpoint: Option<String>,
}

fn contains_ci(hay: &str, needle_lower: &str) -> bool {
    hay.to_lowercase().contains(needle_lower)
}

impl AppState {
    pub fn new(backend: String, now: i64) -> Self {
        Self {
            backend,
            focus: Pane::Containers,
            info: None,
            containers: vec![],
            containers_loaded: false,
            show_all: true,
            c_selected: 0,
            c_filter: String::new(),
            sort: SortKey::Name,
            sort_rev: false,
            marked: BTreeSet::new(),
            stats: HashMap::new(),
            stats_error: None,
            detail_focus: false,
            tab: Tab::Stats,
            top: None,
            top_sort: TopSort::Cpu,
            top_scroll: 0,
            logs: LogView { follow: true, ..LogView::default() },
            inspect: None,
            folded: HashSet::new(),
            inspect_cursor: 0,
            changes: None,
            changes_scroll: 0,
            chart_window: ChartWindow::Min1,
            images: vec![],
            images_loaded: false,
            volumes: vec![],
            volumes_loaded: false,
            v_selected: 0,
            v_filter: String::new(),
            selected: 0,
            filter: String::new(),
            filtering: false,
            modal: None,
            refresh_error: None,
            now,
            quit: false,
            endpoints: vec![],
            endpoint: None,
        }
    }

    // ---- endpoints ----

    /// Several endpoints: rows carry a HOST and `:ctx` switches.
    pub fn multi(&self) -> bool {
        self.endpoints.len() > 1
    }

    /// The HOST column is shown: several endpoints, all in view.
    pub fn show_host(&self) -> bool {
        self.multi() && self.endpoint.is_none()
    }

    /// Whether an object (by its qualified ID) belongs to the endpoint in view.
    pub fn in_view(&self, id: &str) -> bool {
        self.endpoint.as_deref().is_none_or(|e| host_of(id) == e)
    }

    /// Endpoints that do not answer, with why.
    pub fn down_endpoints(&self) -> Vec<(&str, &str)> {
        self.endpoints
            .iter()
            .filter_map(|e| match &e.state {
                EndpointState::Down(why) => Some((e.name.as_str(), why.as_str())),
                _ => None,
            })
            .collect()
    }

    /// Show one endpoint (None: all), keeping the selection where it can.
    pub fn set_endpoint(&mut self, e: Option<String>) {
        self.with_stable_selection(|s| s.endpoint = e);
        self.marked.retain(|id| self.endpoint.as_deref().is_none_or(|e| host_of(id) == e));
        let n = self.visible_containers().len();
        self.c_selected = self.c_selected.min(n.saturating_sub(1));
        let n = self.visible_images().len();
        self.selected = self.selected.min(n.saturating_sub(1));
    }

    /// What a typed `:` command does; Err is the message to show.
    pub fn command(&mut self, line: &str) -> Result<Option<Option<String>>, String> {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("q" | "quit" | "q!"), None, _) => {
                self.quit = true;
                Ok(None)
            }
            (Some("ctx" | "context" | "endpoint" | "endpoints"), arg, None) => {
                if !self.multi() {
                    return Err("only one endpoint: add [[endpoints]] to the config, or repeat -H, to see several".into());
                }
                match arg {
                    None => {
                        let cursor = match &self.endpoint {
                            Some(e) => self.endpoints.iter().position(|x| &x.name == e).map(|i| i + 1).unwrap_or(0),
                            None => 0,
                        };
                        self.modal = Some(Modal::Endpoints { cursor });
                        Ok(None)
                    }
                    Some("all" | "-" | "*") => Ok(Some(None)),
                    Some(name) if self.endpoints.iter().any(|e| e.name == name) => Ok(Some(Some(name.to_string()))),
                    Some(name) => Err(format!(
                        "no endpoint named {name:?} (there are: {})",
                        self.endpoints.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            _ => Err(format!("unknown command {:?} (try ctx, ctx NAME, ctx all, q)", line.trim())),
        }
    }

    // ---- containers ----

    /// The latest sample of a container that is up (an exited one keeps its history for
    /// the Stats tab, but its last reading is not current).
    pub fn live_stats(&self, c: &ContainerSummary) -> Option<&StatsSample> {
        self.stats.get(&c.id).and_then(|h| h.last.as_ref()).filter(|_| c.state == "running" || c.state == "paused")
    }

    fn sort_value(&self, c: &ContainerSummary) -> (f64, u64) {
        match self.live_stats(c) {
            Some(s) => (s.cpu_percent, s.memory_usage),
            None => (-1.0, 0),
        }
    }

    /// Containers after the all/running toggle, the `/` filter and the sort.
    pub fn visible_containers(&self) -> Vec<&ContainerSummary> {
        let f = self.c_filter.to_lowercase();
        let mut v: Vec<&ContainerSummary> = self
            .containers
            .iter()
            .filter(|c| self.in_view(&c.id))
            .filter(|c| self.show_all || c.state == "running" || c.state == "paused" || c.state == "restarting")
            .filter(|c| {
                f.is_empty()
                    || contains_ci(&c.name, &f)
                    || contains_ci(&c.image, &f)
                    || contains_ci(&c.status, &f)
                    || contains_ci(host_of(&c.id), &f)
            })
            .collect();
        let net = |c: &ContainerSummary| self.live_stats(c).map(|s| s.net_rx + s.net_tx).unwrap_or(0);
        v.sort_by(|a, b| {
            let o = match self.sort {
                SortKey::Name => a.name.cmp(&b.name),
                SortKey::Image => a.image.cmp(&b.image),
                SortKey::State => a.state.cmp(&b.state),
                // Newest first reads like `ps`; "Up 3 minutes" text sorts badly.
                SortKey::Status => b.created.cmp(&a.created),
                SortKey::Cpu => self.sort_value(b).0.total_cmp(&self.sort_value(a).0),
                SortKey::Mem => self.sort_value(b).1.cmp(&self.sort_value(a).1),
                SortKey::Net => net(b).cmp(&net(a)),
            };
            let o = o.then_with(|| a.name.cmp(&b.name)).then_with(|| a.id.cmp(&b.id));
            if self.sort_rev { o.reverse() } else { o }
        });
        v
    }

    /// Whether a text field (filter, log search) takes the keys.
    pub fn filtering_any(&self) -> bool {
        self.filtering || self.logs.searching
    }

    pub fn selected_container(&self) -> Option<&ContainerSummary> {
        self.visible_containers().get(self.c_selected).copied()
    }

    /// The IDs an action applies to: the marked ones, else the selected one.
    pub fn targets(&self) -> Vec<String> {
        if !self.marked.is_empty() {
            return self.marked.iter().cloned().collect();
        }
        self.selected_container().map(|c| vec![c.id.clone()]).unwrap_or_default()
    }

    /// What the detail area needs a task for: the container, the tab in view, and whether
    /// it runs (a start or stop restarts the logs/top stream).
    pub fn watch(&self) -> Option<Watch> {
        if self.focus != Pane::Containers {
            return None;
        }
        self.selected_container().map(|c| Watch { id: c.id.clone(), tab: self.tab, running: c.state == "running" })
    }

    fn focused_len(&self) -> usize {
        match self.focus {
            Pane::Containers => self.visible_containers().len(),
            Pane::Images => self.visible_images().len(),
            Pane::Volumes => self.visible_volumes().len(),
        }
    }

    fn sel_mut(&mut self) -> &mut usize {
        match self.focus {
            Pane::Containers => &mut self.c_selected,
            Pane::Images => &mut self.selected,
            Pane::Volumes => &mut self.v_selected,
        }
    }

    /// Keep the selection on the same container (by ID) across a change of the list,
    /// its order or its filter.
    pub fn with_stable_selection(&mut self, f: impl FnOnce(&mut Self)) {
        let keep = self.selected_container().map(|c| c.id.clone());
        f(self);
        if let Some(id) = keep
            && let Some(pos) = self.visible_containers().iter().position(|c| c.id == id)
        {
            self.c_selected = pos;
        }
        let n = self.visible_containers().len();
        self.c_selected = self.c_selected.min(n.saturating_sub(1));
    }

    // ---- images ----

    /// Images after the `/` filter (on names and ID).
    pub fn visible_images(&self) -> Vec<&ImageSummary> {
        let f = self.filter.to_lowercase();
        self.images
            .iter()
            .filter(|i| self.in_view(&i.id))
            .filter(|i| f.is_empty() || i.id.contains(&f) || i.repo_tags.iter().any(|t| t.to_lowercase().contains(&f)))
            .collect()
    }

    pub fn selected_image(&self) -> Option<&ImageSummary> {
        self.visible_images().get(self.selected).copied()
    }

    // ---- volumes ----

    /// Volumes after the `/` filter (on names).
    pub fn visible_volumes(&self) -> Vec<&Volume> {
        let f = self.v_filter.to_lowercase();
        self.volumes.iter().filter(|v| self.in_view(&v.name)).filter(|v| f.is_empty() || v.name.to_lowercase().contains(&f)).collect()
    }

    pub fn selected_volume(&self) -> Option<&Volume> {
        self.visible_volumes().get(self.v_selected).copied()
    }

    // ---- shared list moves ----

    pub fn move_selection(&mut self, delta: isize) {
        let n = self.focused_len();
        let sel = self.sel_mut();
        if n == 0 {
            *sel = 0;
            return;
        }
        *sel = (*sel as isize + delta).clamp(0, n as isize - 1) as usize;
    }

    pub fn select_first(&mut self) {
        *self.sel_mut() = 0;
    }

    pub fn select_last(&mut self) {
        let n = self.focused_len();
        *self.sel_mut() = n.saturating_sub(1);
    }

    pub fn filter_text(&self) -> &str {
        match self.focus {
            Pane::Containers => &self.c_filter,
            Pane::Images => &self.filter,
            Pane::Volumes => &self.v_filter,
        }
    }

    /// The focused list's filter text.
    pub fn filter_mut(&mut self) -> &mut String {
        match self.focus {
            Pane::Containers => &mut self.c_filter,
            Pane::Images => &mut self.filter,
            Pane::Volumes => &mut self.v_filter,
        }
    }

    pub fn set_sort(&mut self, key: SortKey, rev: bool) {
        self.with_stable_selection(|s| {
            s.sort = key;
            s.sort_rev = rev;
        });
    }

    /// Reset the detail's pane-local state when the selected container changes, and the
    /// logs buffer whenever a new logs stream starts (it begins with the tail again).
    pub fn detail_changed(&mut self, id: Option<&str>, tab: Option<Tab>) {
        if self.logs.id.as_str() != id.unwrap_or("") || tab == Some(Tab::Logs) {
            let search = if self.logs.id.as_str() == id.unwrap_or("") { std::mem::take(&mut self.logs.search) } else { String::new() };
            self.logs = LogView {
                id: id.unwrap_or_default().to_string(),
                follow: true,
                timestamps: self.logs.timestamps,
                search,
                ..LogView::default()
            };
        }
        if self.top.as_ref().is_some_and(|(t, _)| Some(t.as_str()) != id) {
            self.top = None;
            self.top_scroll = 0;
        }
        if self.inspect.as_ref().is_some_and(|(t, _)| Some(t.as_str()) != id) {
            self.inspect = None;
            self.inspect_cursor = 0;
        }
        if self.changes.as_ref().is_some_and(|(t, _)| Some(t.as_str()) != id) {
            self.changes = None;
            self.changes_scroll = 0;
        }
    }

    /// Log lines shown (all, or those matching the search).
    pub fn log_matches(&self, l: &LogLine) -> bool {
        self.logs.search.is_empty() || l.line.to_lowercase().contains(&self.logs.search.to_lowercase())
    }

    /// Apply a message; true when the screen must be redrawn.
    pub fn update(&mut self, msg: Message) -> bool {
        match msg {
            Message::Containers(Ok(list)) => {
                self.refresh_error = None;
                let changed = !self.containers_loaded || list != self.containers;
                self.with_stable_selection(|s| {
                    s.containers = list;
                    s.containers_loaded = true;
                });
                let ids: HashSet<&str> = self.containers.iter().map(|c| c.id.as_str()).collect();
                self.marked.retain(|id| ids.contains(id.as_str()));
                self.stats.retain(|id, _| ids.contains(id.as_str()));
                changed
            }
            Message::Images(Ok(list)) => {
                let keep = self.selected_image().map(|i| i.id.clone());
                let changed = !self.images_loaded || list != self.images;
                self.images = list;
                self.images_loaded = true;
                if let Some(id) = keep
                    && let Some(pos) = self.visible_images().iter().position(|i| i.id == id)
                {
                    self.selected = pos;
                }
                self.selected = self.selected.min(self.visible_images().len().saturating_sub(1));
                changed
            }
            Message::Volumes(Ok(list)) => {
                let keep = self.selected_volume().map(|v| v.name.clone());
                let changed = !self.volumes_loaded || list != self.volumes;
                self.volumes = list;
                self.volumes_loaded = true;
                if let Some(n) = keep
                    && let Some(pos) = self.visible_volumes().iter().position(|v| v.name == n)
                {
                    self.v_selected = pos;
                }
                self.v_selected = self.v_selected.min(self.visible_volumes().len().saturating_sub(1));
                changed
            }
            Message::VolumesChanged(Ok(report)) => {
                self.modal = Some(Modal::Info(report));
                true
            }
            Message::VolumesChanged(Err(e)) => self.error(e),
            // A failing refresh repeats every interval: say it once, not every second.
            Message::Containers(Err(e)) | Message::Images(Err(e)) | Message::Volumes(Err(e)) => {
                if self.refresh_error.as_ref() == Some(&e) {
                    return false;
                }
                self.refresh_error = Some(e.clone());
                self.error(e)
            }
            Message::Removed(Err(e)) | Message::Pruned(Err(e)) | Message::Done(Err(e)) => self.error(e),
            Message::Stats { samples, now } => {
                // Samples of containers the list does not know yet are kept: the list
                // catches up within a refresh (and prunes the ones that are gone).
                // Redraw only for what shows: a number in the list or a chart changed, a
                // sparkline still filling, or the selected container's chart still growing
                // into its window. Idle containers sampled every second cost no frame.
                let sel = self.selected_container().map(|c| c.id.clone());
                let chart = self.tab == Tab::Stats;
                let span = self.chart_window.secs();
                let mut changed = self.stats_error.take().is_some();
                for s in samples {
                    let h = self.stats.entry(s.id.clone()).or_default();
                    let selected = chart && sel.as_deref() == Some(s.id.as_str());
                    let growing =
                        h.fine_len() <= SPARK_POINTS || (selected && h.window_start(now, span).is_none_or(|f| f > now - span + span / 100));
                    changed |= h.push(s, now) | growing;
                }
                changed && self.stats_visible()
            }
            Message::StatsError(e) => {
                let changed = self.stats_error.as_deref() != Some(&e);
                self.stats_error = Some(e);
                changed
            }
            Message::Info(Ok(i)) => {
                let changed = self.info.as_ref() != Some(&i);
                self.info = Some(i);
                changed
            }
            // The header falls back to counting the lists.
            Message::Info(Err(_)) => false,
            Message::Top { id, result } => {
                if self.selected_container().map(|c| c.id.as_str()) != Some(id.as_str()) {
                    return false;
                }
                let changed = self.top.as_ref().map(|(_, r)| r) != Some(&result);
                self.top = Some((id, result));
                changed && self.tab == Tab::Top
            }
            Message::LogLines { id, lines } => {
                if self.logs.id != id {
                    return false;
                }
                if !self.logs.follow {
                    // Keep the view on the same lines (scroll counts from the bottom).
                    self.logs.scroll += lines.iter().filter(|l| self.log_matches(l)).count();
                }
                self.logs.lines.extend(lines);
                let extra = self.logs.lines.len().saturating_sub(LOG_CAP);
                self.logs.lines.drain(..extra);
                self.logs.scroll = self.logs.scroll.min(self.logs.lines.len());
                self.tab == Tab::Logs
            }
            Message::LogEnd { id, error } => {
                if self.logs.id != id {
                    return false;
                }
                self.logs.ended = Some(error);
                self.tab == Tab::Logs
            }
            Message::Inspect { id, result } => {
                let changed = self.inspect.as_ref().map(|(i, r)| (i, r)) != Some((&id, &result));
                self.inspect = Some((id, result));
                changed
            }
            Message::Changes { id, result } => {
                if self.selected_container().map(|c| c.id.as_str()) != Some(id.as_str()) {
                    return false;
                }
                let changed = self.changes.as_ref().map(|(i, r)| (i, r)) != Some((&id, &result));
                if let Ok(v) = &result {
                    self.changes_scroll = self.changes_scroll.min(v.len().saturating_sub(1));
                }
                self.changes = Some((id, result));
                changed && self.tab == Tab::Changes
            }
            Message::Committed(Ok((image, name))) => {
                let short: String = image.trim_start_matches("sha256:").chars().take(12).collect();
                self.modal = Some(Modal::Info(format!("Committed {name} ({short})")));
                true
            }
            Message::Committed(Err(e)) => self.error(e),
            Message::Done(Ok(())) => false,
            Message::Removed(Ok(items)) => {
                let lines: Vec<String> = items
                    .iter()
                    .map(|r| match r {
                        RemovedImage::Untagged(t) => format!("Untagged: {t}"),
                        RemovedImage::Deleted(d) => format!("Deleted: {d}"),
                    })
                    .collect();
                self.modal = Some(Modal::Info(lines.join("\n")));
                true
            }
            Message::Pruned(Ok(r)) => {
                self.modal = Some(Modal::Info(format!(
                    "Pruned {} image(s), reclaimed {}",
                    r.removed.iter().filter(|x| matches!(x, RemovedImage::Deleted(_))).count(),
                    berth_engine::human::human_size(r.space_reclaimed)
                )));
                true
            }
            Message::Pull(ev) => {
                let Some(Modal::Pull(p)) = &mut self.modal else {
                    // The dialog was hidden: only a failure is worth showing.
                    return match ev {
                        Err(e) => self.error(e),
                        Ok(_) => false,
                    };
                };
                match ev {
                    Ok(ProgressEvent::Message(m)) => p.messages.push(m),
                    Ok(ProgressEvent::Layer { id, status, current, total }) => match p.layers.iter_mut().find(|l| l.0 == id) {
                        Some(l) => *l = (id, status, current, total),
                        None => p.layers.push((id, status, current, total)),
                    },
                    Ok(ProgressEvent::Pulled { image_id, .. }) => p.done = Some(Ok(image_id)),
                    Ok(ProgressEvent::Pushed { .. }) => {}
                    Err(e) => p.done = Some(Err(e)),
                }
                true
            }
            Message::History { image, result } => match result {
                Ok(items) => {
                    self.modal = Some(Modal::History { image, items });
                    true
                }
                Err(e) => self.error(e),
            },
            Message::Tick { now } => {
                // Ages the dashboard computes itself ("3 days ago": images, history) change
                // at most once a minute, and show only there. Container status texts come
                // with the lists.
                let dirty = now / 60 != self.now / 60 && (self.focus == Pane::Images || matches!(self.modal, Some(Modal::History { .. })));
                self.now = now;
                dirty
            }
            Message::Endpoints(list) => {
                let changed = list != self.endpoints;
                self.endpoints = list;
                changed
            }
        }
    }

    fn error(&mut self, e: String) -> bool {
        // A pull dialog shows its own error; anything else replaces a lesser modal.
        if let Some(Modal::Pull(p)) = &mut self.modal
            && p.done.is_none()
        {
            p.done = Some(Err(e));
            return true;
        }
        self.modal = Some(Modal::Error(e));
        true
    }

    /// Whether any container has stats to stream (running or paused). Until the first
    /// list arrives: no (the stream is opened once the list says so).
    pub fn any_running(&self) -> bool {
        self.containers.iter().any(|c| matches!(c.state.as_str(), "running" | "paused" | "restarting"))
    }

    /// Stats are on screen: the containers list (CPU/MEM columns) or the Stats tab.
    fn stats_visible(&self) -> bool {
        self.focus == Pane::Containers
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn img(id: &str, tag: &str) -> ImageSummary {
        ImageSummary { id: format!("sha256:{id}"), repo_tags: vec![tag.into()], repo_digests: vec![], created: 0, size: 1, containers: 0 }
    }

    pub(crate) fn ctr(id: &str, name: &str, state: &str) -> ContainerSummary {
        ContainerSummary {
            id: id.into(),
            name: name.into(),
            image: "busybox".into(),
            image_id: String::new(),
            command: "sh".into(),
            created: 0,
            state: state.into(),
            status: if state == "running" { "Up 3 minutes".into() } else { "Exited (0) 1 minute ago".into() },
            exit_code: 0,
            labels: Default::default(),
        }
    }

    fn sample(id: &str, cpu: f64, mem: u64) -> StatsSample {
        StatsSample { id: id.into(), cpu_percent: cpu, memory_usage: mem, ..StatsSample::default() }
    }

    #[test]
    fn selection_follows_the_image_across_refreshes() {
        let mut s = AppState::new("local".into(), 0);
        s.focus = Pane::Images;
        assert!(s.update(Message::Images(Ok(vec![img("a", "alpine:1"), img("b", "busybox:1")]))));
        s.move_selection(1);
        assert_eq!(s.selected_image().unwrap().id, "sha256:b");
        assert!(s.update(Message::Images(Ok(vec![img("c", "c:1"), img("a", "alpine:1"), img("b", "busybox:1")]))));
        assert_eq!(s.selected_image().unwrap().id, "sha256:b");
        // Same list again: nothing to redraw.
        assert!(!s.update(Message::Images(Ok(vec![img("c", "c:1"), img("a", "alpine:1"), img("b", "busybox:1")]))));
        s.filter = "alp".into();
        s.move_selection(0);
        assert_eq!(s.visible_images().len(), 1);
        assert_eq!(s.selected_image().unwrap().id, "sha256:a");
    }

    #[test]
    fn container_selection_is_stable_across_refreshes_and_sorts() {
        let mut s = AppState::new("local".into(), 0);
        s.update(Message::Containers(Ok(vec![ctr("1", "alpha", "running"), ctr("2", "beta", "running"), ctr("3", "gamma", "exited")])));
        s.move_selection(1);
        assert_eq!(s.selected_container().unwrap().name, "beta");
        // A new container sorting before it does not move the selection off it.
        s.update(Message::Containers(Ok(vec![ctr("0", "aaa", "running"), ctr("1", "alpha", "running"), ctr("2", "beta", "running")])));
        assert_eq!(s.selected_container().unwrap().name, "beta");
        s.update(Message::Stats { samples: vec![sample("2", 1.0, 10), sample("0", 50.0, 5), sample("1", 20.0, 99)], now: 1 });
        s.set_sort(SortKey::Cpu, false);
        let names: Vec<_> = s.visible_containers().iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["aaa", "alpha", "beta"]);
        assert_eq!(s.selected_container().unwrap().name, "beta");
        s.set_sort(SortKey::Mem, true);
        let names: Vec<_> = s.visible_containers().iter().map(|c| c.name.clone()).collect();
        assert_eq!(names, ["aaa", "beta", "alpha"]);
        // The selected one goes away: the selection stays in range.
        s.update(Message::Containers(Ok(vec![ctr("0", "aaa", "running")])));
        assert_eq!(s.selected_container().unwrap().name, "aaa");
    }

    #[test]
    fn filter_and_running_toggle() {
        let mut s = AppState::new("local".into(), 0);
        let mut web = ctr("1", "web", "running");
        web.image = "nginx:1".into();
        let mut cache = ctr("3", "cache", "paused");
        cache.status = "Up 1 minute (Paused)".into();
        s.update(Message::Containers(Ok(vec![web, ctr("2", "db", "exited"), cache])));
        assert_eq!(s.visible_containers().len(), 3);
        s.show_all = false;
        assert_eq!(s.visible_containers().len(), 2);
        s.show_all = true;
        s.c_filter = "NGINX".into();
        assert_eq!(s.visible_containers()[0].name, "web");
        s.c_filter = "exited".into();
        assert_eq!(s.visible_containers()[0].name, "db");
    }

    #[test]
    fn marks_drive_targets_and_vanish_with_their_container() {
        let mut s = AppState::new("local".into(), 0);
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running"), ctr("2", "b", "running")])));
        assert_eq!(s.targets(), ["1"]);
        s.marked.insert("2".into());
        s.marked.insert("1".into());
        assert_eq!(s.targets(), ["1", "2"]);
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running")])));
        assert_eq!(s.targets(), ["1"]);
    }

    #[test]
    fn stats_history_is_dropped_with_the_container() {
        let mut s = AppState::new("local".into(), 0);
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running")])));
        for t in 0..5 {
            s.update(Message::Stats { samples: vec![sample("1", t as f64, 1024)], now: t });
        }
        assert_eq!(s.stats["1"].fine_len(), 5);
        s.update(Message::Containers(Ok(vec![])));
        assert!(s.stats.is_empty());
    }

    #[test]
    fn idle_stats_redraw_nothing_once_sparkline_and_chart_are_full() {
        let mut s = AppState::new("local".into(), 0);
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running"), ctr("2", "b", "running")])));
        let batch = |t: i64, cpu: f64| Message::Stats { samples: vec![sample("1", cpu, 4096), sample("2", 0.0, 4096)], now: t };
        // The first minute: the sparkline and the selected container's 1m chart grow.
        assert!(s.update(batch(0, 0.0)));
        assert!(s.update(batch(30, 0.0)));
        for t in 31..=100 {
            s.update(batch(t, 0.0));
        }
        assert!(!s.update(batch(101, 0.0)), "nothing shown changed");
        assert!(s.update(batch(102, 1.5)), "a CPU figure changed");
        // The 15m window is not full yet: the selected chart still grows every sample.
        s.chart_window = ChartWindow::Min15;
        assert!(s.update(batch(103, 1.5)));
        s.focus = Pane::Images;
        assert!(!s.update(batch(104, 7.0)), "stats are not on screen");
    }

    #[test]
    fn ticks_redraw_only_where_ages_are_shown() {
        let mut s = AppState::new("local".into(), 0);
        assert!(!s.update(Message::Tick { now: 1 }));
        assert!(!s.update(Message::Tick { now: 61 }), "the containers list shows no age of ours");
        s.focus = Pane::Images;
        assert!(!s.update(Message::Tick { now: 62 }));
        assert!(s.update(Message::Tick { now: 121 }), "images: \"2 minutes ago\" moved");
    }

    #[test]
    fn log_buffer_is_bounded() {
        let mut s = AppState::new("local".into(), 0);
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running")])));
        s.tab = Tab::Logs;
        s.detail_changed(Some("1"), Some(Tab::Logs));
        let line = |i: usize| LogLine { stream: "stdout".into(), time: String::new(), line: format!("line {i}") };
        for chunk in 0..5 {
            s.update(Message::LogLines { id: "1".into(), lines: (0..1000).map(|i| line(chunk * 1000 + i)).collect() });
        }
        assert_eq!(s.logs.lines.len(), LOG_CAP);
        assert_eq!(s.logs.lines.back().unwrap().line, "line 4999");
        // Lines of another container (a stream not yet cancelled) are ignored.
        assert!(!s.update(Message::LogLines { id: "2".into(), lines: vec![line(0)] }));
    }

    #[test]
    fn errors_become_a_modal() {
        let mut s = AppState::new("local".into(), 0);
        assert!(s.update(Message::Images(Err("boom".into()))));
        assert_eq!(s.modal, Some(Modal::Error("boom".into())));
        // Dismissed, the same refresh failure does not come back every second...
        s.modal = None;
        assert!(!s.update(Message::Containers(Err("boom".into()))));
        assert_eq!(s.modal, None);
        // ...but does after the refresh worked in between.
        s.update(Message::Containers(Ok(vec![])));
        assert!(s.update(Message::Containers(Err("boom".into()))));
    }

    #[test]
    fn text_field_edits_at_the_cursor() {
        let mut f = TextField::new("x", "héllo");
        f.left();
        f.left();
        f.insert('X');
        assert_eq!(f.text, "hélXlo");
        f.backspace();
        f.home();
        f.delete();
        assert_eq!(f.text, "éllo");
        f.end();
        f.insert('!');
        assert_eq!(f.text, "éllo!");
    }
}

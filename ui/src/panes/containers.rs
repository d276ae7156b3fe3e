//! The containers list (pane 1): rows with live CPU, memory and network figures and a CPU
//! sparkline, sorted by any column, filtered, all or running only, with marks for bulk
//! actions. It owns the stats history too (the list and the Stats tab both read it), so
//! what arrives from the stats stream is applied here.
use std::collections::{BTreeSet, HashMap, HashSet};

use berth_engine::api::{ContainerSummary, StatsSample};
use berth_engine::human::{human_size, human_size_binary};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::config::{Config, Key};
use crate::ctx::{Ctx, host_of, is};
use crate::dialogs::commit::Commit;
use crate::dialogs::confirm::Confirm;
use crate::dialogs::prompt::Prompt;
use crate::handled::Handled;
use crate::history::History;
use crate::hit::{HitMap, Target};
use crate::message::{Action, ContainerOp};
use crate::panes::{Pane, nav, record_rows, scroll_offset};
use crate::text_field::Filter;
use crate::widgets::{accent, bold, pane_block, selected, state_color};

/// Points in a row's CPU sparkline.
pub const SPARK_POINTS: usize = 10;
/// Width of the sparkline column.
const SPARK_W: u16 = 10;
/// Width of the table's selection marker ("▶ ").
const MARKER: u16 = 2;

pub use crate::vocab::SortKey;

#[derive(Clone, Debug)]
pub struct ContainersPane {
    pub list: Vec<ContainerSummary>,
    pub loaded: bool,
    /// Show stopped containers too (`a`).
    pub show_all: bool,
    /// Index into [`ContainersPane::visible`].
    pub selected: usize,
    pub filter: Filter,
    pub sort: SortKey,
    pub sort_rev: bool,
    /// Multi-selection (IDs).
    pub marked: BTreeSet<String>,
    pub stats: HashMap<String, History>,
    pub stats_error: Option<String>,
}

impl Default for ContainersPane {
    fn default() -> Self {
        ContainersPane {
            list: vec![],
            loaded: false,
            show_all: true,
            selected: 0,
            filter: Filter::default(),
            sort: SortKey::Name,
            sort_rev: false,
            marked: BTreeSet::new(),
            stats: HashMap::new(),
            stats_error: None,
        }
    }
}

impl ContainersPane {
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

    /// Containers after the endpoint in view, the all/running toggle, the `/` filter and
    /// the sort.
    pub fn visible(&self, ctx: &Ctx) -> Vec<&ContainerSummary> {
        let f = &self.filter;
        let mut v: Vec<&ContainerSummary> = self
            .list
            .iter()
            .filter(|c| ctx.in_view(&c.id))
            .filter(|c| self.show_all || c.state == "running" || c.state == "paused" || c.state == "restarting")
            .filter(|c| f.matches(&c.name) || f.matches(&c.image) || f.matches(&c.status) || f.matches(host_of(&c.id)))
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

    pub fn selected_container(&self, ctx: &Ctx) -> Option<&ContainerSummary> {
        self.visible(ctx).get(self.selected).copied()
    }

    /// The IDs an action applies to: the marked ones, else the selected one.
    pub fn targets(&self, ctx: &Ctx) -> Vec<String> {
        if !self.marked.is_empty() {
            return self.marked.iter().cloned().collect();
        }
        self.selected_container(ctx).map(|c| vec![c.id.clone()]).unwrap_or_default()
    }

    /// Whether any container has stats to stream (running or paused). Until the first
    /// list arrives: no (the stream is opened once the list says so).
    pub fn any_running(&self) -> bool {
        self.list.iter().any(|c| matches!(c.state.as_str(), "running" | "paused" | "restarting"))
    }

    /// Keep the selection on the same container (by ID) across a change of the list,
    /// its order, its filter or the endpoint in view.
    pub fn with_stable_selection(&mut self, ctx: &Ctx, f: impl FnOnce(&mut Self)) {
        let keep = self.selected_container(ctx).map(|c| c.id.clone());
        f(self);
        self.reselect(ctx, keep);
    }

    /// Put the selection back on container `keep` if it is still shown, and within the
    /// rows in any case.
    pub fn reselect(&mut self, ctx: &Ctx, keep: Option<String>) {
        let vis = self.visible(ctx);
        let pos = keep.and_then(|id| vis.iter().position(|c| c.id == id));
        let n = vis.len();
        if let Some(p) = pos {
            self.selected = p;
        }
        self.selected = self.selected.min(n.saturating_sub(1));
    }

    pub fn set_sort(&mut self, ctx: &Ctx, key: SortKey, rev: bool) {
        self.with_stable_selection(ctx, |s| {
            s.sort = key;
            s.sort_rev = rev;
        });
    }

    /// A new list from the backend; true when it differs. Marks and histories of
    /// containers that are gone go with them.
    pub fn set_list(&mut self, ctx: &Ctx, list: Vec<ContainerSummary>) -> bool {
        let changed = !self.loaded || list != self.list;
        self.with_stable_selection(ctx, |s| {
            s.list = list;
            s.loaded = true;
        });
        let ids: HashSet<&str> = self.list.iter().map(|c| c.id.as_str()).collect();
        self.marked.retain(|id| ids.contains(id.as_str()));
        self.stats.retain(|id, _| ids.contains(id.as_str()));
        changed
    }

    /// One batch of the stats stream at unix second `now`; `chart_span` is the Stats tab's
    /// window when that tab is the one shown. True when a figure on screen moved: a number
    /// in the list or a chart, a sparkline still filling, or the selected container's chart
    /// still growing into its window. Idle containers sampled every second cost no frame.
    pub fn push_stats(&mut self, ctx: &Ctx, samples: Vec<StatsSample>, now: i64, chart_span: Option<i64>) -> bool {
        // Samples of containers the list does not know yet are kept: the list catches up
        // within a refresh (and prunes the ones that are gone).
        let sel = self.selected_container(ctx).map(|c| c.id.clone());
        let mut changed = self.stats_error.take().is_some();
        for s in samples {
            let h = self.stats.entry(s.id.clone()).or_default();
            let growing = h.fine_len() <= SPARK_POINTS
                || chart_span.is_some_and(|span| {
                    sel.as_deref() == Some(s.id.as_str()) && h.window_start(now, span).is_none_or(|f| f > now - span + span / 100)
                });
            changed |= h.push(s, now) | growing;
        }
        changed
    }

    /// The stats stream failed; true when the message is new.
    pub fn stats_failed(&mut self, e: String) -> bool {
        let changed = self.stats_error.as_deref() != Some(&e);
        self.stats_error = Some(e);
        changed
    }

    /// A key while the `/` filter is typed into (the selection stays on its container).
    pub fn filter_key(&mut self, k: &KeyEvent, ctx: &Ctx) -> bool {
        let mut changed = false;
        self.with_stable_selection(ctx, |s| changed = s.filter.on_key(k));
        changed
    }

    /// Move the selection by `delta` rows (the wheel).
    pub fn move_by(&mut self, ctx: &Ctx, delta: isize) {
        let n = self.visible(ctx).len();
        crate::panes::step(&mut self.selected, n, delta);
    }

    /// A key while the list has focus.
    pub fn on_key(&mut self, k: &KeyEvent, ctx: &Ctx) -> Option<Handled> {
        let keys = &ctx.cfg.keys;
        let n = self.visible(ctx).len();
        if let Some(redraw) = nav(k, keys, &mut self.selected, n) {
            return Some(Handled { redraw, ..Handled::default() });
        }
        let op = |op: ContainerOp, ids: Vec<String>| {
            if ids.is_empty() { Handled::quiet() } else { Handled::redraw_and(Action::Containers(op, ids)) }
        };
        if is(&keys.filter, k) {
            self.filter.typing = true;
        } else if is(&keys.back, k) && !self.filter.text.is_empty() {
            self.with_stable_selection(ctx, |s| s.filter.text.clear());
        } else if is(&keys.sort_next, k) {
            let next = self.sort.next();
            self.set_sort(ctx, next, self.sort_rev);
        } else if is(&keys.sort_reverse, k) {
            let (key, rev) = (self.sort, !self.sort_rev);
            self.set_sort(ctx, key, rev);
        } else if is(&keys.toggle_all, k) {
            self.with_stable_selection(ctx, |s| s.show_all = !s.show_all);
        } else if is(&keys.mark, k) {
            let Some(id) = self.selected_container(ctx).map(|c| c.id.clone()) else { return Handled::quiet() };
            if !self.marked.remove(&id) {
                self.marked.insert(id);
            }
            self.move_by(ctx, 1);
        } else if is(&keys.start, k) {
            return op(ContainerOp::Start, self.targets(ctx));
        } else if is(&keys.stop, k) {
            return op(ContainerOp::Stop, self.targets(ctx));
        } else if is(&keys.restart, k) {
            return op(ContainerOp::Restart, self.targets(ctx));
        } else if is(&keys.kill, k) {
            return op(ContainerOp::Kill, self.targets(ctx));
        } else if is(&keys.pause, k) {
            let ids = self.targets(ctx);
            let all_paused = !ids.is_empty() && ids.iter().all(|id| self.list.iter().any(|c| &c.id == id && c.state == "paused"));
            return op(if all_paused { ContainerOp::Unpause } else { ContainerOp::Pause }, ids);
        } else if is(&keys.remove, k) {
            let ids = self.targets(ctx);
            if ids.is_empty() {
                return Handled::quiet();
            }
            let label = if ids.len() == 1 {
                self.list.iter().find(|c| c.id == ids[0]).map(|c| c.name.clone()).unwrap_or_default()
            } else {
                format!("{} containers", ids.len())
            };
            return Handled::open(Confirm::remove_containers(ids, &label));
        } else if is(&keys.rename, k) {
            let Some(c) = self.selected_container(ctx) else { return Handled::quiet() };
            return Handled::open(Prompt::rename(&c.id, &c.name));
        } else if is(&keys.commit, k) {
            let Some(c) = self.selected_container(ctx) else { return Handled::quiet() };
            return Handled::open(Commit::new(&c.id, &c.name));
        } else if is(&keys.back, k) && !self.marked.is_empty() {
            self.marked.clear();
        } else {
            return None;
        }
        Handled::redraw()
    }

    /// The footer's hints while the list has focus.
    pub fn hints(keys: &crate::config::KeyMap) -> Vec<(&[Key], &'static str)> {
        vec![
            (&keys.filter[..], "filter"),
            (&keys.detail, "detail"),
            (&keys.next_tab, "tab"),
            (&keys.stop, "stop"),
            (&keys.start, "start"),
            (&keys.remove, "remove"),
            (&keys.run, "run"),
        ]
    }

    /// The header's figures for the endpoint in view: containers, running, CPU %, memory.
    pub fn totals(&self, ctx: &Ctx) -> (usize, usize, f64, u64) {
        let shown: Vec<&ContainerSummary> = self.list.iter().filter(|c| ctx.in_view(&c.id)).collect();
        let running = shown.iter().filter(|c| c.state == "running").count();
        let (cpu, mem) =
            shown.iter().filter_map(|c| self.live_stats(c)).fold((0.0, 0), |(c, m), x| (c + x.cpu_percent, m + x.memory_usage));
        (shown.len(), running, cpu, mem)
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool, hits: &mut HitMap) {
        let cfg = &ctx.cfg;
        let vis = self.visible(ctx);
        let note = (!self.show_all).then_some("running only ");
        let block = pane_block(crate::panes::title(Pane::Containers, focused, vis.len(), note, &self.filter.text, cfg), focused, cfg);
        if !self.loaded {
            f.render_widget(Paragraph::new("loading…").block(block), area);
            return;
        }
        if vis.is_empty() {
            let msg = if self.list.is_empty() {
                "No containers. Press n to run one, or `berth run -d IMAGE`."
            } else if !self.show_all && self.filter.text.is_empty() {
                "No running containers (a shows all)."
            } else {
                "No container matches the filter."
            };
            f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
            return;
        }
        let cols = container_columns(area.width, ctx.host_width());
        let header = Row::new(cols.iter().map(|(c, _)| {
            let mut t = c.title().to_string();
            if c.sort_key() == Some(self.sort) && *c != Col::Spark {
                t.push(if self.sort_rev { '▲' } else { '▼' });
            }
            Cell::from(t).style(bold())
        }));
        // Only the rows on screen are built (a thousand containers cost no more per frame).
        let offset = scroll_offset(area, self.selected);
        let rows = vis.iter().skip(offset).take(area.height as usize).map(|c| {
            let style = if self.marked.contains(&c.id) { accent(cfg) } else { Style::default() };
            Row::new(cols.iter().map(|(col, _)| self.cell(*col, c, cfg))).style(style)
        });
        let table = Table::new(rows, cols.iter().map(|c| c.1))
            .header(header)
            .block(block)
            .row_highlight_style(selected(cfg))
            .highlight_symbol("▶ ");
        let mut ts = TableState::default().with_selected(Some(self.selected - offset));
        f.render_stateful_widget(table, area, &mut ts);
        record_rows(hits, Pane::Containers, area, offset, vis.len());
        // The column titles sort: the same split the table makes of the header line.
        let line = Rect::new(area.x + 1, area.y + 1, area.width.saturating_sub(2), 1);
        let [_, titles] = Layout::horizontal([Constraint::Length(MARKER), Constraint::Fill(0)]).areas(line);
        let rects = Layout::horizontal(cols.iter().map(|c| c.1)).flex(Flex::Start).spacing(1).split(titles);
        for ((col, _), r) in cols.iter().zip(rects.iter()) {
            if let Some(key) = col.sort_key() {
                hits.push(*r, Target::SortBy(key));
            }
        }
    }

    fn cell(&self, col: Col, c: &ContainerSummary, cfg: &Config) -> Cell<'static> {
        let last = self.live_stats(c);
        match col {
            Col::Host => Cell::from(host_of(&c.id).to_string()),
            Col::Name => {
                let mark = if self.marked.contains(&c.id) { "● " } else { "" };
                Cell::from(format!("{mark}{}", c.name))
            }
            Col::Image => Cell::from(c.image.clone()),
            Col::State => Cell::from(Span::styled(c.state.clone(), Style::default().fg(state_color(&c.state, cfg)))),
            Col::Status => Cell::from(c.status.clone()),
            Col::Cpu => Cell::from(last.map(|l| format!("{:.1}", l.cpu_percent)).unwrap_or_else(|| "-".into())),
            Col::Spark => Cell::from(Span::styled(
                self.stats
                    .get(&c.id)
                    .filter(|_| last.is_some())
                    .map(|h| spark_text(h.recent_cpu(SPARK_W as usize).into_iter(), SPARK_W as usize))
                    .unwrap_or_default(),
                Style::default().fg(cfg.theme.running),
            )),
            Col::Mem => Cell::from(last.map(|l| human_size_binary(l.memory_usage)).unwrap_or_else(|| "-".into())),
            Col::MemFull => Cell::from(
                last.map(|l| format!("{} / {}", human_size_binary(l.memory_usage), human_size_binary(l.memory_limit)))
                    .unwrap_or_else(|| "-".into()),
            ),
            Col::Net => {
                Cell::from(last.map(|l| format!("{} / {}", human_size(l.net_rx), human_size(l.net_tx))).unwrap_or_else(|| "-".into()))
            }
            Col::Ports => Cell::from(berth_engine::api::format_ports(&c.ports)),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Col {
    Host,
    Name,
    Image,
    State,
    Status,
    Cpu,
    Spark,
    Mem,
    MemFull,
    Net,
    /// docker's PORTS (`0.0.0.0:8080->80/tcp`).
    Ports,
}

impl Col {
    fn sort_key(self) -> Option<SortKey> {
        Some(match self {
            Col::Name => SortKey::Name,
            Col::Image => SortKey::Image,
            Col::State => SortKey::State,
            Col::Status => SortKey::Status,
            Col::Cpu | Col::Spark => SortKey::Cpu,
            Col::Mem | Col::MemFull => SortKey::Mem,
            Col::Net => SortKey::Net,
            Col::Host | Col::Ports => return None,
        })
    }
    fn title(self) -> &'static str {
        match self {
            Col::Spark => "CPU 60s",
            Col::MemFull => "MEM / LIMIT",
            Col::Host => "HOST",
            Col::Ports => "PORTS",
            c => c.sort_key().map(|k| k.title()).unwrap_or(""),
        }
    }
}

/// Columns by list width: the widest layout shows everything; HOST first when several
/// endpoints are in view.
fn container_columns(width: u16, host: Option<u16>) -> Vec<(Col, Constraint)> {
    let mut cols = width_columns(width.saturating_sub(host.map(|w| w + 1).unwrap_or(0)));
    if let Some(w) = host {
        cols.insert(0, (Col::Host, Constraint::Length(w)));
    }
    cols
}

fn width_columns(width: u16) -> Vec<(Col, Constraint)> {
    use Constraint::{Fill, Length};
    if width >= 150 {
        // Wide enough for docker's PORTS beside full names.
        vec![
            (Col::Name, Fill(2)),
            (Col::Image, Fill(2)),
            (Col::State, Length(10)),
            (Col::Status, Length(18)),
            (Col::Ports, Fill(3)),
            (Col::Cpu, Length(6)),
            (Col::Spark, Length(SPARK_W)),
            (Col::MemFull, Length(19)),
            (Col::Net, Length(15)),
        ]
    } else if width >= 110 {
        vec![
            (Col::Name, Fill(2)),
            (Col::Image, Fill(2)),
            (Col::State, Length(10)),
            (Col::Status, Length(18)),
            (Col::Cpu, Length(6)),
            (Col::Spark, Length(SPARK_W)),
            (Col::MemFull, Length(19)),
            (Col::Net, Length(15)),
        ]
    } else if width >= 70 {
        vec![
            (Col::Name, Fill(1)),
            (Col::Image, Fill(1)),
            (Col::State, Length(8)),
            (Col::Status, Length(14)),
            (Col::Cpu, Length(6)),
            (Col::Mem, Length(9)),
        ]
    } else if width >= 36 {
        vec![(Col::Name, Fill(1)), (Col::State, Length(8)), (Col::Cpu, Length(6))]
    } else {
        vec![(Col::Name, Fill(1)), (Col::State, Length(8))]
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A one-line sparkline of CPU %, scaled to the row's own peak (at least 5 %).
fn spark_text(vals: impl Iterator<Item = u64>, width: usize) -> String {
    let v: Vec<u64> = vals.collect();
    let peak = v.iter().copied().max().unwrap_or(0).max(5) as f64;
    let mut out: String = v.iter().map(|x| BARS[((*x as f64 / peak) * 7.0).round().clamp(0.0, 7.0) as usize]).collect();
    let pad = width.saturating_sub(v.len());
    out.insert_str(0, &" ".repeat(pad));
    out
}

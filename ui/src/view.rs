//! Drawing. `draw` is a pure function of the state and theme: no I/O, no awaits, so the
//! same state always renders the same screen (which the snapshot tests rely on).
use berth_engine::api::{ChangeKind, ContainerSummary};
use berth_engine::human::{human_duration, human_size, human_size_binary};
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Clear, Paragraph, Row, Sparkline, Table, TableState, Tabs, Wrap};

use crate::config::Config;
use crate::history::Point;
use crate::state::{AppState, Modal, Pane, RunForm, SortKey, Tab, TextField, TopSort};

/// Below this width the detail pane goes under the list instead of beside it.
const WIDE: u16 = 120;
/// Below this height (and width) only the list shows.
const SHORT: u16 = 16;
/// Width of the table's selection marker ("▶ ").
const MARKER: u16 = 2;

/// Screen regions: header, list, optional detail, footer.
struct Areas {
    header: Rect,
    list: Rect,
    detail: Option<Rect>,
    footer: Rect,
}

fn areas(area: Rect) -> Areas {
    let [header, body, footer] = Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    if area.width >= WIDE {
        let [list, detail] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        Areas { header, list, detail: Some(detail), footer }
    } else if area.height >= SHORT {
        let [list, detail] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
        Areas { header, list, detail: Some(detail), footer }
    } else {
        Areas { header, list: body, detail: None, footer }
    }
}

/// Where the list is drawn on a screen of this size (for mouse hits).
pub fn list_area(screen: Rect) -> Rect {
    areas(screen).list
}

/// Everything between the header and the footer (a maximised terminal pane).
pub fn body_area(screen: Rect) -> Rect {
    let a = areas(screen);
    Rect {
        x: screen.x,
        y: a.header.y + a.header.height,
        width: screen.width,
        height: a.footer.y.saturating_sub(a.header.y + a.header.height),
    }
}

/// Where the terminal pane goes: the detail area, or the whole body when maximised (or
/// when the screen is too small for a detail area).
pub fn terminal_area(screen: Rect, maximized: bool) -> Rect {
    match detail_area(screen) {
        Some(d) if !maximized => d,
        _ => body_area(screen),
    }
}

/// Where the detail is drawn, if it shows at this size.
pub fn detail_area(screen: Rect) -> Option<Rect> {
    areas(screen).detail
}

/// First visible row, chosen so the selection is always on screen (deterministic, so
/// mouse clicks map to the same rows the render shows).
fn scroll_offset(list: Rect, selected: usize) -> usize {
    let rows = list.height.saturating_sub(3).max(1) as usize; // borders + header
    selected.saturating_sub(rows - 1)
}

fn focused_selected(s: &AppState) -> (usize, usize) {
    match s.focus {
        Pane::Containers => (s.c_selected, s.visible_containers().len()),
        Pane::Images => (s.selected, s.visible_images().len()),
        Pane::Volumes => (s.v_selected, s.visible_volumes().len()),
    }
}

/// The list row under a click, if any.
pub fn row_at(list: Rect, s: &AppState, x: u16, y: u16) -> Option<usize> {
    if x <= list.x || x >= list.x + list.width.saturating_sub(1) || y < list.y + 2 || y >= list.y + list.height.saturating_sub(1) {
        return None;
    }
    let (sel, n) = focused_selected(s);
    let idx = scroll_offset(list, sel) + (y - list.y - 2) as usize;
    (idx < n).then_some(idx)
}

/// The container column whose header is under a click, if any.
pub fn header_at(list: Rect, s: &AppState, x: u16, y: u16) -> Option<SortKey> {
    if y != list.y + 1 || x <= list.x {
        return None;
    }
    let cols = container_columns(list.width, host_width(s));
    let inner = Rect::new(list.x + 1, y, list.width.saturating_sub(2), 1);
    let [_, area] = Layout::horizontal([Constraint::Length(MARKER), Constraint::Fill(0)]).areas(inner);
    let rects = Layout::horizontal(cols.iter().map(|c| c.1)).flex(Flex::Start).spacing(1).split(area);
    cols.iter().zip(rects.iter()).find(|(_, r)| x >= r.x && x < r.x + r.width).and_then(|(c, _)| c.0.sort_key())
}

pub fn draw(f: &mut Frame, s: &AppState, cfg: &Config) {
    let a = areas(f.area());
    draw_header(f, a.header, s, cfg);
    match s.focus {
        Pane::Containers => draw_containers(f, a.list, s, cfg),
        Pane::Images => draw_images(f, a.list, s, cfg),
        Pane::Volumes => draw_volumes(f, a.list, s, cfg),
    }
    if let Some(d) = a.detail {
        match s.focus {
            Pane::Containers => draw_container_detail(f, d, s, cfg),
            Pane::Images => draw_image_detail(f, d, s, cfg),
            Pane::Volumes => draw_volume_detail(f, d, s, cfg),
        }
    }
    draw_footer(f, a.footer, s, cfg);
    let area = f.area();
    if let Some(m) = &s.modal {
        draw_modal(f, area, m, s, cfg);
    }
}

fn accent(cfg: &Config) -> Style {
    Style::default().fg(cfg.theme.accent).add_modifier(Modifier::BOLD)
}

fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

fn draw_header(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let containers: Vec<&ContainerSummary> = s.containers.iter().filter(|c| s.in_view(&c.id)).collect();
    let images = s.images.iter().filter(|i| s.in_view(&i.id)).count();
    let running = containers.iter().filter(|c| c.state == "running").count();
    let (cpu, mem): (f64, u64) =
        containers.iter().filter_map(|c| s.live_stats(c)).fold((0.0, 0), |(c, m), x| (c + x.cpu_percent, m + x.memory_usage));
    let wide = area.width >= 120;
    let engine = match &s.info {
        // Several endpoints in view: the ctx part of the header says which.
        _ if s.show_host() => String::new(),
        Some(i) if !i.server_version.is_empty() && wide => format!("{} {} · {}", i.engine, i.server_version, s.backend),
        Some(i) if !i.server_version.is_empty() => format!("{} {}", i.engine, i.server_version),
        _ if wide => s.backend.clone(),
        _ => s.backend.split_whitespace().next().unwrap_or("").to_string(),
    };
    let cpus = s.info.as_ref().map(|i| i.cpus).filter(|c| *c > 0);
    let cpu = match cpus {
        Some(n) => format!("CPU {cpu:.1}%/{n}"),
        None => format!("CPU {cpu:.1}%"),
    };
    let mem = match s.info.as_ref().map(|i| i.memory_total).filter(|m| *m > 0) {
        Some(t) => format!("MEM {}/{}", human_size_binary(mem), human_size_binary(t)),
        None => format!("MEM {}", human_size_binary(mem)),
    };
    let counts = if wide {
        format!("containers {} ({} running)  images {}", containers.len(), running, images)
    } else {
        format!("{}/{} up · {} img", running, containers.len(), images)
    };
    let sep = if wide { "  │  " } else { " │ " };
    let mut spans = vec![Span::styled(" berth ", accent(cfg).add_modifier(Modifier::REVERSED))];
    if s.multi() {
        // Which endpoint is in view, and the ones that do not answer.
        let shown = match &s.endpoint {
            Some(e) => format!(" ctx {e}"),
            None => format!(" ctx all ({})", s.endpoints.len()),
        };
        spans.push(Span::styled(shown, accent(cfg)));
        for (name, _) in s.down_endpoints() {
            spans.push(Span::styled(format!(" ✗ {name} down"), Style::default().fg(cfg.theme.error)));
        }
        spans.push(Span::raw(sep));
    } else {
        spans.push(Span::raw(" "));
    }
    let engine = if engine.is_empty() { String::new() } else { format!("{engine}{sep}") };
    spans.push(Span::raw(format!("{engine}{cpu}  {mem}{sep}{counts}")));
    let line = Line::from(spans);
    f.render_widget(Paragraph::new(line), area);
}

fn pane_block<'a>(title: impl Into<Line<'a>>, focused: bool, cfg: &Config) -> Block<'a> {
    let style = if focused { Style::default().fg(cfg.theme.accent) } else { Style::default().fg(cfg.theme.border) };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(style)
        .title(title)
}

fn title_span<'a>(t: String, focused: bool, cfg: &Config) -> Span<'a> {
    Span::styled(format!(" {t} "), if focused { accent(cfg) } else { Style::default() })
}

/// "Containers · Images" with the focused pane bold.
fn pane_title<'a>(s: &AppState, count: usize, filter: &str, cfg: &Config) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, p) in Pane::ALL.iter().enumerate() {
        let t = if *p == s.focus { format!("{} {} ({count})", i + 1, p.title()) } else { format!("{} {}", i + 1, p.title()) };
        spans.push(title_span(t, *p == s.focus && !s.detail_focus, cfg));
    }
    if s.focus == Pane::Containers && !s.show_all {
        spans.push(Span::raw("running only "));
    }
    if !filter.is_empty() {
        spans.push(Span::raw(format!("/{filter} ")));
    }
    Line::from(spans)
}

fn ago(now: i64, t: i64) -> String {
    if t <= 0 { "N/A".into() } else { format!("{} ago", human_duration(now - t)) }
}

fn short_id(id: &str) -> String {
    berth_engine::multi::split(id).1.trim_start_matches("sha256:").chars().take(12).collect()
}

/// The HOST column's width when it is shown: the longest endpoint name (4..=16).
fn host_width(s: &AppState) -> Option<u16> {
    s.show_host().then(|| s.endpoints.iter().map(|e| e.name.chars().count()).max().unwrap_or(4).clamp(4, 16) as u16)
}

fn state_color(state: &str, cfg: &Config) -> Color {
    match state {
        "running" => cfg.theme.running,
        "paused" | "restarting" => cfg.theme.paused,
        "dead" => cfg.theme.error,
        _ => cfg.theme.exited,
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
            Col::Host => return None,
        })
    }
    fn title(self) -> &'static str {
        match self {
            Col::Spark => "CPU 60s",
            Col::MemFull => "MEM / LIMIT",
            Col::Host => "HOST",
            c => c.sort_key().map(|k| k.title()).unwrap_or(""),
        }
    }
}

const SPARK_W: u16 = 10;

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
    if width >= 110 {
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

fn container_cell(col: Col, c: &ContainerSummary, s: &AppState, cfg: &Config) -> Cell<'static> {
    let last = s.live_stats(c);
    match col {
        Col::Host => Cell::from(crate::state::host_of(&c.id).to_string()),
        Col::Name => {
            let mark = if s.marked.contains(&c.id) { "● " } else { "" };
            Cell::from(format!("{mark}{}", c.name))
        }
        Col::Image => Cell::from(c.image.clone()),
        Col::State => Cell::from(Span::styled(c.state.clone(), Style::default().fg(state_color(&c.state, cfg)))),
        Col::Status => Cell::from(c.status.clone()),
        Col::Cpu => Cell::from(last.map(|l| format!("{:.1}", l.cpu_percent)).unwrap_or_else(|| "-".into())),
        Col::Spark => Cell::from(Span::styled(
            s.stats
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
        Col::Net => Cell::from(last.map(|l| format!("{} / {}", human_size(l.net_rx), human_size(l.net_tx))).unwrap_or_else(|| "-".into())),
    }
}

fn draw_containers(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let vis = s.visible_containers();
    let block = pane_block(pane_title(s, vis.len(), &s.c_filter, cfg), !s.detail_focus, cfg);
    if !s.containers_loaded {
        f.render_widget(Paragraph::new("loading…").block(block), area);
        return;
    }
    if vis.is_empty() {
        let msg = if s.containers.is_empty() {
            "No containers. Press n to run one, or `berth run -d IMAGE`."
        } else if !s.show_all && s.c_filter.is_empty() {
            "No running containers (a shows all)."
        } else {
            "No container matches the filter."
        };
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    let cols = container_columns(area.width, host_width(s));
    let header = Row::new(cols.iter().map(|(c, _)| {
        let mut t = c.title().to_string();
        if c.sort_key() == Some(s.sort) && *c != Col::Spark {
            t.push(if s.sort_rev { '▲' } else { '▼' });
        }
        Cell::from(t).style(bold())
    }));
    // Only the rows on screen are built (a thousand containers cost no more per frame).
    let offset = scroll_offset(area, s.c_selected);
    let rows = vis.iter().skip(offset).take(area.height as usize).map(|c| {
        let style = if s.marked.contains(&c.id) { accent(cfg) } else { Style::default() };
        Row::new(cols.iter().map(|(col, _)| container_cell(*col, c, s, cfg))).style(style)
    });
    let table = Table::new(rows, cols.iter().map(|c| c.1))
        .header(header)
        .block(block)
        .row_highlight_style(Style::default().bg(cfg.theme.selected_bg).add_modifier(Modifier::BOLD))
        .highlight_symbol("▶ ");
    let mut ts = TableState::default().with_selected(Some(s.c_selected - offset));
    f.render_stateful_widget(table, area, &mut ts);
}

fn draw_container_detail(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let Some(c) = s.selected_container() else {
        f.render_widget(Paragraph::new("").block(pane_block(title_span("Details".into(), false, cfg), false, cfg)), area);
        return;
    };
    let titles: Vec<Line> = Tab::ALL.iter().map(|t| Line::from(t.title())).collect();
    let sel = Tab::ALL.iter().position(|t| *t == s.tab).unwrap_or(0);
    let block = pane_block(title_span(c.name.clone(), s.detail_focus, cfg), s.detail_focus, cfg);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if inner.height == 0 {
        return;
    }
    let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    f.render_widget(Tabs::new(titles).select(sel).highlight_style(accent(cfg).add_modifier(Modifier::REVERSED)).divider("│"), tabs);
    match s.tab {
        Tab::Stats => draw_stats(f, body, s, c, cfg),
        Tab::Top => draw_top(f, body, s, cfg),
        Tab::Logs => draw_logs(f, body, s, cfg),
        Tab::Inspect => draw_inspect(f, body, s, cfg),
        Tab::Changes => draw_changes(f, body, s, cfg),
    }
}

fn draw_stats(f: &mut Frame, area: Rect, s: &AppState, c: &ContainerSummary, cfg: &Config) {
    let h = s.stats.get(&c.id);
    let Some((h, last)) = h.and_then(|h| h.last.as_ref().map(|l| (h, l))) else {
        let msg = match (&s.stats_error, c.state.as_str()) {
            (Some(e), _) => format!("Stats unavailable: {e}"),
            (None, "running") => "Waiting for the first sample…".into(),
            (None, st) => format!("No stats: the container is {st}."),
        };
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
        return;
    };
    let win = s.chart_window;
    let span = win.secs();
    // Times are relative to the newest sample, so a chart whose values did not change
    // draws the same (no redraw needed) and a stopped container's chart stays put.
    let newest = h.newest_t().unwrap_or(s.now);
    let pts: Vec<Point> = h.window(newest, span);
    let p = pts.last().copied().unwrap_or_default();
    let step = if span > crate::history::FINE_SPAN { "10 s avg" } else { "1 s" };
    let series = |f: &dyn Fn(&Point) -> f64| -> Vec<(f64, f64)> { pts.iter().map(|q| ((q.t - newest) as f64, f(q))).collect() };
    let charts: [ChartSpec; 4] = [
        ChartSpec {
            title: format!("CPU {:.1}%  pids {}", last.cpu_percent, last.pids),
            lines: vec![("cpu", series(&|q| q.cpu as f64), cfg.theme.running)],
            unit: Unit::Percent,
        },
        ChartSpec {
            title: format!(
                "MEM {} / {} ({:.1}%)",
                human_size_binary(last.memory_usage),
                human_size_binary(last.memory_limit),
                last.memory_percent()
            ),
            lines: vec![("mem", series(&|q| q.mem_kib as f64 * 1024.0), cfg.theme.accent)],
            unit: Unit::Bytes,
        },
        ChartSpec {
            title: format!(
                "NET rx {}/s tx {}/s  (total {} / {})",
                human_size(p.rx as u64),
                human_size(p.tx as u64),
                human_size(last.net_rx),
                human_size(last.net_tx)
            ),
            lines: vec![("rx", series(&|q| q.rx as f64), cfg.theme.running), ("tx", series(&|q| q.tx as f64), cfg.theme.paused)],
            unit: Unit::Rate,
        },
        ChartSpec {
            title: format!(
                "BLOCK read {}/s write {}/s  (total {} / {})",
                human_size(p.blk_r as u64),
                human_size(p.blk_w as u64),
                human_size(last.block_read),
                human_size(last.block_write)
            ),
            lines: vec![("read", series(&|q| q.blk_r as f64), cfg.theme.accent), ("write", series(&|q| q.blk_w as f64), cfg.theme.exited)],
            unit: Unit::Rate,
        },
    ];
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(format!("last {}", win.label()), accent(cfg)),
            Span::raw(format!(" ({step})  w: 1m/15m/1h/24h")),
        ])),
        head,
    );
    // Four charts stacked when each gets enough rows for a plot and its axes, else a
    // 2×2 grid, else one-line sparklines (a small terminal).
    const MIN_H: u16 = 7;
    let cells: Vec<Rect> = if body.height >= 4 * MIN_H {
        Layout::vertical([Constraint::Ratio(1, 4); 4]).split(body).to_vec()
    } else if body.height >= 2 * MIN_H && body.width >= 60 {
        let rows = Layout::vertical([Constraint::Ratio(1, 2); 2]).split(body);
        rows.iter().flat_map(|r| Layout::horizontal([Constraint::Ratio(1, 2); 2]).split(*r).to_vec()).collect()
    } else {
        let rows = Layout::vertical([Constraint::Ratio(1, 4); 4]).split(body);
        for (r, c) in rows.iter().zip(&charts) {
            let [t, g] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(*r);
            f.render_widget(Paragraph::new(Span::styled(c.title.clone(), bold())), t);
            if g.height > 0 {
                let w = g.width as usize;
                let data: Vec<u64> = c.lines[0].1.iter().map(|(_, y)| (y * 10.0) as u64).collect();
                let data = &data[data.len().saturating_sub(w)..];
                f.render_widget(Sparkline::default().data(data).style(Style::default().fg(c.lines[0].2)), g);
            }
        }
        return;
    };
    for (r, c) in cells.iter().zip(&charts) {
        draw_chart(f, *r, c, win);
    }
}

/// What a chart's values are, for its y-axis labels.
#[derive(Clone, Copy)]
enum Unit {
    Percent,
    Bytes,
    Rate,
}

impl Unit {
    fn label(self, v: f64) -> String {
        match self {
            Unit::Percent => format!("{v:.0}%"),
            Unit::Bytes => human_size_binary(v as u64),
            Unit::Rate => format!("{}/s", human_size(v as u64)),
        }
    }
    /// The top of the y axis: the peak rounded up to 1, 2 or 5 × a power of ten (binary
    /// sizes: a power of two), never below a floor that keeps an idle line at the bottom.
    fn top(self, peak: f64) -> f64 {
        match self {
            Unit::Bytes => peak.max(1024.0 * 1024.0).log2().ceil().exp2(),
            Unit::Percent | Unit::Rate => {
                let floor = if matches!(self, Unit::Percent) { 10.0 } else { 1000.0 };
                let v = peak.max(floor);
                let p = 10f64.powf(v.log10().floor());
                [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|x| *x >= v).unwrap_or(10.0 * p)
            }
        }
    }
}

/// One line of a chart: its name, (seconds before the newest sample, value) points, colour.
type ChartLine = (&'static str, Vec<(f64, f64)>, Color);

struct ChartSpec {
    title: String,
    lines: Vec<ChartLine>,
    unit: Unit,
}

fn draw_chart(f: &mut Frame, area: Rect, c: &ChartSpec, win: crate::state::ChartWindow) {
    use crate::state::ChartWindow;
    use ratatui::symbols::Marker;
    use ratatui::widgets::{Axis, Chart, Dataset, GraphType};
    let peak = c.lines.iter().flat_map(|l| l.1.iter().map(|p| p.1)).fold(0.0, f64::max);
    let top = c.unit.top(peak);
    let x: &[&str] = match win {
        ChartWindow::Min1 => &["-1m", "-30s", "now"],
        ChartWindow::Min15 => &["-15m", "-10m", "-5m", "now"],
        ChartWindow::Hour1 => &["-1h", "-30m", "now"],
        ChartWindow::Hour24 => &["-24h", "-12h", "now"],
    };
    let datasets: Vec<Dataset> = c
        .lines
        .iter()
        .map(|(name, data, color)| {
            Dataset::default().name(*name).marker(Marker::Braille).graph_type(GraphType::Line).style(Style::default().fg(*color)).data(data)
        })
        .collect();
    // Several lines: a key in the title, in each line's colour (a legend box would hide data).
    let mut title = vec![Span::styled(c.title.clone(), bold())];
    if c.lines.len() > 1 {
        for (name, _, color) in &c.lines {
            title.push(Span::styled(format!("  ━ {name}"), Style::default().fg(*color)));
        }
    }
    let chart = Chart::new(datasets)
        .block(Block::default().title(Line::from(title)))
        .x_axis(Axis::default().bounds([-(win.secs() as f64), 0.0]).labels(x.iter().map(|l| Span::raw(*l))))
        .y_axis(Axis::default().bounds([0.0, top]).labels([Span::raw(c.unit.label(0.0)), Span::raw(c.unit.label(top))]))
        .legend_position(None);
    f.render_widget(chart, area);
}

/// The index of the column a top sort uses, if the titles have one.
pub fn top_sort_column(titles: &[String], by: TopSort) -> Option<usize> {
    let names: &[&str] = match by {
        TopSort::Cpu => &["%CPU", "C", "CPU"],
        TopSort::Mem => &["%MEM", "RSS", "VSZ", "MEM"],
    };
    names.iter().find_map(|n| titles.iter().position(|t| t.eq_ignore_ascii_case(n)))
}

/// Processes in display order.
pub fn sorted_processes(titles: &[String], procs: &[Vec<String>], by: TopSort) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..procs.len()).collect();
    if let Some(col) = top_sort_column(titles, by) {
        let num = |i: usize| procs[i].get(col).and_then(|v| v.trim_end_matches('%').parse::<f64>().ok()).unwrap_or(0.0);
        idx.sort_by(|a, b| num(*b).total_cmp(&num(*a)));
    }
    idx
}

fn draw_top(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let Some((_, r)) = &s.top else {
        f.render_widget(Paragraph::new("loading…"), area);
        return;
    };
    let t = match r {
        Ok(t) => t,
        Err(e) => {
            f.render_widget(
                Paragraph::new(format!("top: {e}")).style(Style::default().fg(cfg.theme.error)).wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
    };
    if t.processes.is_empty() {
        f.render_widget(Paragraph::new("No processes."), area);
        return;
    }
    let sort_col = top_sort_column(&t.titles, s.top_sort);
    let order = sorted_processes(&t.titles, &t.processes, s.top_sort);
    let header = Row::new(t.titles.iter().enumerate().map(|(i, h)| {
        let mut h = h.clone();
        if Some(i) == sort_col {
            h.push('▼');
        }
        Cell::from(h).style(bold())
    }));
    let last = t.titles.len().saturating_sub(1);
    let widths: Vec<Constraint> = t
        .titles
        .iter()
        .enumerate()
        .map(|(i, title)| {
            if i == last {
                Constraint::Fill(1)
            } else {
                let w = t
                    .processes
                    .iter()
                    .filter_map(|p| p.get(i))
                    .map(|v| v.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(title.chars().count() + 1);
                Constraint::Length(w as u16)
            }
        })
        .collect();
    let visible = area.height.saturating_sub(1) as usize;
    let start = s.top_scroll.min(order.len().saturating_sub(visible.max(1)));
    let rows = order.iter().skip(start).take(visible).map(|i| Row::new(t.processes[*i].iter().map(|v| Cell::from(v.clone()))));
    f.render_widget(Table::new(rows, widths).header(header), area);
}

/// Split `text` into spans with case-insensitive matches of `needle` highlighted.
fn highlight<'a>(text: &str, needle: &str, hl: Style) -> Vec<Span<'a>> {
    if needle.is_empty() {
        return vec![Span::raw(text.to_string())];
    }
    let lower = text.to_lowercase();
    let n = needle.to_lowercase();
    // Lower-casing can change byte lengths (rare); then show the line unhighlighted.
    if lower.len() != text.len() {
        return vec![Span::raw(text.to_string())];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find(&n) {
        let a = pos + i;
        let b = a + n.len();
        if a > pos {
            out.push(Span::raw(text[pos..a].to_string()));
        }
        out.push(Span::styled(text[a..b].to_string(), hl));
        pos = b;
    }
    if pos < text.len() {
        out.push(Span::raw(text[pos..].to_string()));
    }
    out
}

fn draw_logs(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let l = &s.logs;
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let matching: Vec<&berth_engine::api::LogLine> = l.lines.iter().filter(|x| s.log_matches(x)).collect();
    let mut st = vec![Span::styled(if l.follow { "following" } else { "paused" }, accent(cfg))];
    st.push(Span::raw(format!("  {} lines", l.lines.len())));
    if l.timestamps {
        st.push(Span::raw("  timestamps"));
    }
    if l.searching || !l.search.is_empty() {
        st.push(Span::raw(format!("  search: {}{}  ({} match)", l.search, if l.searching { "▏" } else { "" }, matching.len())));
    }
    match &l.ended {
        Some(Some(e)) => st.push(Span::styled(format!("  {e}"), Style::default().fg(cfg.theme.error))),
        Some(None) => st.push(Span::raw("  (ended)")),
        None => {}
    }
    f.render_widget(Paragraph::new(Line::from(st)), status);
    if matching.is_empty() {
        let msg = match (l.lines.is_empty(), &l.ended) {
            (true, Some(_)) => "No output.",
            (true, None) => "No output yet.",
            (false, _) => "No line matches the search.",
        };
        f.render_widget(Paragraph::new(msg), body);
        return;
    }
    let h = body.height as usize;
    let scroll = l.scroll.min(matching.len().saturating_sub(h));
    let end = matching.len() - scroll;
    let start = end.saturating_sub(h);
    let hl = Style::default().fg(Color::Black).bg(cfg.theme.paused).add_modifier(Modifier::BOLD);
    let hl = if cfg.no_color { Style::default().add_modifier(Modifier::REVERSED) } else { hl };
    let lines: Vec<Line> = matching[start..end]
        .iter()
        .map(|x| {
            let mut spans = Vec::new();
            if l.timestamps {
                spans.push(Span::styled(format!("{} ", x.time.get(..19).unwrap_or(&x.time)), Style::default().fg(cfg.theme.exited)));
            }
            let text = if x.stream == "stderr" { Style::default().fg(cfg.theme.error) } else { Style::default() };
            spans.extend(highlight(&x.line, &l.search, hl).into_iter().map(|sp| if sp.style == hl { sp } else { sp.style(text) }));
            Line::from(spans)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), body);
}

fn draw_inspect(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let Some((_, r)) = &s.inspect else {
        f.render_widget(Paragraph::new("loading…"), area);
        return;
    };
    let v = match r {
        Ok(v) => v,
        Err(e) => {
            f.render_widget(
                Paragraph::new(format!("inspect: {e}")).style(Style::default().fg(cfg.theme.error)).wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
    };
    let lines = crate::json::lines(v, &s.folded);
    let h = area.height as usize;
    let cursor = s.inspect_cursor.min(lines.len().saturating_sub(1));
    let start = cursor.saturating_sub(h.saturating_sub(1));
    let out: Vec<Line> = lines
        .iter()
        .enumerate()
        .skip(start)
        .take(h)
        .map(|(i, l)| {
            let marker = match (&l.fold, l.folded) {
                (Some(_), true) => "▸ ",
                (Some(_), false) => "▾ ",
                _ => "  ",
            };
            let line = Line::from(format!("{}{marker}{}", "  ".repeat(l.depth), l.text));
            if i == cursor && s.detail_focus {
                line.style(Style::default().bg(cfg.theme.selected_bg).add_modifier(Modifier::BOLD))
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(out), area);
}

/// `diff` of the selected container: A green, C yellow, D red (docker's letters).
fn draw_changes(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let Some((_, r)) = &s.changes else {
        f.render_widget(Paragraph::new("loading…"), area);
        return;
    };
    let v = match r {
        Ok(v) => v,
        Err(e) => {
            f.render_widget(
                Paragraph::new(format!("changes: {e}")).style(Style::default().fg(cfg.theme.error)).wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
    };
    let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    let count = |k: ChangeKind| v.iter().filter(|c| c.kind == k).count();
    let st = format!("{} added  {} changed  {} deleted", count(ChangeKind::Added), count(ChangeKind::Modified), count(ChangeKind::Deleted));
    f.render_widget(Paragraph::new(Span::styled(st, accent(cfg))), status);
    if v.is_empty() {
        f.render_widget(Paragraph::new("No changes since the container was created."), body);
        return;
    }
    let h = body.height as usize;
    let start = s.changes_scroll.min(v.len().saturating_sub(h.max(1)));
    let lines: Vec<Line> = v
        .iter()
        .skip(start)
        .take(h)
        .map(|c| {
            let colour = match c.kind {
                ChangeKind::Added => cfg.theme.running,
                ChangeKind::Modified => cfg.theme.paused,
                ChangeKind::Deleted => cfg.theme.error,
            };
            Line::from(vec![
                Span::styled(format!("{} ", c.kind.letter()), Style::default().fg(colour).add_modifier(Modifier::BOLD)),
                Span::raw(c.path.clone()),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), body);
}

fn draw_images(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let vis = s.visible_images();
    let block = pane_block(pane_title(s, vis.len(), &s.filter, cfg), true, cfg);
    if !s.images_loaded {
        f.render_widget(Paragraph::new("loading…").block(block), area);
        return;
    }
    if vis.is_empty() {
        let msg = if s.images.is_empty() {
            "No images. Press P to pull one, or load one with `berth load`."
        } else {
            "No image matches the filter."
        };
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    // Narrow lists keep the name and size; the rest appears as width allows.
    let full = area.width >= 64;
    let host = host_width(s);
    let titles: &[&str] = if full { &["REPOSITORY:TAG", "IMAGE ID", "CREATED", "SIZE", "USED"] } else { &["REPOSITORY:TAG", "SIZE"] };
    let header = Row::new(host.map(|_| "HOST").into_iter().chain(titles.iter().copied()).map(|h| Cell::from(h).style(bold())));
    let rows = vis.iter().map(|i| {
        let name = i.repo_tags.first().cloned().unwrap_or_else(|| "<none>:<none>".into());
        let extra = if i.repo_tags.len() > 1 { format!(" +{}", i.repo_tags.len() - 1) } else { String::new() };
        let used = if i.containers < 0 { "?".to_string() } else { i.containers.to_string() };
        let style = if i.repo_tags.is_empty() { Style::default().fg(cfg.theme.exited) } else { Style::default() };
        let mut cells = if full {
            vec![
                Cell::from(format!("{name}{extra}")),
                Cell::from(short_id(&i.id)),
                Cell::from(ago(s.now, i.created)),
                Cell::from(human_size(i.size)),
                Cell::from(used),
            ]
        } else {
            vec![Cell::from(format!("{name}{extra}")), Cell::from(human_size(i.size))]
        };
        if host.is_some() {
            cells.insert(0, Cell::from(crate::state::host_of(&i.id).to_string()));
        }
        Row::new(cells).style(style)
    });
    let mut widths: Vec<Constraint> = if full {
        vec![Constraint::Fill(1), Constraint::Length(12), Constraint::Length(15), Constraint::Length(8), Constraint::Length(4)]
    } else {
        vec![Constraint::Fill(1), Constraint::Length(8)]
    };
    if let Some(w) = host {
        widths.insert(0, Constraint::Length(w));
    }
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(Style::default().bg(cfg.theme.selected_bg).add_modifier(Modifier::BOLD))
        .highlight_symbol("▶ ");
    let mut ts = TableState::default().with_offset(scroll_offset(area, s.selected)).with_selected(Some(s.selected));
    f.render_stateful_widget(table, area, &mut ts);
}

/// Volumes like lazydocker's: name, driver, and the containers using each.
fn draw_volumes(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let vis = s.visible_volumes();
    let block = pane_block(pane_title(s, vis.len(), &s.v_filter, cfg), true, cfg);
    if !s.volumes_loaded {
        f.render_widget(Paragraph::new("loading…").block(block), area);
        return;
    }
    if vis.is_empty() {
        let msg = if s.volumes.is_empty() { "No volumes. `-v NAME:/path` on run creates one." } else { "No volume matches the filter." };
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    let host = host_width(s);
    let header =
        Row::new(host.map(|_| "HOST").into_iter().chain(["VOLUME NAME", "DRIVER", "CONTAINERS"]).map(|h| Cell::from(h).style(bold())));
    let rows = vis.iter().map(|v| {
        let name = berth_engine::multi::split(&v.name).1;
        // Anonymous volumes (64 hex) are shortened like IDs.
        let shown = if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) { name[..12].to_string() } else { name.to_string() };
        let users = match &v.users {
            Some(u) if u.is_empty() => "-".to_string(),
            Some(u) => u.join(", "),
            None => "?".to_string(),
        };
        let style = if v.users.as_ref().is_some_and(|u| u.is_empty()) { Style::default().fg(cfg.theme.exited) } else { Style::default() };
        let mut cells = vec![Cell::from(shown), Cell::from(v.driver.clone()), Cell::from(users)];
        if host.is_some() {
            cells.insert(0, Cell::from(crate::state::host_of(&v.name).to_string()));
        }
        Row::new(cells).style(style)
    });
    let mut widths = vec![Constraint::Fill(1), Constraint::Length(7), Constraint::Fill(1)];
    if let Some(w) = host {
        widths.insert(0, Constraint::Length(w));
    }
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(Style::default().bg(cfg.theme.selected_bg).add_modifier(Modifier::BOLD))
        .highlight_symbol("▶ ");
    let mut ts = TableState::default().with_offset(scroll_offset(area, s.v_selected)).with_selected(Some(s.v_selected));
    f.render_stateful_widget(table, area, &mut ts);
}

fn draw_volume_detail(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let block = pane_block(title_span("Details".into(), false, cfg), false, cfg);
    let Some(v) = s.selected_volume() else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let key = |k: &str| Span::styled(format!("{k:<11}"), Style::default().fg(cfg.theme.accent));
    let (host, name) = berth_engine::multi::split(&v.name);
    let mut lines = vec![Line::from(vec![key("Name"), Span::raw(name.to_string())])];
    if let Some(h) = host {
        lines.push(Line::from(vec![key("Host"), Span::raw(h.to_string())]));
    }
    let users = v.users.as_ref().map(|u| if u.is_empty() { "none".to_string() } else { u.join(", ") }).unwrap_or_else(|| "?".into());
    lines.extend([
        Line::from(vec![key("Driver"), Span::raw(v.driver.clone())]),
        Line::from(vec![key("Mountpoint"), Span::raw(v.mountpoint.clone())]),
        Line::from(vec![key("Created"), Span::raw(v.created_at.clone())]),
        Line::from(vec![key("Used by"), Span::raw(users)]),
    ]);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
}

fn draw_image_detail(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let block = pane_block(title_span("Details".into(), false, cfg), false, cfg);
    let Some(i) = s.selected_image() else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let key = |k: &str| Span::styled(format!("{k:<9}"), Style::default().fg(cfg.theme.accent));
    let (host, id) = berth_engine::multi::split(&i.id);
    let mut lines = vec![Line::from(vec![key("ID"), Span::raw(id.to_string())])];
    if let Some(h) = host {
        lines.push(Line::from(vec![key("Host"), Span::raw(h.to_string())]));
    }
    lines.extend([
        Line::from(vec![key("Created"), Span::raw(ago(s.now, i.created))]),
        Line::from(vec![key("Size"), Span::raw(human_size(i.size))]),
        Line::from(vec![
            key("Used by"),
            Span::raw(if i.containers < 0 { "unknown".into() } else { format!("{} container(s)", i.containers) }),
        ]),
        Line::from(key("Tags")),
    ]);
    if i.repo_tags.is_empty() {
        lines.push(Line::from("  <none>"));
    }
    lines.extend(i.repo_tags.iter().map(|t| Line::from(format!("  {t}"))));
    if !i.repo_digests.is_empty() {
        lines.push(Line::from(key("Digests")));
        lines.extend(i.repo_digests.iter().map(|t| Line::from(format!("  {t}"))));
    }
    f.render_widget(Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }).block(block), area);
}

fn key_label(keys: &[crate::config::Key]) -> String {
    keys.first().map(|k| k.label()).unwrap_or_default()
}

fn draw_footer(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let k = &cfg.keys;
    let line = if s.filtering {
        Line::from(vec![
            Span::styled(" filter: ", accent(cfg)),
            Span::raw(s.filter_text().to_string()),
            Span::raw("▏  enter apply · esc clear"),
        ])
    } else if s.logs.searching {
        Line::from(vec![Span::styled(" search: ", accent(cfg)), Span::raw(s.logs.search.clone()), Span::raw("▏  enter apply · esc clear")])
    } else {
        let hint = |key: &[crate::config::Key], what: &str| {
            vec![Span::styled(format!(" {}", key_label(key)), accent(cfg)), Span::raw(format!(" {what} "))]
        };
        let mut spans = Vec::new();
        spans.extend(hint(&k.quit, "quit"));
        spans.extend(hint(&k.help, "help"));
        if s.multi() {
            spans.extend(hint(&k.command, "ctx"));
        }
        match (s.focus, s.detail_focus) {
            (Pane::Containers, false) => {
                spans.extend(hint(&k.filter, "filter"));
                spans.extend(hint(&k.detail, "detail"));
                spans.extend(hint(&k.next_tab, "tab"));
                spans.extend(hint(&k.stop, "stop"));
                spans.extend(hint(&k.start, "start"));
                spans.extend(hint(&k.remove, "remove"));
                spans.extend(hint(&k.run, "run"));
            }
            (Pane::Containers, true) => {
                spans.extend(hint(&k.back, "back"));
                spans.extend(hint(&k.next_tab, "tab"));
                match s.tab {
                    Tab::Logs => {
                        spans.extend(hint(&k.filter, "search"));
                        spans.extend(hint(&k.timestamps, "timestamps"));
                        spans.extend(hint(&k.follow, "follow"));
                    }
                    Tab::Top => spans.extend(hint(&k.sort_next, "sort cpu/mem")),
                    Tab::Inspect => spans.extend(hint(&k.detail, "fold")),
                    Tab::Stats => spans.extend(hint(&k.detail, "15 min / 24 h")),
                    Tab::Changes => spans.extend(hint(&k.commit, "commit")),
                }
            }
            (Pane::Images, _) => {
                spans.extend(hint(&k.filter, "filter"));
                spans.extend(hint(&k.pull, "pull"));
                spans.extend(hint(&k.run, "run"));
                spans.extend(hint(&k.remove, "remove"));
                spans.extend(hint(&k.history, "history"));
                spans.extend(hint(&k.prune, "prune"));
            }
            (Pane::Volumes, _) => {
                spans.extend(hint(&k.filter, "filter"));
                spans.extend(hint(&k.remove, "remove"));
                spans.extend(hint(&k.prune, "prune"));
            }
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}

/// A rectangle of at most `w`×`h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// Help rows from the keymap: every action, in keymap order.
pub fn help_rows(cfg: &Config) -> Vec<(String, String)> {
    cfg.keys
        .entries()
        .into_iter()
        .map(|(action, keys)| (keys.iter().map(|k| k.label()).collect::<Vec<_>>().join(" "), action.replace('_', " ")))
        .collect()
}

fn field_line<'a>(f: &TextField, focused: bool, cfg: &Config) -> Line<'a> {
    let label = Span::styled(format!("{:<12}", f.label), if focused { accent(cfg) } else { Style::default() });
    if !focused {
        return Line::from(vec![label, Span::raw(f.text.clone())]);
    }
    let b = f.text.char_indices().nth(f.cursor).map(|(i, _)| i).unwrap_or(f.text.len());
    let (a, rest) = f.text.split_at(b);
    let mut chars = rest.chars();
    let at = chars.next().map(|c| c.to_string()).unwrap_or_else(|| " ".into());
    Line::from(vec![
        label,
        Span::raw(a.to_string()),
        Span::styled(at, Style::default().add_modifier(Modifier::REVERSED)),
        Span::raw(chars.as_str().to_string()),
    ])
}

fn run_form_text<'a>(r: &RunForm, cfg: &Config) -> Text<'a> {
    let mut lines: Vec<Line> = r.fields.iter().enumerate().map(|(i, f)| field_line(f, r.focus == i, cfg)).collect();
    let toggle = format!("[{}] interactive (tty + stdin)", if r.interactive { "x" } else { " " });
    lines.push(Line::from(Span::styled(toggle, if r.focus == 4 { accent(cfg) } else { Style::default() })));
    lines.push(Line::from(""));
    lines.push(Line::from(" tab next field · space toggles · enter run · esc cancel"));
    Text::from(lines)
}

/// The switcher: "all", then each endpoint with its address and state; the one in view
/// marked `*`, the cursor reversed, unreachable ones in the error colour with why.
fn endpoints_text<'a>(s: &AppState, cursor: usize, cfg: &Config) -> Text<'a> {
    use berth_engine::multi::EndpointState;
    let w = s.endpoints.iter().map(|e| e.name.chars().count()).max().unwrap_or(3).max(3);
    let aw = s.endpoints.iter().map(|e| e.address.chars().count()).max().unwrap_or(0);
    let mut rows = vec![(format!("{} {:<w$}  every endpoint", if s.endpoint.is_none() { "*" } else { " " }, "all"), Style::default())];
    for e in &s.endpoints {
        let (state, style) = match &e.state {
            EndpointState::Up => ("up".to_string(), Style::default().fg(cfg.theme.running)),
            EndpointState::Connecting => ("connecting…".to_string(), Style::default().fg(cfg.theme.paused)),
            EndpointState::Down(why) => (format!("✗ unreachable: {why}"), Style::default().fg(cfg.theme.error)),
        };
        let mark = if s.endpoint.as_deref() == Some(e.name.as_str()) { "*" } else { " " };
        rows.push((format!("{mark} {:<w$}  {:<aw$}  {state}", e.name, e.address), style));
    }
    let mut lines: Vec<Line> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (t, st))| Line::from(Span::styled(t, if i == cursor { st.add_modifier(Modifier::REVERSED) } else { st })))
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(" enter show · esc close"));
    Text::from(lines)
}

fn draw_modal(f: &mut Frame, area: Rect, m: &Modal, s: &AppState, cfg: &Config) {
    let (title, body, style): (String, Text, Style) = match m {
        Modal::Help => {
            let rows = help_rows(cfg);
            let w = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 2;
            let lines: Vec<Line> =
                rows.into_iter().map(|(k, a)| Line::from(vec![Span::styled(format!("{k:<w$}"), accent(cfg)), Span::raw(a)])).collect();
            let col = lines.iter().map(|l| l.width()).max().unwrap_or(0) + 3;
            // Two columns when one does not fit the screen's height but two fit its width.
            let text = if lines.len() + 4 > area.height as usize && 2 * col + 4 <= area.width as usize {
                let half = lines.len().div_ceil(2);
                let (a, b) = lines.split_at(half);
                Text::from(
                    a.iter()
                        .enumerate()
                        .map(|(i, l)| {
                            let mut spans = l.spans.clone();
                            spans.push(Span::raw(" ".repeat(col - l.width())));
                            if let Some(r) = b.get(i) {
                                spans.extend(r.spans.clone());
                            }
                            Line::from(spans)
                        })
                        .collect::<Vec<_>>(),
                )
            } else {
                Text::from(lines)
            };
            let mut text = text;
            text.lines.push(Line::from(vec![
                Span::styled("mouse  ", accent(cfg)),
                Span::raw("click selects, header click sorts, wheel scrolls"),
            ]));
            ("Keys".into(), text, Style::default())
        }
        Modal::ConfirmRemove { label, .. } => {
            ("Remove image".into(), Text::from(format!("Remove {label}?\n\n y yes   n no")), Style::default())
        }
        Modal::ConfirmVolumes { question, .. } => ("Volumes".into(), Text::from(format!("{question}\n\n y yes   n no")), Style::default()),
        Modal::ConfirmRemoveContainers { label, .. } => (
            "Remove containers".into(),
            Text::from(format!("Remove {label}?\nRunning ones are killed first.\n\n y yes   n no")),
            Style::default(),
        ),
        Modal::Input { kind, field } => {
            let t = match kind {
                crate::state::InputKind::Rename { .. } => "Rename container".to_string(),
                crate::state::InputKind::Pull if s.multi() => {
                    format!("Pull image to {}", s.endpoint.as_deref().or(s.endpoints.first().map(|e| e.name.as_str())).unwrap_or(""))
                }
                crate::state::InputKind::Pull => "Pull image".into(),
                crate::state::InputKind::Command => "Command (ctx, ctx NAME, ctx all, q)".into(),
                crate::state::InputKind::Commit { name, .. } => format!("Commit {name} as an image"),
            };
            (t, Text::from(vec![field_line(field, true, cfg), Line::from(""), Line::from(" enter ok · esc cancel")]), Style::default())
        }
        Modal::Run(r) => ("Run a container".into(), run_form_text(r, cfg), Style::default()),
        Modal::Pull(p) => {
            let mut lines: Vec<Line> = p.messages.iter().map(|m| Line::from(m.clone())).collect();
            for (id, st, cur, total) in &p.layers {
                let bar = match total {
                    Some(t)
                        if *t > 0
                            && matches!(st, berth_engine::api::LayerStatus::Downloading | berth_engine::api::LayerStatus::Extracting) =>
                    {
                        let filled = ((*cur as f64 / *t as f64) * 20.0).round().clamp(0.0, 20.0) as usize;
                        format!(" [{}{}] {}/{}", "=".repeat(filled), " ".repeat(20 - filled), human_size(*cur), human_size(*t))
                    }
                    _ => String::new(),
                };
                lines.push(Line::from(format!("{id}: {}{bar}", st.docker_text())));
            }
            match &p.done {
                Some(Ok(id)) => lines.push(Line::from(Span::styled(format!("Pulled {} ({})", p.reference, short_id(id)), accent(cfg)))),
                Some(Err(e)) => lines.push(Line::from(Span::styled(e.clone(), Style::default().fg(cfg.theme.error)))),
                None => lines.push(Line::from("pulling…")),
            }
            lines.push(Line::from(""));
            lines.push(Line::from(if p.done.is_some() { " esc close" } else { " esc hide (the pull goes on)" }));
            (format!("Pull {}", p.reference), Text::from(lines), Style::default())
        }
        Modal::History { image, items } => {
            let mut lines = vec![Line::from(Span::styled(format!("{:<14}{:<16}{:>9}  CREATED BY", "IMAGE", "CREATED", "SIZE"), bold()))];
            for it in items {
                let by: String = it.created_by.chars().take(60).collect();
                lines.push(Line::from(format!("{:<14}{:<16}{:>9}  {by}", short_id(&it.id), ago(s.now, it.created), human_size(it.size))));
            }
            lines.push(Line::from(""));
            lines.push(Line::from(" esc close"));
            (format!("History of {image}"), Text::from(lines), Style::default())
        }
        Modal::Error(e) => ("Error".into(), Text::from(format!("{e}\n\n esc dismiss")), Style::default().fg(cfg.theme.error)),
        Modal::Info(t) => ("Done".into(), Text::from(format!("{t}\n\n esc dismiss")), Style::default()),
        Modal::Endpoints { cursor } => ("Endpoints".into(), endpoints_text(s, *cursor, cfg), Style::default()),
    };
    let h = body.height() as u16 + 2;
    let w = body.width().max(title.len() + 4) as u16 + 4;
    let r = centered(area, w.max(30), h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(style)
        .title(Span::styled(format!(" {title} "), accent(cfg)));
    f.render_widget(Paragraph::new(body).style(style).wrap(Wrap { trim: false }).block(block), r);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_marks_every_match_case_insensitively() {
        let hl = Style::default().add_modifier(Modifier::REVERSED);
        let spans = highlight("Error: an error", "ERROR", hl);
        let marked: Vec<_> = spans.iter().filter(|s| s.style == hl).map(|s| s.content.to_string()).collect();
        assert_eq!(marked, ["Error", "error"]);
        assert_eq!(spans.iter().map(|s| s.content.to_string()).collect::<String>(), "Error: an error");
    }

    #[test]
    fn top_sorts_by_the_cpu_or_memory_column() {
        let titles: Vec<String> = ["PID", "%CPU", "%MEM", "CMD"].iter().map(|s| s.to_string()).collect();
        let p = |pid: &str, c: &str, m: &str| vec![pid.to_string(), c.to_string(), m.to_string(), "x".to_string()];
        let procs = vec![p("1", "0.5", "9.0"), p("2", "30", "1.0"), p("3", "2", "3")];
        assert_eq!(sorted_processes(&titles, &procs, TopSort::Cpu), [1, 2, 0]);
        assert_eq!(sorted_processes(&titles, &procs, TopSort::Mem), [0, 2, 1]);
    }

    #[test]
    fn header_click_maps_to_the_column_under_it() {
        let list = Rect::new(0, 1, 120, 20);
        let mut s = AppState::new("local".into(), 0);
        assert_eq!(header_at(list, &s, 4, 2), Some(SortKey::Name));
        assert_eq!(header_at(list, &s, 4, 3), None);
        // The last column (NET) ends at the right border.
        assert_eq!(header_at(list, &s, 110, 2), Some(SortKey::Net));
        // With a HOST column first (not a sort key), NAME moves right.
        let st = |name: &str| berth_engine::multi::EndpointStatus {
            name: name.into(),
            address: String::new(),
            state: berth_engine::multi::EndpointState::Up,
        };
        s.endpoints = vec![st("berth"), st("dockerd")];
        assert_eq!(header_at(list, &s, 4, 2), None);
        assert_eq!(header_at(list, &s, 14, 2), Some(SortKey::Name));
        assert_eq!(header_at(list, &s, 110, 2), Some(SortKey::Net));
    }
}

//! The Stats tab: charts of CPU, memory, network rx/tx and block I/O of the selected
//! container over a window (`w` cycles 1m/15m/1h/24h), with time and value axes; one-line
//! sparklines when the terminal is small. The history itself lives with the containers
//! list (both show it); this tab owns only the window.
use berth_engine::api::ContainerSummary;
use berth_engine::human::{human_size, human_size_binary};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline, Wrap};

use crate::ctx::Ctx;
use crate::history::{FINE_SPAN, Point};
use crate::panes::containers::ContainersPane;
use crate::widgets::{accent, bold};

/// The time span the charts cover. Up to 15 minutes the charts draw 1 s points; beyond,
/// the 10 s averages.
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

#[derive(Clone, Debug)]
pub struct StatsTab {
    pub window: ChartWindow,
}

impl Default for StatsTab {
    fn default() -> Self {
        StatsTab { window: ChartWindow::Min1 }
    }
}

impl StatsTab {
    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, c: &ContainerSummary, pane: &ContainersPane) {
        let cfg = &ctx.cfg;
        let Some((h, last)) = pane.stats.get(&c.id).and_then(|h| h.last.as_ref().map(|l| (h, l))) else {
            let msg = match (&pane.stats_error, c.state.as_str()) {
                (Some(e), _) => format!("Stats unavailable: {e}"),
                (None, "running") => "Waiting for the first sample…".into(),
                (None, st) => format!("No stats: the container is {st}."),
            };
            f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }), area);
            return;
        };
        let win = self.window;
        let span = win.secs();
        // Times are relative to the newest sample, so a chart whose values did not change
        // draws the same (no redraw needed) and a stopped container's chart stays put.
        let newest = h.newest_t().unwrap_or(ctx.now);
        let pts: Vec<Point> = h.window(newest, span);
        let p = pts.last().copied().unwrap_or_default();
        let step = if span > FINE_SPAN { "10 s avg" } else { "1 s" };
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
                lines: vec![
                    ("read", series(&|q| q.blk_r as f64), cfg.theme.accent),
                    ("write", series(&|q| q.blk_w as f64), cfg.theme.exited),
                ],
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

fn draw_chart(f: &mut Frame, area: Rect, c: &ChartSpec, win: ChartWindow) {
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

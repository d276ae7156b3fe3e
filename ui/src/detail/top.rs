//! The Top tab: the container's processes, refreshed every few seconds, sorted by CPU or
//! memory (`s`), scrolled with the detail's keys.
use std::sync::Arc;
use std::time::Duration;

use berth_engine::api::{ContainerBackend, TopResult};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::widgets::{Cell, Paragraph, Row, Table, Wrap};
use tokio::sync::mpsc;

use crate::config::KeyMap;
use crate::ctx::{Ctx, is};
use crate::handled::Handled;
use crate::message::Message;
use crate::widgets::bold;

/// Top sort order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TopSort {
    Cpu,
    Mem,
}

#[derive(Clone, Debug)]
pub struct TopTab {
    /// The container the result is of, and the result.
    pub result: Option<(String, Result<TopResult, String>)>,
    pub sort: TopSort,
    pub scroll: usize,
}

impl Default for TopTab {
    fn default() -> Self {
        TopTab { result: None, sort: TopSort::Cpu, scroll: 0 }
    }
}

/// Asks for the processes every few seconds (every 10 s while it fails) until aborted.
pub async fn feed(backend: Arc<dyn ContainerBackend>, id: String, tx: mpsc::Sender<Message>, every: Duration) {
    loop {
        let result = backend.top(&id, vec![]).await.map_err(|e| e.to_string());
        let failed = result.is_err();
        if tx.send(Message::Top { id: id.clone(), result }).await.is_err() {
            return;
        }
        let wait = if failed { Duration::from_secs(10) } else { every.max(Duration::from_secs(2)) };
        tokio::time::sleep(wait).await;
    }
}

impl TopTab {
    pub fn watching(&mut self, id: Option<&str>) {
        if self.result.as_ref().is_some_and(|(t, _)| Some(t.as_str()) != id) {
            self.result = None;
            self.scroll = 0;
        }
    }

    /// A result for container `id`; true when it changed what the tab shows.
    pub fn update(&mut self, id: String, result: Result<TopResult, String>) -> bool {
        let changed = self.result.as_ref().map(|(_, r)| r) != Some(&result);
        self.result = Some((id, result));
        changed
    }

    pub fn scroll(&mut self, d: isize) -> bool {
        let n = match &self.result {
            Some((_, Ok(t))) => t.processes.len(),
            _ => 0,
        };
        self.scroll = (self.scroll as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
        true
    }

    pub fn on_key(&mut self, k: &KeyEvent, keys: &KeyMap) -> Option<Handled> {
        if is(&keys.sort_next, k) || is(&keys.sort_reverse, k) {
            self.sort = if self.sort == TopSort::Cpu { TopSort::Mem } else { TopSort::Cpu };
            return Handled::redraw();
        }
        None
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let Some((_, r)) = &self.result else {
            f.render_widget(Paragraph::new("loading…"), area);
            return;
        };
        let t = match r {
            Ok(t) => t,
            Err(e) => {
                f.render_widget(
                    Paragraph::new(format!("top: {e}")).style(Style::default().fg(ctx.cfg.theme.error)).wrap(Wrap { trim: true }),
                    area,
                );
                return;
            }
        };
        if t.processes.is_empty() {
            f.render_widget(Paragraph::new("No processes."), area);
            return;
        }
        let sort_col = sort_column(&t.titles, self.sort);
        let order = sorted_processes(&t.titles, &t.processes, self.sort);
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
        let start = self.scroll.min(order.len().saturating_sub(visible.max(1)));
        let rows = order.iter().skip(start).take(visible).map(|i| Row::new(t.processes[*i].iter().map(|v| Cell::from(v.clone()))));
        f.render_widget(Table::new(rows, widths).header(header), area);
    }
}

/// The index of the column a sort uses, if the titles have one.
pub fn sort_column(titles: &[String], by: TopSort) -> Option<usize> {
    let names: &[&str] = match by {
        TopSort::Cpu => &["%CPU", "C", "CPU"],
        TopSort::Mem => &["%MEM", "RSS", "VSZ", "MEM"],
    };
    names.iter().find_map(|n| titles.iter().position(|t| t.eq_ignore_ascii_case(n)))
}

/// Processes in display order.
pub fn sorted_processes(titles: &[String], procs: &[Vec<String>], by: TopSort) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..procs.len()).collect();
    if let Some(col) = sort_column(titles, by) {
        let num = |i: usize| procs[i].get(col).and_then(|v| v.trim_end_matches('%').parse::<f64>().ok()).unwrap_or(0.0);
        idx.sort_by(|a, b| num(*b).total_cmp(&num(*a)));
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_sorts_by_the_cpu_or_memory_column() {
        let titles: Vec<String> = ["PID", "%CPU", "%MEM", "CMD"].iter().map(|s| s.to_string()).collect();
        let p = |pid: &str, c: &str, m: &str| vec![pid.to_string(), c.to_string(), m.to_string(), "x".to_string()];
        let procs = vec![p("1", "0.5", "9.0"), p("2", "30", "1.0"), p("3", "2", "3")];
        assert_eq!(sorted_processes(&titles, &procs, TopSort::Cpu), [1, 2, 0]);
        assert_eq!(sorted_processes(&titles, &procs, TopSort::Mem), [0, 2, 1]);
    }
}

//! The selected container's detail, one file per tab (stats, top, logs, inspect,
//! changes): each owns its state, its keys, its drawing and the task that feeds it. This
//! module holds the tab bar, routes keys and scrolling to the tab in view, and runs the
//! one feeding task the tab in view needs (aborted when the selection or the tab changes,
//! so only the selected container's top/logs/inspect cost anything).
pub mod changes;
pub mod inspect;
pub mod logs;
pub mod stats;
pub mod top;

use std::sync::Arc;
use std::time::Duration;

use berth_engine::api::ContainerBackend;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Tabs};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::{Key, KeyMap};
use crate::ctx::{Ctx, is};
use crate::handled::Handled;
use crate::hit::{HitMap, Target};
use crate::message::Message;
use crate::panes::containers::ContainersPane;
use crate::widgets::{accent, pane_block, title_span};

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

/// The detail in view: the container, the tab, and whether it runs (a start or stop
/// restarts the logs/top stream).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    pub id: String,
    pub tab: Tab,
    pub running: bool,
}

#[derive(Clone, Debug)]
pub struct Detail {
    pub tab: Tab,
    /// The detail has the keys (enter focuses it, esc leaves).
    pub focused: bool,
    pub stats: stats::StatsTab,
    pub top: top::TopTab,
    pub logs: logs::LogsTab,
    pub inspect: inspect::InspectTab,
    pub changes: changes::ChangesTab,
}

impl Default for Detail {
    fn default() -> Self {
        Detail {
            tab: Tab::Stats,
            focused: false,
            stats: stats::StatsTab::default(),
            top: top::TopTab::default(),
            logs: logs::LogsTab::default(),
            inspect: inspect::InspectTab::default(),
            changes: changes::ChangesTab::default(),
        }
    }
}

impl Detail {
    /// The detail now shows container `id` (None: none) on `tab`: tabs holding another
    /// container's data drop it, and a new logs stream starts from an empty buffer.
    pub fn watching(&mut self, id: Option<&str>, tab: Option<Tab>) {
        self.logs.watching(id, tab == Some(Tab::Logs));
        self.top.watching(id);
        self.inspect.watching(id);
        self.changes.watching(id);
    }

    /// A text input of the detail has the keys (the logs search being typed).
    pub fn typing(&self) -> bool {
        self.logs.search.typing
    }

    /// A key for the input being typed into.
    pub fn input_key(&mut self, k: &KeyEvent) -> bool {
        self.logs.search_key(k)
    }

    /// Keys of the detail that work while the list has the keys: the tabs and the
    /// Stats tab's window.
    pub fn on_list_key(&mut self, k: &KeyEvent, keys: &KeyMap) -> Option<Handled> {
        if is(&keys.next_tab, k) || is(&keys.prev_tab, k) {
            self.tab = self.tab.step(if is(&keys.next_tab, k) { 1 } else { -1 });
            Handled::redraw()
        } else if is(&keys.chart_window, k) && self.tab == Tab::Stats {
            self.stats.window = self.stats.window.next();
            Handled::redraw()
        } else {
            None
        }
    }

    /// Keys while the detail has focus; None when the key is not the detail's.
    pub fn on_key(&mut self, k: &KeyEvent, ctx: &Ctx, hits: &HitMap) -> Option<Handled> {
        let keys = &ctx.cfg.keys;
        let page = 10;
        let scrolled = |d: &mut Detail, by: isize| Some(Handled { redraw: d.scroll(by), ..Handled::default() });
        if is(&keys.back, k) {
            self.focused = false;
            Handled::redraw()
        } else if is(&keys.down, k) {
            scrolled(self, 1)
        } else if is(&keys.up, k) {
            scrolled(self, -1)
        } else if is(&keys.page_down, k) {
            scrolled(self, page)
        } else if is(&keys.page_up, k) {
            scrolled(self, -page)
        } else if is(&keys.top, k) {
            scrolled(self, -(isize::MAX / 2))
        } else if is(&keys.bottom, k) {
            scrolled(self, isize::MAX / 2)
        } else {
            match self.tab {
                Tab::Logs => self.logs.on_key(k, keys, hits.log_rows),
                Tab::Top => self.top.on_key(k, keys),
                Tab::Inspect => self.inspect.on_key(k, keys),
                Tab::Stats | Tab::Changes => None,
            }
        }
    }

    /// Scroll the tab in view by `d` lines (negative: up); false when it does not scroll.
    pub fn scroll(&mut self, d: isize) -> bool {
        match self.tab {
            Tab::Stats => false,
            Tab::Top => self.top.scroll(d),
            Tab::Logs => self.logs.scroll(d),
            Tab::Inspect => self.inspect.scroll(d),
            Tab::Changes => self.changes.scroll(d),
        }
    }

    /// The footer's hints while the detail has focus.
    pub fn hints<'k>(&self, keys: &'k KeyMap) -> Vec<(&'k [Key], &'static str)> {
        let mut v: Vec<(&[Key], &str)> = vec![(&keys.back, "back"), (&keys.next_tab, "tab")];
        v.extend(match self.tab {
            Tab::Logs => self.logs.hints(keys),
            Tab::Top => vec![(&keys.sort_next[..], "sort cpu/mem")],
            Tab::Inspect => vec![(&keys.detail[..], "fold")],
            Tab::Stats => vec![(&keys.chart_window[..], "1m/15m/1h/24h")],
            Tab::Changes => vec![(&keys.commit[..], "commit")],
        });
        v
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, containers: &ContainersPane, hits: &mut HitMap) {
        let cfg = &ctx.cfg;
        hits.push(area, Target::Detail);
        let Some(c) = containers.selected_container(ctx) else {
            f.render_widget(Paragraph::new("").block(pane_block(title_span("Details".into(), false, cfg), false, cfg)), area);
            return;
        };
        let titles: Vec<Line> = Tab::ALL.iter().map(|t| Line::from(t.title())).collect();
        let block = pane_block(title_span(c.name.clone(), self.focused, cfg), self.focused, cfg);
        let inner = block.inner(area);
        f.render_widget(block, area);
        if inner.height == 0 {
            return;
        }
        let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
        let bar = Tabs::new(titles).select(self.tab.index()).highlight_style(accent(cfg).add_modifier(Modifier::REVERSED)).divider("│");
        f.render_widget(bar, tabs);
        match self.tab {
            Tab::Stats => self.stats.draw(f, body, ctx, c, containers),
            Tab::Top => self.top.draw(f, body, ctx),
            Tab::Logs => self.logs.draw(f, body, ctx, self.focused, hits),
            Tab::Inspect => self.inspect.draw(f, body, ctx, self.focused),
            Tab::Changes => self.changes.draw(f, body, ctx),
        }
    }
}

/// The background task feeding the tab in view.
#[derive(Default)]
pub struct DetailTask {
    pub watch: Option<Watch>,
    handle: Option<JoinHandle<()>>,
}

impl DetailTask {
    /// Feed `watch` (None: nothing), replacing the task of the previous one.
    pub fn set(&mut self, watch: Option<Watch>, backend: &Arc<dyn ContainerBackend>, tx: &mpsc::Sender<Message>, every: Duration) {
        if watch == self.watch {
            return;
        }
        self.stop();
        self.watch = watch.clone();
        let Some(Watch { id, tab, .. }) = watch else { return };
        let (backend, tx) = (backend.clone(), tx.clone());
        self.handle = match tab {
            // The one stats stream feeds every container; nothing per tab.
            Tab::Stats => None,
            Tab::Top => Some(tokio::spawn(top::feed(backend, id, tx, every))),
            Tab::Logs => Some(tokio::spawn(logs::feed(backend, id, tx))),
            Tab::Inspect => Some(tokio::spawn(inspect::feed(backend, id, tx, every))),
            Tab::Changes => Some(tokio::spawn(changes::feed(backend, id, tx, every))),
        };
    }

    /// Abort the task (never awaited: a stream that waits for output must not hold up a quit).
    pub fn stop(&mut self) {
        if let Some(h) = self.handle.take() {
            h.abort();
        }
    }
}

//! The volumes list (pane 3), like lazydocker's: name (anonymous ones shortened like
//! IDs), driver and the containers using each, with a details box; remove one or prune the
//! unused anonymous ones, each after a yes.
use berth_engine::api::Volume;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::config::{Key, KeyMap};
use crate::ctx::{Ctx, host_of, is};
use crate::dialogs::confirm::Confirm;
use crate::dialogs::notice::Notice;
use crate::handled::Handled;
use crate::hit::HitMap;
use crate::panes::{Pane, nav, record_rows, scroll_offset};
use crate::text_field::Filter;
use crate::widgets::{bold, pane_block, selected, title_span};

#[derive(Clone, Debug, Default)]
pub struct VolumesPane {
    pub list: Vec<Volume>,
    pub loaded: bool,
    /// Index into [`VolumesPane::visible`].
    pub selected: usize,
    pub filter: Filter,
}

impl VolumesPane {
    /// Volumes of the endpoint in view, after the `/` filter (on names).
    pub fn visible(&self, ctx: &Ctx) -> Vec<&Volume> {
        let f = self.filter.text.to_lowercase();
        self.list.iter().filter(|v| ctx.in_view(&v.name)).filter(|v| f.is_empty() || v.name.to_lowercase().contains(&f)).collect()
    }

    pub fn selected_volume(&self, ctx: &Ctx) -> Option<&Volume> {
        self.visible(ctx).get(self.selected).copied()
    }

    /// A new list from the backend, keeping the selection on the same volume; true when
    /// it differs.
    pub fn set_list(&mut self, ctx: &Ctx, list: Vec<Volume>) -> bool {
        let keep = self.selected_volume(ctx).map(|v| v.name.clone());
        let changed = !self.loaded || list != self.list;
        self.list = list;
        self.loaded = true;
        if let Some(n) = keep
            && let Some(pos) = self.visible(ctx).iter().position(|v| v.name == n)
        {
            self.selected = pos;
        }
        self.clamp(ctx);
        changed
    }

    pub fn clamp(&mut self, ctx: &Ctx) {
        self.selected = self.selected.min(self.visible(ctx).len().saturating_sub(1));
    }

    /// A key while the `/` filter is typed into.
    pub fn filter_key(&mut self, k: &KeyEvent, ctx: &Ctx) -> bool {
        let changed = self.filter.on_key(k);
        self.clamp(ctx);
        changed
    }

    pub fn move_by(&mut self, ctx: &Ctx, delta: isize) {
        let n = self.visible(ctx).len();
        crate::panes::step(&mut self.selected, n, delta);
    }

    pub fn on_key(&mut self, k: &KeyEvent, ctx: &Ctx) -> Option<Handled> {
        let keys = &ctx.cfg.keys;
        let n = self.visible(ctx).len();
        if let Some(redraw) = nav(k, keys, &mut self.selected, n) {
            return Some(Handled { redraw, ..Handled::default() });
        }
        if is(&keys.filter, k) {
            self.filter.typing = true;
            Handled::redraw()
        } else if is(&keys.back, k) && !self.filter.text.is_empty() {
            self.filter.text.clear();
            Handled::redraw()
        } else if is(&keys.remove, k) {
            let Some(v) = self.selected_volume(ctx) else { return Handled::quiet() };
            let users = v.users.as_deref().unwrap_or_default();
            if !users.is_empty() {
                return Handled::open(Notice::error(format!("volume {} is in use by {}", v.name, users.join(", "))));
            }
            Handled::open(Confirm::remove_volume(&v.name))
        } else if is(&keys.prune, k) {
            Handled::open(Confirm::prune_volumes())
        } else {
            None
        }
    }

    pub fn hints(keys: &KeyMap) -> Vec<(&[Key], &'static str)> {
        vec![(&keys.filter[..], "filter"), (&keys.remove, "remove"), (&keys.prune, "prune")]
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, hits: &mut HitMap) {
        let cfg = &ctx.cfg;
        let vis = self.visible(ctx);
        let block = pane_block(crate::panes::title(Pane::Volumes, true, vis.len(), None, &self.filter.text, cfg), true, cfg);
        if !self.loaded {
            f.render_widget(Paragraph::new("loading…").block(block), area);
            return;
        }
        if vis.is_empty() {
            let msg =
                if self.list.is_empty() { "No volumes. `-v NAME:/path` on run creates one." } else { "No volume matches the filter." };
            f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
            return;
        }
        let host = ctx.host_width();
        let header =
            Row::new(host.map(|_| "HOST").into_iter().chain(["VOLUME NAME", "DRIVER", "CONTAINERS"]).map(|h| Cell::from(h).style(bold())));
        let rows = vis.iter().map(|v| {
            let name = berth_engine::multi::split(&v.name).1;
            // Anonymous volumes (64 hex) are shortened like IDs.
            let shown =
                if name.len() == 64 && name.bytes().all(|b| b.is_ascii_hexdigit()) { name[..12].to_string() } else { name.to_string() };
            let users = match &v.users {
                Some(u) if u.is_empty() => "-".to_string(),
                Some(u) => u.join(", "),
                None => "?".to_string(),
            };
            let style =
                if v.users.as_ref().is_some_and(|u| u.is_empty()) { Style::default().fg(cfg.theme.exited) } else { Style::default() };
            let mut cells = vec![Cell::from(shown), Cell::from(v.driver.clone()), Cell::from(users)];
            if host.is_some() {
                cells.insert(0, Cell::from(host_of(&v.name).to_string()));
            }
            Row::new(cells).style(style)
        });
        let mut widths = vec![Constraint::Fill(1), Constraint::Length(7), Constraint::Fill(1)];
        if let Some(w) = host {
            widths.insert(0, Constraint::Length(w));
        }
        let table = Table::new(rows, widths).header(header).block(block).row_highlight_style(selected(cfg)).highlight_symbol("▶ ");
        let offset = scroll_offset(area, self.selected);
        let mut ts = TableState::default().with_offset(offset).with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut ts);
        record_rows(hits, Pane::Volumes, area, offset, vis.len());
    }

    /// The details box beside the list.
    pub fn draw_detail(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let cfg = &ctx.cfg;
        let block = pane_block(title_span("Details".into(), false, cfg), false, cfg);
        let Some(v) = self.selected_volume(ctx) else {
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
}

//! The networks list (pane 4), like the volumes one: name, driver, subnet and the containers
//! connected to each, with a details box (gateway, internal, the attached containers'
//! addresses: what `network inspect` tells); create one (asks for a name), remove one or
//! prune the unused ones (each after a yes), connect or disconnect a container (asks which).
use berth_engine::api::Network;
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
use crate::dialogs::prompt::Prompt;
use crate::handled::Handled;
use crate::hit::HitMap;
use crate::panes::{Pane, nav, record_rows, scroll_offset};
use crate::text_field::Filter;
use crate::widgets::{bold, pane_block, selected, title_span};

/// The networks every Docker daemon has and none can remove.
fn builtin(n: &Network) -> bool {
    matches!(berth_engine::multi::split(&n.name).1, "bridge" | "host" | "none")
}

#[derive(Clone, Debug, Default)]
pub struct NetworksPane {
    pub list: Vec<Network>,
    pub loaded: bool,
    /// Index into [`NetworksPane::visible`].
    pub selected: usize,
    pub filter: Filter,
}

impl NetworksPane {
    /// Networks of the endpoint in view, after the `/` filter (on names).
    pub fn visible(&self, ctx: &Ctx) -> Vec<&Network> {
        let f = self.filter.text.to_lowercase();
        self.list.iter().filter(|n| ctx.in_view(&n.name)).filter(|n| f.is_empty() || n.name.to_lowercase().contains(&f)).collect()
    }

    pub fn selected_network(&self, ctx: &Ctx) -> Option<&Network> {
        self.visible(ctx).get(self.selected).copied()
    }

    /// A new list from the backend, keeping the selection on the same network; true when
    /// it differs.
    pub fn set_list(&mut self, ctx: &Ctx, list: Vec<Network>) -> bool {
        let keep = self.selected_network(ctx).map(|n| n.name.clone());
        let changed = !self.loaded || list != self.list;
        self.list = list;
        self.loaded = true;
        if let Some(k) = keep
            && let Some(pos) = self.visible(ctx).iter().position(|n| n.name == k)
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
        } else if is(&keys.run, k) {
            Handled::open(Prompt::create_network())
        } else if is(&keys.remove, k) {
            let Some(net) = self.selected_network(ctx) else { return Handled::quiet() };
            if builtin(net) {
                return Handled::open(Notice::error(format!("{} is a pre-defined network and cannot be removed", net.name)));
            }
            let users = net.users.as_deref().unwrap_or_default();
            if !users.is_empty() {
                return Handled::open(Notice::error(format!("network {} is in use by {}", net.name, users.join(", "))));
            }
            Handled::open(Confirm::remove_network(&net.name))
        } else if is(&keys.prune, k) {
            Handled::open(Confirm::prune_networks())
        } else if is(&keys.connect, k) {
            let Some(net) = self.selected_network(ctx) else { return Handled::quiet() };
            Handled::open(Prompt::connect(&net.name))
        } else if is(&keys.disconnect, k) {
            let Some(net) = self.selected_network(ctx) else { return Handled::quiet() };
            let first = net.users.as_ref().and_then(|u| u.first()).cloned().unwrap_or_default();
            Handled::open(Prompt::disconnect(&net.name, &first))
        } else {
            None
        }
    }

    pub fn hints(keys: &KeyMap) -> Vec<(&[Key], &'static str)> {
        vec![
            (&keys.filter[..], "filter"),
            (&keys.run, "create"),
            (&keys.connect, "connect"),
            (&keys.disconnect, "disconnect"),
            (&keys.remove, "remove"),
            (&keys.prune, "prune"),
        ]
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, hits: &mut HitMap) {
        let cfg = &ctx.cfg;
        let vis = self.visible(ctx);
        let block = pane_block(crate::panes::title(Pane::Networks, true, vis.len(), None, &self.filter.text, cfg), true, cfg);
        if !self.loaded {
            f.render_widget(Paragraph::new("loading…").block(block), area);
            return;
        }
        if vis.is_empty() {
            let msg = if self.list.is_empty() { "No networks." } else { "No network matches the filter." };
            f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
            return;
        }
        let host = ctx.host_width();
        let header = Row::new(
            host.map(|_| "HOST").into_iter().chain(["NAME", "DRIVER", "SUBNET", "CONTAINERS"]).map(|h| Cell::from(h).style(bold())),
        );
        let rows = vis.iter().map(|n| {
            let users = match &n.users {
                Some(u) if u.is_empty() => "-".to_string(),
                Some(u) => u.join(", "),
                None => "?".to_string(),
            };
            let subnet = n.ipam.config.first().map(|c| c.subnet.clone()).unwrap_or_else(|| "-".into());
            let idle = n.users.as_ref().is_some_and(|u| u.is_empty()) && !builtin(n);
            let style = if idle { Style::default().fg(cfg.theme.exited) } else { Style::default() };
            let mut cells = vec![
                Cell::from(berth_engine::multi::split(&n.name).1.to_string()),
                Cell::from(n.driver.clone()),
                Cell::from(subnet),
                Cell::from(users),
            ];
            if host.is_some() {
                cells.insert(0, Cell::from(host_of(&n.name).to_string()));
            }
            Row::new(cells).style(style)
        });
        let mut widths = vec![Constraint::Fill(1), Constraint::Length(7), Constraint::Length(18), Constraint::Fill(1)];
        if let Some(w) = host {
            widths.insert(0, Constraint::Length(w));
        }
        let table = Table::new(rows, widths).header(header).block(block).row_highlight_style(selected(cfg)).highlight_symbol("▶ ");
        let offset = scroll_offset(area, self.selected);
        let mut ts = TableState::default().with_offset(offset).with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut ts);
        record_rows(hits, Pane::Networks, area, offset, vis.len());
    }

    /// The details box beside the list: what `network inspect` says.
    pub fn draw_detail(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let cfg = &ctx.cfg;
        let block = pane_block(title_span("Details".into(), false, cfg), false, cfg);
        let Some(n) = self.selected_network(ctx) else {
            f.render_widget(Paragraph::new("").block(block), area);
            return;
        };
        let key = |k: &str| Span::styled(format!("{k:<11}"), Style::default().fg(cfg.theme.accent));
        let (host, name) = berth_engine::multi::split(&n.name);
        let (_, id) = berth_engine::multi::split(&n.id);
        let mut lines = vec![Line::from(vec![key("Name"), Span::raw(name.to_string())])];
        if let Some(h) = host {
            lines.push(Line::from(vec![key("Host"), Span::raw(h.to_string())]));
        }
        let ipam = n.ipam.config.first();
        lines.extend([
            Line::from(vec![key("ID"), Span::raw(id[..id.len().min(12)].to_string())]),
            Line::from(vec![key("Driver"), Span::raw(n.driver.clone())]),
            Line::from(vec![key("Subnet"), Span::raw(ipam.map(|c| c.subnet.clone()).unwrap_or_default())]),
            Line::from(vec![key("Gateway"), Span::raw(ipam.map(|c| c.gateway.clone()).unwrap_or_default())]),
            Line::from(vec![key("Internal"), Span::raw(if n.internal { "yes" } else { "no" })]),
            Line::from(vec![key("Created"), Span::raw(n.created.clone())]),
        ]);
        let users = n.users.as_ref().map(|u| if u.is_empty() { "none".to_string() } else { u.join(", ") }).unwrap_or_else(|| "?".into());
        lines.push(Line::from(vec![key("Connected"), Span::raw(users)]));
        for c in n.containers.values() {
            lines.push(Line::from(vec![Span::raw(format!("  {:<12} {}  {}", c.name, c.ipv4_address, c.mac_address))]));
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }).block(block), area);
    }
}

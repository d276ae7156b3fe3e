//! The images list (pane 2): name, ID, age, size and how many containers use each image,
//! with a details box; pull, run, remove, prune and history start from here.
use berth_engine::api::ImageSummary;
use berth_engine::human::human_size;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};

use crate::config::{Key, KeyMap};
use crate::ctx::{Ctx, host_of, is};
use crate::dialogs::confirm::Confirm;
use crate::dialogs::run::RunForm;
use crate::handled::Handled;
use crate::hit::HitMap;
use crate::message::Action;
use crate::panes::{Pane, nav, record_rows, scroll_offset};
use crate::text_field::Filter;
use crate::widgets::{ago, bold, pane_block, selected, short_id, title_span};

#[derive(Clone, Debug, Default)]
pub struct ImagesPane {
    pub list: Vec<ImageSummary>,
    pub loaded: bool,
    /// Index into [`ImagesPane::visible`].
    pub selected: usize,
    pub filter: Filter,
}

/// "Used by 3 container(s)", or unknown when the backend does not count.
pub fn used_by(containers: i64) -> String {
    if containers < 0 { "unknown".into() } else { format!("{containers} container(s)") }
}

impl ImagesPane {
    /// Images of the endpoint in view, after the `/` filter (on names and ID).
    pub fn visible(&self, ctx: &Ctx) -> Vec<&ImageSummary> {
        let f = self.filter.text.to_lowercase();
        self.list
            .iter()
            .filter(|i| ctx.in_view(&i.id))
            .filter(|i| f.is_empty() || i.id.contains(&f) || i.repo_tags.iter().any(|t| t.to_lowercase().contains(&f)))
            .collect()
    }

    pub fn selected_image(&self, ctx: &Ctx) -> Option<&ImageSummary> {
        self.visible(ctx).get(self.selected).copied()
    }

    /// The selected image by the name shown (its first tag, else its short ID), qualified
    /// with its endpoint when there are several: what remove and history act on.
    fn selected_name(&self, ctx: &Ctx) -> Option<String> {
        self.selected_image(ctx).map(|i| {
            let (_, id) = berth_engine::multi::split(&i.id);
            let name = i.repo_tags.first().cloned().unwrap_or_else(|| id.trim_start_matches("sha256:").chars().take(12).collect());
            berth_engine::multi::requalify(&i.id, &name)
        })
    }

    /// A new list from the backend, keeping the selection on the same image; true when
    /// it differs.
    pub fn set_list(&mut self, ctx: &Ctx, list: Vec<ImageSummary>) -> bool {
        let keep = self.selected_image(ctx).map(|i| i.id.clone());
        let changed = !self.loaded || list != self.list;
        self.list = list;
        self.loaded = true;
        if let Some(id) = keep
            && let Some(pos) = self.visible(ctx).iter().position(|i| i.id == id)
        {
            self.selected = pos;
        }
        self.clamp(ctx);
        changed
    }

    /// Keep the selection within the visible rows.
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
        } else if is(&keys.run, k) {
            // A new container of the selected image.
            let image = self
                .selected_image(ctx)
                .and_then(|i| i.repo_tags.first().map(|t| berth_engine::multi::requalify(&i.id, t)))
                .unwrap_or_default();
            Handled::open(RunForm::new(&image))
        } else if is(&keys.back, k) && !self.filter.text.is_empty() {
            self.filter.text.clear();
            Handled::redraw()
        } else if is(&keys.remove, k) {
            // Remove by the name shown (untags one of several names, like `docker rmi name`).
            let Some(name) = self.selected_name(ctx) else { return Handled::quiet() };
            Handled::open(Confirm::remove_image(&name))
        } else if is(&keys.prune, k) {
            Handled::start(Action::PruneImages)
        } else if is(&keys.history, k) {
            match self.selected_name(ctx) {
                Some(name) => Handled::start(Action::History(name)),
                None => Handled::quiet(),
            }
        } else {
            None
        }
    }

    pub fn hints(keys: &KeyMap) -> Vec<(&[Key], &'static str)> {
        vec![
            (&keys.filter[..], "filter"),
            (&keys.pull, "pull"),
            (&keys.run, "run"),
            (&keys.remove, "remove"),
            (&keys.history, "history"),
            (&keys.prune, "prune"),
        ]
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, hits: &mut HitMap) {
        let cfg = &ctx.cfg;
        let vis = self.visible(ctx);
        let block = pane_block(crate::panes::title(Pane::Images, true, vis.len(), None, &self.filter.text, cfg), true, cfg);
        if !self.loaded {
            f.render_widget(Paragraph::new("loading…").block(block), area);
            return;
        }
        if vis.is_empty() {
            let msg = if self.list.is_empty() {
                "No images. Press P to pull one, or load one with `berth load`."
            } else {
                "No image matches the filter."
            };
            f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
            return;
        }
        // Narrow lists keep the name and size; the rest appears as width allows.
        let full = area.width >= 64;
        let host = ctx.host_width();
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
                    Cell::from(ago(ctx.now, i.created)),
                    Cell::from(human_size(i.size)),
                    Cell::from(used),
                ]
            } else {
                vec![Cell::from(format!("{name}{extra}")), Cell::from(human_size(i.size))]
            };
            if host.is_some() {
                cells.insert(0, Cell::from(host_of(&i.id).to_string()));
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
        let table = Table::new(rows, widths).header(header).block(block).row_highlight_style(selected(cfg)).highlight_symbol("▶ ");
        let offset = scroll_offset(area, self.selected);
        let mut ts = TableState::default().with_offset(offset).with_selected(Some(self.selected));
        f.render_stateful_widget(table, area, &mut ts);
        record_rows(hits, Pane::Images, area, offset, vis.len());
    }

    /// The details box beside the list.
    pub fn draw_detail(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let cfg = &ctx.cfg;
        let block = pane_block(title_span("Details".into(), false, cfg), false, cfg);
        let Some(i) = self.selected_image(ctx) else {
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
            Line::from(vec![key("Created"), Span::raw(ago(ctx.now, i.created))]),
            Line::from(vec![key("Size"), Span::raw(human_size(i.size))]),
            Line::from(vec![key("Used by"), Span::raw(used_by(i.containers))]),
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
}

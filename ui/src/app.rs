//! The router: the dashboard's whole state as its panes (the three lists, the detail
//! tabs, the terminal pane, the dialog on top) plus what they share ([`Ctx`]), and the
//! rules that say who gets a key, a click or a message. Each pane owns its state, its
//! keys and its drawing; this file only decides where things go, and draws the panes
//! where the layout puts them. No I/O: work leaves as [`Action`]s for the event loop.
use crossterm::event::{Event, KeyEvent, KeyEventKind, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Frame;
use ratatui::widgets::Clear;

use berth_engine::api::RemovedImage;

use crate::config::Config;
use crate::ctx::{Ctx, is};
use crate::detail::{Detail, Tab, Watch};
use crate::dialogs::endpoints::Endpoints;
use crate::dialogs::history::History;
use crate::dialogs::notice::Notice;
use crate::dialogs::prompt::Prompt;
use crate::dialogs::pull::Pull;
use crate::dialogs::run::RunForm;
use crate::dialogs::{Dialog, Reply};
use crate::footer::Footer;
use crate::handled::Handled;
use crate::hit::{HitMap, Target};
use crate::message::{Action, Message};
use crate::panes::Pane;
use crate::panes::containers::ContainersPane;
use crate::panes::images::ImagesPane;
use crate::panes::networks::NetworksPane;
use crate::panes::volumes::VolumesPane;
use crate::terminal::{KeyOutcome, Sessions};
use crate::text_field::Filter;
use crate::{footer, header, layout};

pub struct App {
    pub ctx: Ctx,
    /// The list in view.
    pub focus: Pane,
    pub containers: ContainersPane,
    pub images: ImagesPane,
    pub volumes: VolumesPane,
    pub networks: NetworksPane,
    /// The selected container's tabs (beside the containers list).
    pub detail: Detail,
    /// A dialog on top of everything; it gets every key.
    pub dialog: Option<Dialog>,
    /// Terminal sessions, shown over the detail area.
    pub terminal: Sessions,
    /// Where the last frame drew what (for the mouse, and the size of a new session).
    pub hits: HitMap,
    /// The last failed refresh (shown once until a refresh works again).
    pub refresh_error: Option<String>,
    pub quit: bool,
}

impl App {
    pub fn new(cfg: Config, backend: String, now: i64) -> Self {
        App {
            ctx: Ctx::new(cfg, backend, now),
            focus: Pane::Containers,
            containers: ContainersPane::default(),
            images: ImagesPane::default(),
            volumes: VolumesPane::default(),
            networks: NetworksPane::default(),
            detail: Detail::default(),
            dialog: None,
            terminal: Sessions::default(),
            hits: HitMap::default(),
            refresh_error: None,
            quit: false,
        }
    }

    // ---- keys and the mouse ----

    /// Handle one terminal event: what to redraw and what work to start.
    pub fn on_event(&mut self, ev: &Event) -> Handled {
        match ev {
            Event::Paste(text) if self.terminal.focused => {
                self.terminal.paste(text);
                Handled::default()
            }
            Event::Key(k) if k.kind != KeyEventKind::Release => self.on_key(k),
            Event::Mouse(m) if self.dialog.is_none() => Handled { redraw: self.on_mouse(m), ..Handled::default() },
            Event::Resize(..) => Handled { redraw: true, ..Handled::default() },
            _ => Handled::default(),
        }
    }

    pub fn on_key(&mut self, k: &KeyEvent) -> Handled {
        let mut h = self.route_key(k).unwrap_or_default();
        if let Some(d) = h.open.take() {
            self.dialog = Some(d);
        }
        match &h.action {
            // An action on containers consumes the marks.
            Some(Action::Containers(..)) => self.containers.marked.clear(),
            // Whoever picked it (`:ctx NAME`, the switcher), the view follows at once.
            Some(Action::SetEndpoint(e)) => self.set_endpoint(e.clone()),
            _ => {}
        }
        h
    }

    /// Who gets a key, in order: the dialog; the terminal pane with focus; an input being
    /// typed into (a filter, the logs search: nothing typed there is ever an action); the
    /// terminal pane's keys; keys that work everywhere; the detail; the list in view.
    fn route_key(&mut self, k: &KeyEvent) -> Option<Handled> {
        let ctx = &self.ctx;
        let keys = &ctx.cfg.keys;
        if let Some(d) = &mut self.dialog {
            let reply = d.on_key(k, ctx);
            return Some(self.reply(reply));
        }
        if self.terminal.focused {
            match self.terminal.handle_key(k, &ctx.cfg) {
                KeyOutcome::Sent => return Handled::quiet(),
                KeyOutcome::Consumed | KeyOutcome::Unfocused => return Handled::redraw(),
                KeyOutcome::Ignored => {}
            }
        }
        if self.list_filter().typing {
            let redraw = match self.focus {
                Pane::Containers => self.containers.filter_key(k, ctx),
                Pane::Images => self.images.filter_key(k, ctx),
                Pane::Volumes => self.volumes.filter_key(k, ctx),
                Pane::Networks => self.networks.filter_key(k, ctx),
            };
            return Some(Handled { redraw, ..Handled::default() });
        }
        if self.detail.typing() {
            return Some(Handled { redraw: self.detail.input_key(k), ..Handled::default() });
        }
        let selected = self.containers.selected_container(ctx).map(|c| (c.id.as_str(), c.name.as_str()));
        if let Some(h) = self.terminal.on_dashboard_key(k, ctx, selected, &self.hits) {
            return Some(h);
        }
        if is(&keys.quit, k) {
            self.quit = true;
            return Handled::redraw();
        } else if is(&keys.help, k) {
            return Handled::open(Dialog::Help);
        } else if is(&keys.command, k) {
            return Handled::open(Prompt::command());
        } else if is(&keys.refresh, k) {
            return Handled::start(Action::Refresh);
        }
        if self.focus == Pane::Containers {
            if let Some(h) = self.detail.on_list_key(k, keys) {
                return Some(h);
            }
            if self.detail.focused
                && let Some(h) = self.detail.on_key(k, ctx, &self.hits)
            {
                return Some(h);
            }
        } else if is(&keys.next_tab, k) || is(&keys.prev_tab, k) {
            return Handled::quiet();
        }
        let pane = if is(&keys.next_pane, k) || is(&keys.prev_pane, k) {
            Some(self.focus.cycle(is(&keys.prev_pane, k)))
        } else if is(&keys.containers_pane, k) {
            Some(Pane::Containers)
        } else if is(&keys.images_pane, k) {
            Some(Pane::Images)
        } else if is(&keys.volumes_pane, k) {
            Some(Pane::Volumes)
        } else if is(&keys.networks_pane, k) {
            Some(Pane::Networks)
        } else {
            None
        };
        if let Some(p) = pane {
            self.focus = p;
            self.detail.focused = false;
            return Handled::redraw();
        }
        if self.focus == Pane::Containers && is(&keys.detail, k) {
            if self.containers.selected_container(ctx).is_none() {
                return Handled::quiet();
            }
            self.detail.focused = true;
            return Handled::redraw();
        }
        let h = match self.focus {
            Pane::Containers => self.containers.on_key(k, ctx),
            Pane::Images => self.images.on_key(k, ctx),
            Pane::Volumes => self.volumes.on_key(k, ctx),
            Pane::Networks => self.networks.on_key(k, ctx),
        };
        if h.is_some() {
            return h;
        }
        if is(&keys.run, k) {
            Handled::open(RunForm::new(""))
        } else if is(&keys.pull, k) {
            Handled::open(Pull::ask())
        } else {
            None
        }
    }

    /// Act on a dialog's answer.
    fn reply(&mut self, r: Reply) -> Handled {
        let (redraw, action) = match r {
            Reply::Ignored => (false, None),
            Reply::Changed => (true, None),
            Reply::Close => {
                self.dialog = None;
                (true, None)
            }
            Reply::Done(a) => {
                self.dialog = None;
                (true, Some(a))
            }
            Reply::Then(d, a) => {
                self.dialog = Some(*d);
                (true, a)
            }
            Reply::Command(line) => {
                self.dialog = None;
                match self.command(&line) {
                    Ok(Some(e)) => (true, Some(Action::SetEndpoint(e))),
                    Ok(None) => (true, None),
                    Err(e) => {
                        self.dialog = Some(Notice::error(e).into());
                        (true, None)
                    }
                }
            }
        };
        Handled { redraw, action, open: None }
    }

    /// The filter of the list in view.
    fn list_filter(&self) -> &Filter {
        match self.focus {
            Pane::Containers => &self.containers.filter,
            Pane::Images => &self.images.filter,
            Pane::Volumes => &self.volumes.filter,
            Pane::Networks => &self.networks.filter,
        }
    }

    /// A click selects a row, sorts by a column or focuses the detail or terminal; the
    /// wheel scrolls what is under it. Looked up in what the last frame drew.
    fn on_mouse(&mut self, m: &MouseEvent) -> bool {
        let ctx = &self.ctx;
        let target = self.hits.at(m.column, m.row).cloned();
        let wheel = match m.kind {
            MouseEventKind::ScrollDown => 1,
            MouseEventKind::ScrollUp => -1,
            MouseEventKind::Down(MouseButton::Left) => 0,
            _ => return false,
        };
        if wheel != 0 {
            match target {
                Some(Target::Detail) if self.focus == Pane::Containers => return self.detail.scroll(3 * wheel),
                Some(Target::Terminal) => self.terminal.scroll(-3 * wheel),
                _ => match self.focus {
                    Pane::Containers => self.containers.move_by(ctx, wheel),
                    Pane::Images => self.images.move_by(ctx, wheel),
                    Pane::Volumes => self.volumes.move_by(ctx, wheel),
                    Pane::Networks => self.networks.move_by(ctx, wheel),
                },
            }
            return true;
        }
        match target {
            Some(Target::SortBy(key)) if self.focus == Pane::Containers => {
                let rev = self.containers.sort == key && !self.containers.sort_rev;
                self.containers.set_sort(ctx, key, rev);
            }
            Some(Target::Row(pane, row)) if pane == self.focus => {
                match pane {
                    Pane::Containers => self.containers.selected = row,
                    Pane::Images => self.images.selected = row,
                    Pane::Volumes => self.volumes.selected = row,
                    Pane::Networks => self.networks.selected = row,
                }
                self.detail.focused = false;
            }
            Some(Target::Detail) if self.focus == Pane::Containers && !self.detail.focused => self.detail.focused = true,
            Some(Target::Terminal) if !self.terminal.focused => self.terminal.focused = true,
            _ => return false,
        }
        true
    }

    // ---- messages ----

    /// Apply a message; true when the screen must be redrawn.
    pub fn update(&mut self, msg: Message) -> bool {
        let ctx = &self.ctx;
        let selected = |c: &ContainersPane, id: &str| c.selected_container(ctx).is_some_and(|c| c.id == id);
        match msg {
            Message::Containers(Ok(list)) => {
                self.refresh_error = None;
                self.containers.set_list(ctx, list)
            }
            Message::Images(Ok(list)) => self.images.set_list(ctx, list),
            Message::Volumes(Ok(list)) => self.volumes.set_list(ctx, list),
            Message::Networks(Ok(list)) => self.networks.set_list(ctx, list),
            // A failing refresh repeats every interval: say it once, not every second.
            Message::Containers(Err(e)) | Message::Images(Err(e)) | Message::Volumes(Err(e)) | Message::Networks(Err(e)) => {
                if self.refresh_error.as_ref() == Some(&e) {
                    return false;
                }
                self.refresh_error = Some(e.clone());
                self.error(e)
            }
            Message::VolumesChanged(Ok(report)) | Message::NetworksChanged(Ok(report)) => self.show(Notice::info(report)),
            Message::Removed(Ok(items)) => {
                let lines: Vec<String> = items
                    .iter()
                    .map(|r| match r {
                        RemovedImage::Untagged(t) => format!("Untagged: {t}"),
                        RemovedImage::Deleted(d) => format!("Deleted: {d}"),
                    })
                    .collect();
                self.show(Notice::info(lines.join("\n")))
            }
            Message::Pruned(Ok(r)) => self.show(Notice::info(format!(
                "Pruned {} image(s), reclaimed {}",
                r.removed.iter().filter(|x| matches!(x, RemovedImage::Deleted(_))).count(),
                berth_engine::human::human_size(r.space_reclaimed)
            ))),
            Message::Committed(Ok((image, name))) => self.show(crate::dialogs::commit::committed(&image, &name)),
            Message::Done(Ok(())) => false,
            Message::VolumesChanged(Err(e))
            | Message::NetworksChanged(Err(e))
            | Message::Removed(Err(e))
            | Message::Pruned(Err(e))
            | Message::Done(Err(e))
            | Message::Committed(Err(e)) => self.error(e),
            Message::Stats { samples, now } => {
                let chart = (self.detail.tab == Tab::Stats).then(|| self.detail.stats.window.secs());
                // Stats are on screen with the containers list (CPU/MEM columns, the Stats tab).
                self.containers.push_stats(ctx, samples, now, chart) && self.focus == Pane::Containers
            }
            Message::StatsError(e) => self.containers.stats_failed(e),
            Message::Info(Ok(i)) => {
                let changed = self.ctx.info.as_ref() != Some(&i);
                self.ctx.info = Some(i);
                changed
            }
            // The header falls back to counting the lists.
            Message::Info(Err(_)) => false,
            Message::Top { id, result } => {
                selected(&self.containers, &id) && self.detail.top.update(id, result) && self.detail.tab == Tab::Top
            }
            Message::LogLines { id, lines } => self.detail.logs.push(&id, lines) && self.detail.tab == Tab::Logs,
            Message::LogEnd { id, error } => self.detail.logs.end(&id, error) && self.detail.tab == Tab::Logs,
            Message::Inspect { id, result } => self.detail.inspect.update(id, result),
            Message::Changes { id, result } => {
                selected(&self.containers, &id) && self.detail.changes.update(id, result) && self.detail.tab == Tab::Changes
            }
            Message::Pull(ev) => match &mut self.dialog {
                Some(Dialog::Pull(p @ Pull::Pulling(_))) => p.apply(ev),
                // The dialog was hidden: only a failure is worth showing.
                _ => ev.err().is_some_and(|e| self.error(e)),
            },
            Message::History { image, result } => match result {
                Ok(items) => self.show(History { image, items }),
                Err(e) => self.error(e),
            },
            Message::Tick { now } => {
                // Ages the dashboard computes itself ("3 days ago": images, history) change
                // at most once a minute, and show only there. Container status texts come
                // with the lists.
                let shown = self.focus == Pane::Images || matches!(self.dialog, Some(Dialog::History(_)));
                let dirty = now / 60 != self.ctx.now / 60 && shown;
                self.ctx.now = now;
                dirty
            }
            Message::Endpoints(list) => {
                let changed = list != self.ctx.endpoints;
                self.ctx.endpoints = list;
                changed
            }
        }
    }

    fn show(&mut self, d: impl Into<Dialog>) -> bool {
        self.dialog = Some(d.into());
        true
    }

    fn error(&mut self, e: String) -> bool {
        // A running pull shows its own error; anything else replaces a lesser dialog.
        if let Some(Dialog::Pull(p)) = &mut self.dialog
            && p.running()
        {
            return p.apply(Err(e));
        }
        self.show(Notice::error(e))
    }

    // ---- what the event loop asks ----

    /// What the detail area needs a task for: the container and the tab in view.
    pub fn watch(&self) -> Option<Watch> {
        if self.focus != Pane::Containers {
            return None;
        }
        let c = self.containers.selected_container(&self.ctx)?;
        Some(Watch { id: c.id.clone(), tab: self.detail.tab, running: c.state == "running" })
    }

    /// Whether any container has stats to stream.
    pub fn any_running(&self) -> bool {
        self.containers.any_running()
    }

    /// What a typed `:` command does: Ok(Some(endpoint)) switches; Err is the message.
    pub fn command(&mut self, line: &str) -> Result<Option<Option<String>>, String> {
        let ctx = &self.ctx;
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next()) {
            (Some("q" | "quit" | "q!"), None, _) => {
                self.quit = true;
                Ok(None)
            }
            (Some("ctx" | "context" | "endpoint" | "endpoints"), arg, None) => {
                if !ctx.multi() {
                    return Err("only one endpoint: add [[endpoints]] to the config, or repeat -H, to see several".into());
                }
                match arg {
                    None => {
                        self.dialog = Some(Endpoints::new(ctx).into());
                        Ok(None)
                    }
                    Some("all" | "-" | "*") => Ok(Some(None)),
                    Some(name) if ctx.endpoints.iter().any(|e| e.name == name) => Ok(Some(Some(name.to_string()))),
                    Some(name) => Err(format!(
                        "no endpoint named {name:?} (there are: {})",
                        ctx.endpoints.iter().map(|e| e.name.as_str()).collect::<Vec<_>>().join(", ")
                    )),
                }
            }
            _ => Err(format!("unknown command {:?} (try ctx, ctx NAME, ctx all, q)", line.trim())),
        }
    }

    /// Show one endpoint (None: all), keeping the selections where they can stay.
    pub fn set_endpoint(&mut self, e: Option<String>) {
        let keep = self.containers.selected_container(&self.ctx).map(|c| c.id.clone());
        self.ctx.endpoint = e;
        let ctx = &self.ctx;
        self.containers.reselect(ctx, keep);
        self.containers.marked.retain(|id| ctx.in_view(id));
        self.images.clamp(ctx);
        self.volumes.clamp(ctx);
        self.networks.clamp(ctx);
    }

    // ---- drawing ----

    /// Draw a frame and keep where things went.
    pub fn frame(&mut self, f: &mut Frame) {
        let mut hits = HitMap::default();
        self.draw(f, &mut hits);
        self.hits = hits;
    }

    /// Draw every pane where the layout puts it; reads the state, writes only `hits`.
    pub fn draw(&self, f: &mut Frame, hits: &mut HitMap) {
        let ctx = &self.ctx;
        let screen = f.area();
        let a = layout::areas(screen);
        header::draw(f, a.header, ctx, &self.containers, &self.images);
        match self.focus {
            Pane::Containers => self.containers.draw(f, a.list, ctx, !self.detail.focused && !self.terminal.focused, hits),
            Pane::Images => self.images.draw(f, a.list, ctx, hits),
            Pane::Volumes => self.volumes.draw(f, a.list, ctx, hits),
            Pane::Networks => self.networks.draw(f, a.list, ctx, hits),
        }
        if let Some(d) = a.detail {
            match self.focus {
                Pane::Containers => self.detail.draw(f, d, ctx, &self.containers, hits),
                Pane::Images => self.images.draw_detail(f, d, ctx),
                Pane::Volumes => self.volumes.draw_detail(f, d, ctx),
                Pane::Networks => self.networks.draw_detail(f, d, ctx),
            }
        }
        footer::draw(f, a.footer, ctx, self.footer());
        let term = layout::terminal_area(screen, self.terminal.maximized);
        hits.terminal = Some(term);
        if let Some(d) = &self.dialog {
            d.draw(f, screen, ctx);
        } else if self.terminal.visible {
            f.render_widget(Clear, term);
            self.terminal.draw(f, term, &ctx.cfg);
            hits.push(term, Target::Terminal);
        }
    }

    fn footer(&self) -> Footer<'_> {
        let keys = &self.ctx.cfg.keys;
        let filter = self.list_filter();
        if filter.typing {
            return Footer::Typing("filter", &filter.text);
        }
        if self.detail.typing() {
            return Footer::Typing("search", &self.detail.logs.search.text);
        }
        if self.terminal.focused && self.terminal.visible {
            return Footer::Only(Sessions::hints(keys));
        }
        Footer::Hints(match (self.focus, self.detail.focused) {
            (Pane::Containers, false) => ContainersPane::hints(keys),
            (Pane::Containers, true) => self.detail.hints(keys),
            (Pane::Images, _) => ImagesPane::hints(keys),
            (Pane::Volumes, _) => VolumesPane::hints(keys),
            (Pane::Networks, _) => NetworksPane::hints(keys),
        })
    }
}

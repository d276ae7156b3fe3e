//! The terminal pane: shells and attached TTYs inside the dashboard, several at once, one
//! visible, over the detail area (or the whole body, maximised). While it has focus every
//! key goes to the session but the prefix chord, after which `esc` gives the keys back
//! (the session lives on), n/p switch sessions, z maximises, x closes. The pane's size
//! reaches the container's PTY on open and on every resize. Each session's I/O is a task
//! ([`session`]); its output arrives as events, and a typed key costs no frame until its
//! echo does.
pub mod emulator;
pub mod keys;
pub mod session;

use std::sync::Arc;

use berth_engine::api::ContainerBackend;
use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::ctx::{Ctx, host_of, is};
use crate::handled::Handled;
use crate::hit::HitMap;
use crate::message::{Action, SessionKind};
use emulator::TerminalPane;
use session::{SessionEvent, Wiring};

struct Live {
    id: u64,
    pane: TerminalPane,
    input: Option<mpsc::Sender<Bytes>>,
    resize: Option<mpsc::Sender<(u16, u16)>>,
    task: Option<JoinHandle<()>>,
}

/// All open sessions.
#[derive(Default)]
pub struct Sessions {
    list: Vec<Live>,
    active: usize,
    next_id: u64,
    /// Keys go to the active session.
    pub focused: bool,
    /// The terminal takes the whole body.
    pub maximized: bool,
    /// Waiting for the key after the prefix chord.
    prefix_pending: bool,
    /// The pane is shown (in the detail area, or the whole body when maximised).
    pub visible: bool,
}

/// What a key did while the pane had focus.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Sent to the container: the screen changes when the echo arrives.
    Sent,
    /// A command of the pane (switch, maximise, close, scroll): redraw now.
    Consumed,
    /// Focus went back to the dashboard.
    Unfocused,
    /// Not for the terminal.
    Ignored,
}

impl Sessions {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn active(&self) -> Option<&TerminalPane> {
        self.list.get(self.active).map(|l| &l.pane)
    }

    pub fn active_index(&self) -> usize {
        self.active
    }

    /// Titles for the session tabs.
    pub fn titles(&self) -> Vec<String> {
        self.list.iter().map(|l| l.pane.title.clone()).collect()
    }

    /// Show a pane with no session behind it (a replay, a test); it becomes the active one.
    pub fn push_pane(&mut self, pane: TerminalPane) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.list.push(Live { id, pane, input: None, resize: None, task: None });
        self.active = self.list.len() - 1;
        self.focused = true;
        self.visible = true;
        id
    }

    /// Open a session; its task starts at once and reports through `events`.
    pub fn open(
        &mut self,
        backend: Arc<dyn ContainerBackend>,
        kind: SessionKind,
        container: String,
        title: String,
        size: (u16, u16),
        events: mpsc::Sender<SessionEvent>,
    ) {
        let id = self.push_pane(TerminalPane::new(title, container.clone(), size.0, size.1));
        let (in_tx, input) = mpsc::channel::<Bytes>(256);
        let (rs_tx, resize) = mpsc::channel::<(u16, u16)>(8);
        let live = self.list.last_mut().expect("just pushed");
        live.input = Some(in_tx);
        live.resize = Some(rs_tx);
        live.task = Some(tokio::spawn(session::run(backend, kind, container, size, Wiring { id, input, resize, events })));
    }

    /// End every session's task (the dashboard quits: nothing waits for a container).
    pub fn abort_all(&mut self) {
        for l in &mut self.list {
            if let Some(t) = l.task.take() {
                t.abort();
            }
        }
    }

    /// Apply a session event; true when the visible pane changed.
    pub fn apply(&mut self, ev: SessionEvent) -> bool {
        match ev {
            SessionEvent::Output { id, bytes } => {
                let visible = self.list.get(self.active).is_some_and(|l| l.id == id);
                if let Some(l) = self.list.iter_mut().find(|l| l.id == id) {
                    l.pane.feed(&bytes);
                }
                visible
            }
            SessionEvent::Ended { id, code, error } => {
                if let Some(l) = self.list.iter_mut().find(|l| l.id == id) {
                    if let Some(e) = error {
                        l.pane.feed(format!("\r\n\x1b[31m{e}\x1b[0m\r\n").as_bytes());
                    }
                    l.pane.ended = Some(code);
                    l.input = None;
                    l.resize = None;
                }
                true
            }
        }
    }

    /// The emulated screen size for a pane drawn in `area` (tab line and border off).
    pub fn inner_size(area: Rect) -> (u16, u16) {
        (area.height.saturating_sub(3).max(1), area.width.saturating_sub(2).max(1))
    }

    /// Size every session's screen to the pane area (rows, cols inside the border) and
    /// tell the containers.
    pub fn resize_all(&mut self, rows: u16, cols: u16) {
        for l in &mut self.list {
            if l.pane.resize(rows, cols)
                && let Some(tx) = &l.resize
            {
                let _ = tx.try_send((rows, cols));
            }
        }
    }

    /// Close the active session (ended ones are just removed; live ones detach).
    pub fn close_active(&mut self) {
        if self.active < self.list.len() {
            self.list.remove(self.active);
        }
        if self.active >= self.list.len() {
            self.active = self.list.len().saturating_sub(1);
        }
        if self.list.is_empty() {
            self.focused = false;
            self.maximized = false;
            self.visible = false;
        }
    }

    pub fn cycle(&mut self, delta: isize) {
        if !self.list.is_empty() {
            self.active = (self.active as isize + delta).rem_euclid(self.list.len() as isize) as usize;
        }
    }

    /// Route a key while the terminal has focus. After the prefix chord: `prefix` again
    /// sends the chord itself; n/p switch sessions; z maximises; x closes; PgUp scrolls
    /// back; anything else (esc) returns focus.
    pub fn handle_key(&mut self, k: &KeyEvent, cfg: &Config) -> KeyOutcome {
        if !self.focused || self.list.is_empty() {
            return KeyOutcome::Ignored;
        }
        let is_prefix = is(&cfg.keys.terminal_prefix, k);
        if self.prefix_pending {
            self.prefix_pending = false;
            match k.code {
                _ if is_prefix => return self.send_key(k),
                KeyCode::Char('n') => self.cycle(1),
                KeyCode::Char('p') => self.cycle(-1),
                KeyCode::Char('z') => self.maximized = !self.maximized,
                KeyCode::Char('x') => self.close_active(),
                KeyCode::PageUp => self.scroll(10),
                _ => {
                    self.focused = false;
                    return KeyOutcome::Unfocused;
                }
            }
            return KeyOutcome::Consumed;
        }
        if is_prefix {
            self.prefix_pending = true;
            return KeyOutcome::Sent;
        }
        // Shift+PageUp/PageDown scroll the pane's own history, as in most terminals.
        if k.modifiers.contains(KeyModifiers::SHIFT) && matches!(k.code, KeyCode::PageUp | KeyCode::PageDown) {
            self.scroll(if k.code == KeyCode::PageUp { 10 } else { -10 });
            return KeyOutcome::Consumed;
        }
        self.send_key(k)
    }

    /// Scroll the active session back (positive) or forward.
    pub fn scroll(&mut self, delta: isize) {
        if let Some(l) = self.list.get_mut(self.active) {
            l.pane.scroll_by(delta);
        }
    }

    fn send_key(&mut self, k: &KeyEvent) -> KeyOutcome {
        let Some(l) = self.list.get_mut(self.active) else { return KeyOutcome::Sent };
        let Some(bytes) = keys::encode_key(k, l.pane.application_cursor()) else { return KeyOutcome::Sent };
        // Typing while scrolled back returns to the live screen at once.
        let moved = l.pane.scroll > 0;
        if moved {
            l.pane.follow();
        }
        if let Some(tx) = &l.input {
            // Never block the UI: a full queue (a stuck container) drops the key.
            let _ = tx.try_send(Bytes::from(bytes));
        }
        if moved { KeyOutcome::Consumed } else { KeyOutcome::Sent }
    }

    /// Paste text into the active session.
    pub fn paste(&mut self, text: &str) {
        if let Some(tx) = self.list.get(self.active).and_then(|l| l.input.as_ref()) {
            let _ = tx.try_send(Bytes::from(text.to_string()));
        }
    }

    /// Keys of the pane while the dashboard has them: show and focus the pane, hide it,
    /// or open a shell / attach on the selected container (`container`: its ID and name).
    pub fn on_dashboard_key(&mut self, k: &KeyEvent, ctx: &Ctx, container: Option<(&str, &str)>, hits: &HitMap) -> Option<Handled> {
        let keys = &ctx.cfg.keys;
        if is(&keys.terminal, k) {
            if self.list.is_empty() {
                return None;
            }
            // Hidden → shown and focused; shown → focused.
            self.visible = true;
            self.focused = true;
            return Handled::redraw();
        }
        if k.code == KeyCode::Esc && self.visible {
            self.visible = false;
            self.maximized = false;
            return Handled::redraw();
        }
        let kind = if is(&keys.shell, k) {
            SessionKind::Shell
        } else if is(&keys.attach, k) {
            SessionKind::Attach
        } else {
            return None;
        };
        let (id, name) = container?;
        // Several endpoints: the pane's title says where the session runs.
        let name = if ctx.multi() { format!("{name}@{}", host_of(id)) } else { name.to_string() };
        let title = match kind {
            SessionKind::Shell => format!("shell · {name}"),
            SessionKind::Attach => format!("attach · {name}"),
        };
        let size = Self::inner_size(hits.terminal.unwrap_or_default());
        Handled::redraw_and(Action::OpenSession { kind, id: id.to_string(), title, size })
    }

    /// The footer while the pane has the keys: the chords after the prefix.
    pub fn hints(keys: &crate::config::KeyMap) -> Vec<(&[crate::config::Key], &'static str)> {
        let p = &keys.terminal_prefix[..];
        vec![(p, "esc dashboard"), (p, "n/p switch"), (p, "z zoom"), (p, "x close"), (p, "pgup scroll back")]
    }

    /// The session tabs and the active session's screen.
    pub fn draw(&self, f: &mut Frame, area: Rect, cfg: &Config) {
        let Some(l) = self.list.get(self.active) else { return };
        let [tabs, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
        let spans: Vec<Span> = self
            .list
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                let mut st = Style::default();
                if i == self.active {
                    st = st.fg(cfg.theme.accent).add_modifier(Modifier::BOLD | Modifier::REVERSED);
                }
                let mark = match s.pane.ended {
                    Some(Some(c)) => format!(" [{c}]"),
                    Some(None) => " [ended]".into(),
                    None => String::new(),
                };
                [Span::styled(format!(" {}:{}{mark} ", i + 1, s.pane.title), st), Span::raw(" ")]
            })
            .collect();
        f.render_widget(Paragraph::new(Line::from(spans)), tabs);
        l.pane.draw(f, body, self.focused, cfg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_chord_returns_focus_and_commands_work() {
        let cfg = Config::default_config();
        let mut s = Sessions::default();
        // Panes without a task: enough to test routing.
        s.push_pane(TerminalPane::new("shell · a", "a", 10, 40));
        s.push_pane(TerminalPane::new("shell · b", "b", 10, 40));
        let ctrl_b = KeyEvent::new(KeyCode::Char('b'), KeyModifiers::CONTROL);
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(s.handle_key(&key('x'), &cfg), KeyOutcome::Sent, "typed: no frame until the echo");
        assert_eq!(s.handle_key(&ctrl_b, &cfg), KeyOutcome::Sent);
        assert_eq!(s.handle_key(&key('n'), &cfg), KeyOutcome::Consumed);
        assert_eq!(s.active, 0);
        s.handle_key(&ctrl_b, &cfg);
        s.handle_key(&key('z'), &cfg);
        assert!(s.maximized);
        s.handle_key(&ctrl_b, &cfg);
        assert_eq!(s.handle_key(&KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), &cfg), KeyOutcome::Unfocused);
        assert!(!s.focused);
        assert_eq!(s.handle_key(&key('q'), &cfg), KeyOutcome::Ignored);
        assert!(s.apply(SessionEvent::Ended { id: 0, code: Some(3), error: None }));
        assert_eq!(s.active().unwrap().ended, Some(Some(3)));
        s.focused = true;
        s.handle_key(&ctrl_b, &cfg);
        s.handle_key(&key('x'), &cfg);
        assert_eq!(s.len(), 1);
    }
}

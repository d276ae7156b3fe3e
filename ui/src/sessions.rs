//! Terminal sessions inside the dashboard: several at once, one visible, keys routed to
//! the focused one except the prefix chord (which returns focus without ending it), a
//! maximise toggle, and the pane's size sent to the container's PTY on open and on every
//! resize. Each session's I/O runs in its own task; output reaches the state as events.
use std::sync::Arc;

use berth_engine::api::{ContainerBackend, ExecOptions};
use bytes::Bytes;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::config::Config;
use crate::terminal::{TerminalPane, encode_key};

/// What a session task reports.
#[derive(Debug)]
pub enum SessionEvent {
    Output { id: u64, bytes: Bytes },
    Ended { id: u64, code: Option<i64>, error: Option<String> },
}

/// How to open a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionKind {
    /// A new shell (found from the image) via exec.
    Shell,
    /// The container's own TTY.
    Attach,
}

struct Live {
    id: u64,
    pane: TerminalPane,
    input: Option<mpsc::Sender<Bytes>>,
    resize: Option<mpsc::Sender<(u16, u16)>>,
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

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyOutcome {
    /// Sent to the container (or otherwise handled): redraw may follow output.
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

    /// Open a session; its task starts at once and reports through `events`.
    pub fn open(
        &mut self,
        backend: Arc<dyn ContainerBackend>,
        kind: SessionKind,
        container_id: String,
        name: String,
        size: (u16, u16),
        events: mpsc::Sender<SessionEvent>,
    ) {
        let id = self.next_id;
        self.next_id += 1;
        let title = match kind {
            SessionKind::Shell => format!("shell · {name}"),
            SessionKind::Attach => format!("attach · {name}"),
        };
        let (in_tx, in_rx) = mpsc::channel::<Bytes>(256);
        let (rs_tx, rs_rx) = mpsc::channel::<(u16, u16)>(8);
        self.list.push(Live {
            id,
            pane: TerminalPane::new(title, container_id.clone(), size.0, size.1),
            input: Some(in_tx),
            resize: Some(rs_tx),
        });
        self.active = self.list.len() - 1;
        self.focused = true;
        self.visible = true;
        tokio::spawn(run_session(backend, kind, container_id, size, in_rx, rs_rx, id, events));
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
    pub fn inner_size(area: ratatui::layout::Rect) -> (u16, u16) {
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
    /// sends the chord itself; n/p switch sessions; z maximises; x closes; anything else
    /// (or esc) just returns focus.
    pub fn handle_key(&mut self, k: &KeyEvent, cfg: &Config) -> KeyOutcome {
        if !self.focused || self.list.is_empty() {
            return KeyOutcome::Ignored;
        }
        let is_prefix = cfg.keys.terminal_prefix.iter().any(|p| p.matches(k));
        if self.prefix_pending {
            self.prefix_pending = false;
            match k.code {
                _ if is_prefix => self.send_key(k),
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
            return KeyOutcome::Consumed;
        }
        // Shift+PageUp/PageDown scroll the pane's own history, as in most terminals.
        if k.modifiers.contains(KeyModifiers::SHIFT) && matches!(k.code, KeyCode::PageUp | KeyCode::PageDown) {
            self.scroll(if k.code == KeyCode::PageUp { 10 } else { -10 });
            return KeyOutcome::Consumed;
        }
        self.send_key(k);
        KeyOutcome::Consumed
    }

    fn scroll(&mut self, delta: isize) {
        if let Some(l) = self.list.get_mut(self.active) {
            l.pane.scroll_by(delta);
        }
    }

    fn send_key(&mut self, k: &KeyEvent) {
        let Some(l) = self.list.get_mut(self.active) else { return };
        let Some(bytes) = encode_key(k, l.pane.application_cursor()) else { return };
        if l.pane.scroll > 0 {
            l.pane.follow();
        }
        if let Some(tx) = &l.input {
            // Never block the UI: a full queue (a stuck container) drops the key.
            let _ = tx.try_send(Bytes::from(bytes));
        }
    }

    /// Paste text into the active session.
    pub fn paste(&mut self, text: &str) {
        if let Some(tx) = self.list.get(self.active).and_then(|l| l.input.as_ref()) {
            let _ = tx.try_send(Bytes::from(text.to_string()));
        }
    }

    pub fn draw(&self, f: &mut ratatui::Frame, area: ratatui::layout::Rect, cfg: &Config) {
        use ratatui::layout::{Constraint, Layout};
        use ratatui::style::{Modifier, Style};
        use ratatui::text::{Line, Span};
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
        f.render_widget(ratatui::widgets::Paragraph::new(Line::from(spans)), tabs);
        l.pane.draw(f, body, self.focused, cfg);
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_session(
    backend: Arc<dyn ContainerBackend>,
    kind: SessionKind,
    container: String,
    size: (u16, u16),
    mut input: mpsc::Receiver<Bytes>,
    mut resize: mpsc::Receiver<(u16, u16)>,
    id: u64,
    events: mpsc::Sender<SessionEvent>,
) {
    let session = match kind {
        SessionKind::Attach => backend.attach_session(&container, Some(size)).await,
        SessionKind::Shell => match backend.shell(&container).await {
            Ok(cmd) => {
                backend
                    .exec_session(
                        &container,
                        ExecOptions { cmd, tty: true, size: Some(size), env: vec!["TERM=xterm-256color".into()], ..Default::default() },
                    )
                    .await
            }
            Err(e) => Err(e),
        },
    };
    let mut s = match session {
        Ok(s) => s,
        Err(e) => {
            let _ = events.send(SessionEvent::Ended { id, code: None, error: Some(e.to_string()) }).await;
            return;
        }
    };
    // One pane shows both streams.
    let mut output = match s.stderr.take() {
        Some(err) => futures_util::stream::select(s.output, err).boxed(),
        None => s.output,
    };
    loop {
        tokio::select! {
            out = output.next() => match out {
                Some(Ok(bytes)) => {
                    if events.send(SessionEvent::Output { id, bytes }).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = events.send(SessionEvent::Ended { id, code: None, error: Some(e.to_string()) }).await;
                    return;
                }
                None => break,
            },
            k = input.recv() => match k {
                Some(b) => { let _ = s.input.send(b).await; }
                // The pane was closed: detach.
                None => return,
            },
            Some(sz) = resize.recv() => { let _ = s.resize.send(sz).await; }
        }
    }
    let code = s.exit.await.ok().flatten();
    let _ = events.send(SessionEvent::Ended { id, code, error: None }).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_chord_returns_focus_and_commands_work() {
        let cfg = Config::default_config();
        let mut s = Sessions::default();
        // A pane without a task: enough to test routing.
        s.list.push(Live { id: 0, pane: TerminalPane::new("shell · a", "a", 10, 40), input: None, resize: None });
        s.list.push(Live { id: 1, pane: TerminalPane::new("shell · b", "b", 10, 40), input: None, resize: None });
        s.active = 1;
        s.focused = true;
        let ctrl_b = KeyEvent::new(KeyCode::Char('b'), KeyModifiers::CONTROL);
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        assert_eq!(s.handle_key(&key('x'), &cfg), KeyOutcome::Consumed);
        assert_eq!(s.handle_key(&ctrl_b, &cfg), KeyOutcome::Consumed);
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

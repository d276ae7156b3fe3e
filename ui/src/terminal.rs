//! The terminal pane: a real terminal emulator (vt100 state machine drawn by tui-term)
//! on a container's TTY or an exec shell, inside the dashboard. Keys are encoded the way
//! xterm sends them, except the prefix chord, which hands focus back to the dashboard
//! without ending the session. Output is fed in by the session task; drawing reads only.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Borders};
use tui_term::vt100;
use tui_term::widget::PseudoTerminal;

use crate::config::Config;

/// Lines of scrollback each pane keeps.
pub const SCROLLBACK: usize = 5000;

/// One terminal session as the dashboard sees it.
pub struct TerminalPane {
    /// "exec sh in web-1", "attach web-1".
    pub title: String,
    /// Container the session belongs to.
    pub container: String,
    parser: vt100::Parser,
    /// Rows scrolled back from the live screen (0 = following output).
    pub scroll: usize,
    /// Set when the session ended: the exit code if known.
    pub ended: Option<Option<i64>>,
    /// Bytes fed so far (for tests and the "new output" marker).
    pub received: u64,
}

impl TerminalPane {
    pub fn new(title: impl Into<String>, container: impl Into<String>, rows: u16, cols: u16) -> Self {
        Self {
            title: title.into(),
            container: container.into(),
            parser: vt100::Parser::new(rows.max(1), cols.max(1), SCROLLBACK),
            scroll: 0,
            ended: None,
            received: 0,
        }
    }

    /// Feed output from the session.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.parser.process(bytes);
        self.received += bytes.len() as u64;
    }

    /// The emulated screen's size (rows, cols).
    pub fn size(&self) -> (u16, u16) {
        self.parser.screen().size()
    }

    /// Resize the emulated screen; true when the size changed (the caller then tells the
    /// container's PTY).
    pub fn resize(&mut self, rows: u16, cols: u16) -> bool {
        let (rows, cols) = (rows.max(1), cols.max(1));
        if self.size() == (rows, cols) {
            return false;
        }
        self.parser.screen_mut().set_size(rows, cols);
        true
    }

    /// Scroll back (positive) or forward (negative) through the scrollback.
    pub fn scroll_by(&mut self, delta: isize) {
        let max = SCROLLBACK as isize;
        self.scroll = (self.scroll as isize + delta).clamp(0, max) as usize;
        self.parser.screen_mut().set_scrollback(self.scroll);
        // vt100 clamps to what exists: read back the real offset.
        self.scroll = self.parser.screen().scrollback();
    }

    /// Back to the live screen.
    pub fn follow(&mut self) {
        self.scroll = 0;
        self.parser.screen_mut().set_scrollback(0);
    }

    /// The visible text (for tests and search).
    pub fn contents(&self) -> String {
        self.parser.screen().contents()
    }

    /// Whether the application asked for application-cursor keys (vim, less...).
    pub fn application_cursor(&self) -> bool {
        self.parser.screen().application_cursor()
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, focused: bool, cfg: &Config) {
        let status = match self.ended {
            Some(Some(code)) => format!(" — exited ({code})"),
            Some(None) => " — ended".to_string(),
            None if self.scroll > 0 => format!(" — scrolled back {} lines", self.scroll),
            None => String::new(),
        };
        let prefix = cfg.keys.terminal_prefix.first().map(|k| k.label()).unwrap_or_default();
        let hint = if focused { format!(" {prefix} back to dashboard ") } else { " enter to type ".to_string() };
        let border = if focused { Style::default().fg(cfg.theme.accent) } else { Style::default().fg(cfg.theme.border) };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
            .border_style(border)
            .title(Span::styled(format!(" {}{status} ", self.title), Style::default().add_modifier(Modifier::BOLD)))
            .title_bottom(Span::raw(hint));
        let mut cursor = tui_term::widget::Cursor::default();
        if !focused || self.ended.is_some() || self.scroll > 0 {
            cursor.hide();
        }
        f.render_widget(PseudoTerminal::new(self.parser.screen()).block(block).cursor(cursor), area);
    }
}

/// The bytes xterm sends for a key, or None for keys a terminal does not transmit.
pub fn encode_key(k: &KeyEvent, application_cursor: bool) -> Option<Vec<u8>> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    let alt = k.modifiers.contains(KeyModifiers::ALT);
    let mut out: Vec<u8> = match k.code {
        KeyCode::Char(c) if ctrl => {
            let b = match c.to_ascii_lowercase() {
                c @ 'a'..='z' => c as u8 - b'a' + 1,
                '@' | ' ' | '2' => 0,
                '[' | '3' => 0x1b,
                '\\' | '4' => 0x1c,
                ']' | '5' => 0x1d,
                '^' | '6' => 0x1e,
                '_' | '7' | '/' => 0x1f,
                '8' | '?' => 0x7f,
                _ => return None,
            };
            vec![b]
        }
        KeyCode::Char(c) => c.to_string().into_bytes(),
        KeyCode::Enter => vec![b'\r'],
        KeyCode::Tab => vec![b'\t'],
        KeyCode::BackTab => b"\x1b[Z".to_vec(),
        KeyCode::Backspace => vec![0x7f],
        KeyCode::Esc => vec![0x1b],
        KeyCode::Up | KeyCode::Down | KeyCode::Right | KeyCode::Left => {
            let c = match k.code {
                KeyCode::Up => b'A',
                KeyCode::Down => b'B',
                KeyCode::Right => b'C',
                _ => b'D',
            };
            let m = modifier_param(k.modifiers);
            if m > 1 {
                format!("\x1b[1;{m}{}", c as char).into_bytes()
            } else if application_cursor {
                vec![0x1b, b'O', c]
            } else {
                vec![0x1b, b'[', c]
            }
        }
        KeyCode::Home => {
            if application_cursor {
                b"\x1bOH".to_vec()
            } else {
                b"\x1b[H".to_vec()
            }
        }
        KeyCode::End => {
            if application_cursor {
                b"\x1bOF".to_vec()
            } else {
                b"\x1b[F".to_vec()
            }
        }
        KeyCode::PageUp => b"\x1b[5~".to_vec(),
        KeyCode::PageDown => b"\x1b[6~".to_vec(),
        KeyCode::Insert => b"\x1b[2~".to_vec(),
        KeyCode::Delete => b"\x1b[3~".to_vec(),
        KeyCode::F(n) => match n {
            1 => b"\x1bOP".to_vec(),
            2 => b"\x1bOQ".to_vec(),
            3 => b"\x1bOR".to_vec(),
            4 => b"\x1bOS".to_vec(),
            5 => b"\x1b[15~".to_vec(),
            6 => b"\x1b[17~".to_vec(),
            7 => b"\x1b[18~".to_vec(),
            8 => b"\x1b[19~".to_vec(),
            9 => b"\x1b[20~".to_vec(),
            10 => b"\x1b[21~".to_vec(),
            11 => b"\x1b[23~".to_vec(),
            12 => b"\x1b[24~".to_vec(),
            _ => return None,
        },
        _ => return None,
    };
    if alt && !out.is_empty() && !matches!(k.code, KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right) {
        out.insert(0, 0x1b);
    }
    Some(out)
}

/// xterm's modifier parameter: 1 + shift + 2·alt + 4·ctrl.
fn modifier_param(m: KeyModifiers) -> u8 {
    1 + m.contains(KeyModifiers::SHIFT) as u8 + 2 * m.contains(KeyModifiers::ALT) as u8 + 4 * m.contains(KeyModifiers::CONTROL) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, m: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, m)
    }

    #[test]
    fn keys_encode_like_xterm() {
        let n = KeyModifiers::NONE;
        assert_eq!(encode_key(&k(KeyCode::Char('a'), n), false).unwrap(), b"a");
        assert_eq!(encode_key(&k(KeyCode::Char('é'), n), false).unwrap(), "é".as_bytes());
        assert_eq!(encode_key(&k(KeyCode::Char('c'), KeyModifiers::CONTROL), false).unwrap(), [3]);
        assert_eq!(encode_key(&k(KeyCode::Char('d'), KeyModifiers::CONTROL), false).unwrap(), [4]);
        assert_eq!(encode_key(&k(KeyCode::Enter, n), false).unwrap(), b"\r");
        assert_eq!(encode_key(&k(KeyCode::Up, n), false).unwrap(), b"\x1b[A");
        assert_eq!(encode_key(&k(KeyCode::Up, n), true).unwrap(), b"\x1bOA");
        assert_eq!(encode_key(&k(KeyCode::Right, KeyModifiers::CONTROL), false).unwrap(), b"\x1b[1;5C");
        assert_eq!(encode_key(&k(KeyCode::Char('x'), KeyModifiers::ALT), false).unwrap(), b"\x1bx");
        assert_eq!(encode_key(&k(KeyCode::F(5), n), false).unwrap(), b"\x1b[15~");
        assert_eq!(encode_key(&k(KeyCode::Backspace, n), false).unwrap(), [0x7f]);
    }

    #[test]
    fn emulates_a_screen_and_scrolls_back() {
        let mut t = TerminalPane::new("exec sh", "web", 5, 20);
        t.feed(b"hello\r\n\x1b[1mbold\x1b[0m\r\n");
        assert!(t.contents().starts_with("hello\nbold"));
        for i in 0..20 {
            t.feed(format!("line {i}\r\n").as_bytes());
        }
        assert!(t.contents().contains("line 19"));
        t.scroll_by(3);
        assert_eq!(t.scroll, 3);
        assert!(!t.contents().contains("line 19"));
        t.follow();
        assert!(t.contents().contains("line 19"));
        assert!(t.resize(10, 40));
        assert!(!t.resize(10, 40));
        assert_eq!(t.size(), (10, 40));
    }
}

//! One session's screen: a real terminal emulator (vt100 state machine drawn by
//! tui-term) with scrollback, fed by the session task; drawing reads only.
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;
use ratatui::widgets::{Block, BorderType, Borders};
use tui_term::vt100;
use tui_term::widget::PseudoTerminal;

use crate::config::Config;

/// The border's hint: the chord that gives the keys back (the prefix, then esc), or the
/// key that takes them.
pub fn hint(focused: bool, cfg: &Config) -> String {
    let label = |keys: &[crate::config::Key]| keys.first().map(|k| k.label()).unwrap_or_default();
    if focused {
        format!(" {} esc back to dashboard ", label(&cfg.keys.terminal_prefix))
    } else {
        format!(" {} to type ", label(&cfg.keys.terminal))
    }
}

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
        let hint = hint(focused, cfg);
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

#[cfg(test)]
mod tests {
    use super::*;

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

    fn bottom_border(focused: bool) -> String {
        let cfg = Config::default_config();
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(60, 6)).unwrap();
        let pane = TerminalPane::new("shell · web", "web", 4, 58);
        term.draw(|f| pane.draw(f, f.area(), focused, &cfg)).unwrap();
        let buf = term.backend().buffer();
        (0..60).map(|x| buf[(x, 5)].symbol().to_string()).collect()
    }

    #[test]
    fn the_border_names_the_keys_that_move_focus() {
        // The prefix alone only waits for the next key: the hint says both.
        assert!(bottom_border(true).contains(" ctrl-b esc back to dashboard "), "{}", bottom_border(true));
        assert!(bottom_border(false).contains(" T to type "), "{}", bottom_border(false));
    }
}

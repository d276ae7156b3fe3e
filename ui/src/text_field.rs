//! A one-line text input for the dialogs (own: they need only insert, delete and cursor
//! moves, which is less code than adapting a widget crate's key type to ours), and its
//! drawing with a block cursor.
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::config::Config;
use crate::widgets::accent;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TextField {
    pub label: &'static str,
    pub text: String,
    /// Cursor, in chars.
    pub cursor: usize,
}

impl TextField {
    pub fn new(label: &'static str, text: &str) -> Self {
        TextField { label, text: text.to_string(), cursor: text.chars().count() }
    }
    fn byte(&self, c: usize) -> usize {
        self.text.char_indices().nth(c).map(|(i, _)| i).unwrap_or(self.text.len())
    }
    pub fn insert(&mut self, ch: char) {
        let b = self.byte(self.cursor);
        self.text.insert(b, ch);
        self.cursor += 1;
    }
    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let b = self.byte(self.cursor);
            self.text.remove(b);
        }
    }
    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let b = self.byte(self.cursor);
            self.text.remove(b);
        }
    }
    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }
    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }
    pub fn home(&mut self) {
        self.cursor = 0;
    }
    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    /// Apply an editing key; false when the key is not an edit.
    pub fn edit(&mut self, k: &KeyEvent) -> bool {
        match k.code {
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => self.insert(c),
            KeyCode::Backspace => self.backspace(),
            KeyCode::Delete => self.delete(),
            KeyCode::Left => self.left(),
            KeyCode::Right => self.right(),
            KeyCode::Home => self.home(),
            KeyCode::End => self.end(),
            _ => return false,
        }
        true
    }

    /// `Label       text` with the cursor cell reversed when focused.
    pub fn line<'a>(&self, focused: bool, cfg: &Config) -> Line<'a> {
        let label = Span::styled(format!("{:<12}", self.label), if focused { accent(cfg) } else { Style::default() });
        if !focused {
            return Line::from(vec![label, Span::raw(self.text.clone())]);
        }
        let (a, rest) = self.text.split_at(self.byte(self.cursor));
        let mut chars = rest.chars();
        let at = chars.next().map(|c| c.to_string()).unwrap_or_else(|| " ".into());
        Line::from(vec![
            label,
            Span::raw(a.to_string()),
            Span::styled(at, Style::default().add_modifier(Modifier::REVERSED)),
            Span::raw(chars.as_str().to_string()),
        ])
    }
}

/// A list's `/` filter or the logs search: typed into while `typing`, applied after.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: String,
    /// Keys go here (every printable key is text, never an action).
    pub typing: bool,
}

impl Filter {
    /// A key while typing: esc clears and stops, enter applies, backspace and characters
    /// edit. Returns whether the text or the typing state changed.
    pub fn on_key(&mut self, k: &KeyEvent) -> bool {
        match k.code {
            KeyCode::Esc => {
                self.text.clear();
                self.typing = false;
            }
            KeyCode::Enter => self.typing = false,
            KeyCode::Backspace => {
                self.text.pop();
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => self.text.push(c),
            _ => return false,
        }
        true
    }

    /// Case-insensitive match of the applied text (an empty filter matches everything).
    pub fn matches(&self, hay: &str) -> bool {
        self.text.is_empty() || hay.to_lowercase().contains(&self.text.to_lowercase())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_field_edits_at_the_cursor() {
        let mut f = TextField::new("x", "héllo");
        f.left();
        f.left();
        f.insert('X');
        assert_eq!(f.text, "hélXlo");
        f.backspace();
        f.home();
        f.delete();
        assert_eq!(f.text, "éllo");
        f.end();
        f.insert('!');
        assert_eq!(f.text, "éllo!");
    }
}

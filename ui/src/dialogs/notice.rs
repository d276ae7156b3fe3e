//! A message to dismiss: an error (in the error colour) or the report of a finished
//! action ("Removed volume x", "Committed y").
use ratatui::style::Style;
use ratatui::text::Text;

use crate::ctx::Ctx;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub error: bool,
    pub text: String,
}

impl Notice {
    pub fn error(text: impl Into<String>) -> Self {
        Notice { error: true, text: text.into() }
    }

    pub fn info(text: impl Into<String>) -> Self {
        Notice { error: false, text: text.into() }
    }

    pub fn content(&self, ctx: &Ctx) -> (String, Text<'static>, Style) {
        let text = Text::from(format!("{}\n\n esc dismiss", self.text));
        if self.error { ("Error".into(), text, Style::default().fg(ctx.cfg.theme.error)) } else { ("Done".into(), text, Style::default()) }
    }
}

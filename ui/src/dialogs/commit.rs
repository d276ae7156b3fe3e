//! Commit the selected container as an image: asks for REPO[:TAG] (an empty name is not
//! sent) and reports the new image's ID when the commit is done.
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::Text;

use crate::ctx::Ctx;
use crate::dialogs::Reply;
use crate::dialogs::notice::Notice;
use crate::dialogs::prompt::field_text;
use crate::message::Action;
use crate::text_field::TextField;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub id: String,
    /// The container's name, for the title.
    pub name: String,
    pub field: TextField,
}

impl Commit {
    pub fn new(id: &str, name: &str) -> Self {
        Commit { id: id.to_string(), name: name.to_string(), field: TextField::new("REPO[:TAG]", "") }
    }

    pub fn on_key(&mut self, k: &KeyEvent) -> Reply {
        match k.code {
            KeyCode::Esc => Reply::Close,
            KeyCode::Enter => match self.field.text.trim() {
                "" => Reply::Ignored,
                r => Reply::Done(Action::Commit { id: self.id.clone(), reference: r.to_string() }),
            },
            _ if self.field.edit(k) => Reply::Changed,
            _ => Reply::Ignored,
        }
    }

    pub fn content(&self, ctx: &Ctx) -> (String, Text<'static>, Style) {
        (format!("Commit {} as an image", self.name), field_text(&self.field, ctx), Style::default())
    }
}

/// The report of a finished commit: the new image's name and short ID.
pub fn committed(image: &str, name: &str) -> Notice {
    let short: String = image.trim_start_matches("sha256:").chars().take(12).collect();
    Notice::info(format!("Committed {name} ({short})"))
}

//! A one-field question: a container's new name, or the `:` command line (`ctx`,
//! `ctx NAME`, `ctx all`, `q`), which the router runs.
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::{Line, Text};

use crate::ctx::Ctx;
use crate::dialogs::Reply;
use crate::message::Action;
use crate::text_field::TextField;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromptKind {
    Rename { id: String },
    Command,
    CreateNetwork,
    Connect { network: String },
    Disconnect { network: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prompt {
    pub kind: PromptKind,
    pub field: TextField,
}

impl Prompt {
    pub fn rename(id: &str, name: &str) -> Self {
        Prompt { kind: PromptKind::Rename { id: id.to_string() }, field: TextField::new("New name", name) }
    }

    pub fn create_network() -> Self {
        Prompt { kind: PromptKind::CreateNetwork, field: TextField::new("Network name", "") }
    }

    /// Which container to connect to `network`.
    pub fn connect(network: &str) -> Self {
        Prompt { kind: PromptKind::Connect { network: network.to_string() }, field: TextField::new("Container", "") }
    }

    pub fn disconnect(network: &str, container: &str) -> Self {
        Prompt { kind: PromptKind::Disconnect { network: network.to_string() }, field: TextField::new("Container", container) }
    }

    pub fn command() -> Self {
        Prompt { kind: PromptKind::Command, field: TextField::new(":", "") }
    }

    pub fn on_key(&mut self, k: &KeyEvent) -> Reply {
        match k.code {
            KeyCode::Esc => Reply::Close,
            KeyCode::Enter => {
                let text = self.field.text.trim().to_string();
                match &self.kind {
                    _ if text.is_empty() => Reply::Ignored,
                    PromptKind::Rename { id } => Reply::Done(Action::Rename { id: id.clone(), name: text }),
                    PromptKind::Command => Reply::Command(text),
                    PromptKind::CreateNetwork => Reply::Done(Action::CreateNetwork(text)),
                    PromptKind::Connect { network } => Reply::Done(Action::ConnectNetwork { network: network.clone(), container: text }),
                    PromptKind::Disconnect { network } => {
                        Reply::Done(Action::DisconnectNetwork { network: network.clone(), container: text })
                    }
                }
            }
            _ if self.field.edit(k) => Reply::Changed,
            _ => Reply::Ignored,
        }
    }

    pub fn content(&self, ctx: &Ctx) -> (String, Text<'static>, Style) {
        let title = match self.kind {
            PromptKind::Rename { .. } => "Rename container",
            PromptKind::Command => "Command (ctx, ctx NAME, ctx all, q)",
            PromptKind::CreateNetwork => "Create network",
            PromptKind::Connect { .. } => "Connect a container",
            PromptKind::Disconnect { .. } => "Disconnect a container",
        };
        (title.into(), field_text(&self.field, ctx), Style::default())
    }
}

/// A focused field and how to answer: the body of every one-field dialog.
pub fn field_text(field: &TextField, ctx: &Ctx) -> Text<'static> {
    Text::from(vec![field.line(true, &ctx.cfg), Line::from(""), Line::from(" enter ok · esc cancel")])
}

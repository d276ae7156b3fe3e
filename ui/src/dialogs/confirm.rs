//! A yes/no question before something that cannot be undone (removing containers, an
//! image, volumes): `y` or enter starts the action it holds, `n` or esc drops it.
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::Text;

use crate::dialogs::Reply;
use crate::message::{Action, ContainerOp};

#[derive(Clone, Debug, PartialEq)]
pub struct Confirm {
    pub title: &'static str,
    pub question: String,
    /// What a yes starts.
    pub action: Action,
}

impl Confirm {
    /// Remove containers (running ones are killed first).
    pub fn remove_containers(ids: Vec<String>, label: &str) -> Self {
        Confirm {
            title: "Remove containers",
            question: format!("Remove {label}?\nRunning ones are killed first."),
            action: Action::Containers(ContainerOp::Remove, ids),
        }
    }

    /// Remove an image by the name shown.
    pub fn remove_image(name: &str) -> Self {
        Confirm { title: "Remove image", question: format!("Remove {name}?"), action: Action::RemoveImage(name.to_string()) }
    }

    pub fn remove_volume(name: &str) -> Self {
        Confirm { title: "Volumes", question: format!("Remove volume {name}?"), action: Action::RemoveVolume(name.to_string()) }
    }

    pub fn prune_volumes() -> Self {
        Confirm { title: "Volumes", question: "Remove the anonymous volumes no container uses?".into(), action: Action::PruneVolumes }
    }

    pub fn remove_network(name: &str) -> Self {
        Confirm { title: "Networks", question: format!("Remove network {name}?"), action: Action::RemoveNetwork(name.to_string()) }
    }

    pub fn prune_networks() -> Self {
        Confirm { title: "Networks", question: "Remove the networks no container is connected to?".into(), action: Action::PruneNetworks }
    }

    pub fn on_key(&self, k: &KeyEvent) -> Reply {
        match k.code {
            KeyCode::Char('y' | 'Y') | KeyCode::Enter => Reply::Done(self.action.clone()),
            KeyCode::Char('n' | 'N') | KeyCode::Esc => Reply::Close,
            _ => Reply::Ignored,
        }
    }

    pub fn content(&self) -> (String, Text<'static>, Style) {
        (self.title.into(), Text::from(format!("{}\n\n y yes   n no", self.question)), Style::default())
    }
}

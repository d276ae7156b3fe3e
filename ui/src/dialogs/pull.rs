//! Pull an image: asks for the reference, then shows the pull's progress, one row per
//! layer in the order layers appeared, until the image ID or the error. Esc hides it while
//! the pull goes on (only a failure comes back as an error).
use berth_engine::api::{LayerStatus, ProgressEvent};
use berth_engine::human::human_size;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};

use crate::config::KeyMap;
use crate::ctx::Ctx;
use crate::dialogs::prompt::field_text;
use crate::dialogs::{Reply, dismiss};
use crate::message::Action;
use crate::text_field::TextField;
use crate::widgets::{accent, short_id};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pull {
    /// Typing the reference.
    Asking(TextField),
    Pulling(PullView),
}

/// What a pull shows while it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PullView {
    pub reference: String,
    pub messages: Vec<String>,
    pub layers: Vec<(String, LayerStatus, u64, Option<u64>)>,
    /// Set when the pull ended: the image ID or the error.
    pub done: Option<Result<String, String>>,
}

impl Pull {
    pub fn ask() -> Self {
        Pull::Asking(TextField::new("Image", ""))
    }

    pub fn on_key(&mut self, k: &KeyEvent, keys: &KeyMap) -> Reply {
        match self {
            Pull::Asking(field) => match k.code {
                KeyCode::Esc => Reply::Close,
                KeyCode::Enter => match field.text.trim() {
                    "" => Reply::Ignored,
                    r => {
                        let view = PullView { reference: r.to_string(), ..PullView::default() };
                        Reply::Then(Box::new(Pull::Pulling(view).into()), Some(Action::Pull(r.to_string())))
                    }
                },
                _ if field.edit(k) => Reply::Changed,
                _ => Reply::Ignored,
            },
            Pull::Pulling(_) if dismiss(k, keys) => Reply::Close,
            Pull::Pulling(_) => Reply::Ignored,
        }
    }

    /// A progress event (or the pull's failure); false when nothing is shown for it.
    pub fn apply(&mut self, ev: Result<ProgressEvent, String>) -> bool {
        let Pull::Pulling(p) = self else { return false };
        match ev {
            Ok(ProgressEvent::Message(m)) => p.messages.push(m),
            Ok(ProgressEvent::Layer { id, status, current, total }) => match p.layers.iter_mut().find(|l| l.0 == id) {
                Some(l) => *l = (id, status, current, total),
                None => p.layers.push((id, status, current, total)),
            },
            Ok(ProgressEvent::Pulled { image_id, .. }) => p.done = Some(Ok(image_id)),
            Ok(ProgressEvent::Pushed { .. }) => {}
            Err(e) => p.done = Some(Err(e)),
        }
        true
    }

    /// Whether the pull is still running (an error arriving now is its own).
    pub fn running(&self) -> bool {
        matches!(self, Pull::Pulling(p) if p.done.is_none())
    }

    pub fn content(&self, ctx: &Ctx) -> (String, Text<'static>, Style) {
        let cfg = &ctx.cfg;
        let p = match self {
            Pull::Asking(field) => {
                let title = if ctx.multi() { format!("Pull image to {}", ctx.current_endpoint()) } else { "Pull image".into() };
                return (title, field_text(field, ctx), Style::default());
            }
            Pull::Pulling(p) => p,
        };
        let mut lines: Vec<Line> = p.messages.iter().map(|m| Line::from(m.clone())).collect();
        for (id, st, cur, total) in &p.layers {
            let bar = match total {
                Some(t) if *t > 0 && matches!(st, LayerStatus::Downloading | LayerStatus::Extracting) => {
                    let filled = ((*cur as f64 / *t as f64) * 20.0).round().clamp(0.0, 20.0) as usize;
                    format!(" [{}{}] {}/{}", "=".repeat(filled), " ".repeat(20 - filled), human_size(*cur), human_size(*t))
                }
                _ => String::new(),
            };
            lines.push(Line::from(format!("{id}: {}{bar}", st.docker_text())));
        }
        match &p.done {
            Some(Ok(id)) => lines.push(Line::from(Span::styled(format!("Pulled {} ({})", p.reference, short_id(id)), accent(cfg)))),
            Some(Err(e)) => lines.push(Line::from(Span::styled(e.clone(), Style::default().fg(cfg.theme.error)))),
            None => lines.push(Line::from("pulling…")),
        }
        lines.push(Line::from(""));
        lines.push(Line::from(if p.done.is_some() { " esc close" } else { " esc hide (the pull goes on)" }));
        (format!("Pull {}", p.reference), Text::from(lines), Style::default())
    }
}

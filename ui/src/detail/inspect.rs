//! The Inspect tab: the container's inspect document as foldable JSON (enter folds the
//! object or array under the cursor; folds survive refreshes), asked for again every few
//! seconds.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use berth_engine::api::ContainerBackend;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Wrap};
use tokio::sync::mpsc;

use crate::config::KeyMap;
use crate::ctx::{Ctx, is};
use crate::handled::Handled;
use crate::message::Message;
use crate::widgets::selected;

#[derive(Clone, Debug, Default)]
pub struct InspectTab {
    /// The container the document is of, and the document.
    pub doc: Option<(String, Result<serde_json::Value, String>)>,
    /// JSON pointers of folded objects and arrays.
    pub folded: HashSet<String>,
    pub cursor: usize,
}

/// Asks for the document every few seconds until aborted.
pub async fn feed(backend: Arc<dyn ContainerBackend>, id: String, tx: mpsc::Sender<Message>, every: Duration) {
    loop {
        let result = backend
            .inspect_container(&id)
            .await
            .map_err(|e| e.to_string())
            .and_then(|i| serde_json::to_value(i).map_err(|e| e.to_string()));
        if tx.send(Message::Inspect { id: id.clone(), result }).await.is_err() {
            return;
        }
        tokio::time::sleep(every.max(Duration::from_secs(5))).await;
    }
}

impl InspectTab {
    pub fn watching(&mut self, id: Option<&str>) {
        if self.doc.as_ref().is_some_and(|(t, _)| Some(t.as_str()) != id) {
            self.doc = None;
            self.cursor = 0;
        }
    }

    /// A document for container `id`; true when it changed.
    pub fn update(&mut self, id: String, result: Result<serde_json::Value, String>) -> bool {
        let changed = self.doc.as_ref().map(|(i, r)| (i, r)) != Some((&id, &result));
        self.doc = Some((id, result));
        changed
    }

    /// Lines of the document as currently folded.
    fn lines(&self) -> Vec<crate::json::JsonLine> {
        match &self.doc {
            Some((_, Ok(v))) => crate::json::lines(v, &self.folded),
            _ => vec![],
        }
    }

    pub fn scroll(&mut self, d: isize) -> bool {
        let n = self.lines().len();
        self.cursor = (self.cursor as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
        true
    }

    pub fn on_key(&mut self, k: &KeyEvent, keys: &KeyMap) -> Option<Handled> {
        if !is(&keys.detail, k) {
            return None;
        }
        let lines = self.lines();
        let Some(ptr) = lines.get(self.cursor.min(lines.len().saturating_sub(1))).and_then(|l| l.fold.clone()) else {
            return Handled::quiet();
        };
        if !self.folded.remove(&ptr) {
            self.folded.insert(ptr);
        }
        Handled::redraw()
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool) {
        let Some((_, r)) = &self.doc else {
            f.render_widget(Paragraph::new("loading…"), area);
            return;
        };
        if let Err(e) = r {
            f.render_widget(
                Paragraph::new(format!("inspect: {e}")).style(Style::default().fg(ctx.cfg.theme.error)).wrap(Wrap { trim: true }),
                area,
            );
            return;
        }
        let lines = self.lines();
        let h = area.height as usize;
        let cursor = self.cursor.min(lines.len().saturating_sub(1));
        let start = cursor.saturating_sub(h.saturating_sub(1));
        let out: Vec<Line> = lines
            .iter()
            .enumerate()
            .skip(start)
            .take(h)
            .map(|(i, l)| {
                let marker = match (&l.fold, l.folded) {
                    (Some(_), true) => "▸ ",
                    (Some(_), false) => "▾ ",
                    _ => "  ",
                };
                let line = Line::from(format!("{}{marker}{}", "  ".repeat(l.depth), l.text));
                if i == cursor && focused { line.style(selected(&ctx.cfg)) } else { line }
            })
            .collect();
        f.render_widget(Paragraph::new(out), area);
    }
}

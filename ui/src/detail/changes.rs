//! The Changes tab (`diff`): files added, changed and deleted in the container, A green,
//! C yellow, D red (docker's letters), refreshed every few seconds.
use std::sync::Arc;
use std::time::Duration;

use berth_engine::api::{ChangeKind, ContainerBackend, FsChange};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tokio::sync::mpsc;

use crate::ctx::Ctx;
use crate::message::Message;
use crate::widgets::accent;

#[derive(Clone, Debug, Default)]
pub struct ChangesTab {
    /// The container the list is of, and the list.
    pub list: Option<(String, Result<Vec<FsChange>, String>)>,
    pub scroll: usize,
}

/// Asks for the list every few seconds until aborted.
pub async fn feed(backend: Arc<dyn ContainerBackend>, id: String, tx: mpsc::Sender<Message>, every: Duration) {
    loop {
        let result = backend.container_changes(&id).await.map_err(|e| e.to_string());
        if tx.send(Message::Changes { id: id.clone(), result }).await.is_err() {
            return;
        }
        tokio::time::sleep(every.max(Duration::from_secs(3))).await;
    }
}

impl ChangesTab {
    pub fn watching(&mut self, id: Option<&str>) {
        if self.list.as_ref().is_some_and(|(t, _)| Some(t.as_str()) != id) {
            self.list = None;
            self.scroll = 0;
        }
    }

    /// A list for container `id`; true when it changed.
    pub fn update(&mut self, id: String, result: Result<Vec<FsChange>, String>) -> bool {
        let changed = self.list.as_ref().map(|(i, r)| (i, r)) != Some((&id, &result));
        if let Ok(v) = &result {
            self.scroll = self.scroll.min(v.len().saturating_sub(1));
        }
        self.list = Some((id, result));
        changed
    }

    pub fn scroll(&mut self, d: isize) -> bool {
        let n = match &self.list {
            Some((_, Ok(v))) => v.len(),
            _ => 0,
        };
        self.scroll = (self.scroll as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
        true
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let cfg = &ctx.cfg;
        let Some((_, r)) = &self.list else {
            f.render_widget(Paragraph::new("loading…"), area);
            return;
        };
        let v = match r {
            Ok(v) => v,
            Err(e) => {
                f.render_widget(
                    Paragraph::new(format!("changes: {e}")).style(Style::default().fg(cfg.theme.error)).wrap(Wrap { trim: true }),
                    area,
                );
                return;
            }
        };
        let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        let count = |k: ChangeKind| v.iter().filter(|c| c.kind == k).count();
        let st =
            format!("{} added  {} changed  {} deleted", count(ChangeKind::Added), count(ChangeKind::Modified), count(ChangeKind::Deleted));
        f.render_widget(Paragraph::new(Span::styled(st, accent(cfg))), status);
        if v.is_empty() {
            f.render_widget(Paragraph::new("No changes since the container was created."), body);
            return;
        }
        let h = body.height as usize;
        let start = self.scroll.min(v.len().saturating_sub(h.max(1)));
        let lines: Vec<Line> = v
            .iter()
            .skip(start)
            .take(h)
            .map(|c| {
                let colour = match c.kind {
                    ChangeKind::Added => cfg.theme.running,
                    ChangeKind::Modified => cfg.theme.paused,
                    ChangeKind::Deleted => cfg.theme.error,
                };
                Line::from(vec![
                    Span::styled(format!("{} ", c.kind.letter()), Style::default().fg(colour).add_modifier(Modifier::BOLD)),
                    Span::raw(c.path.clone()),
                ])
            })
            .collect();
        f.render_widget(Paragraph::new(lines), body);
    }
}

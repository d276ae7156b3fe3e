//! The Logs tab: the container's log followed live (only the tail is read), `/` search
//! that shows the matching lines with the matches highlighted, `n`/`N` to jump between
//! matches, timestamps on or off, follow or scroll back. While the search is typed, it
//! gets every key: nothing typed there ever reaches a pane.
use std::collections::VecDeque;
use std::sync::Arc;

use berth_engine::api::{ContainerBackend, LogLine, LogOptions};
use crossterm::event::KeyEvent;
use futures_util::StreamExt;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use tokio::sync::mpsc;

use crate::config::{Key, KeyMap};
use crate::ctx::{Ctx, is};
use crate::handled::Handled;
use crate::hit::HitMap;
use crate::message::Message;
use crate::text_field::Filter;
use crate::widgets::accent;

/// Lines kept in the buffer (and asked for from the tail).
pub const LOG_CAP: usize = 2000;

/// The tab's state: a bounded buffer of the tail.
#[derive(Clone, Debug)]
pub struct LogsTab {
    /// The container whose log this is.
    pub id: String,
    pub lines: VecDeque<LogLine>,
    /// Stick to the newest line.
    pub follow: bool,
    /// Matching lines scrolled up from the bottom (0 while following).
    pub scroll: usize,
    pub search: Filter,
    pub timestamps: bool,
    /// Set when the stream ended (with the error, if any).
    pub ended: Option<Option<String>>,
    /// The match `n`/`N` went to, counted among the matching lines from the newest (0).
    pub current: Option<usize>,
}

impl Default for LogsTab {
    fn default() -> Self {
        LogsTab {
            id: String::new(),
            lines: VecDeque::new(),
            follow: true,
            scroll: 0,
            search: Filter::default(),
            timestamps: false,
            ended: None,
            current: None,
        }
    }
}

/// Follows the log from its tail, in batches (a burst of lines is one message), until the
/// stream ends or the task is aborted.
pub async fn feed(backend: Arc<dyn ContainerBackend>, id: String, tx: mpsc::Sender<Message>) {
    let opts = LogOptions { follow: true, tail: Some(LOG_CAP) };
    let mut stream = match backend.container_logs(&id, &opts).await {
        Ok(s) => s.ready_chunks(512),
        Err(e) => {
            let _ = tx.send(Message::LogEnd { id, error: Some(e.to_string()) }).await;
            return;
        }
    };
    while let Some(batch) = stream.next().await {
        let mut lines = Vec::with_capacity(batch.len());
        let mut error = None;
        for item in batch {
            match item {
                Ok(l) => lines.push(l),
                Err(e) => error = Some(e.to_string()),
            }
        }
        if !lines.is_empty() && tx.send(Message::LogLines { id: id.clone(), lines }).await.is_err() {
            return;
        }
        if error.is_some() {
            let _ = tx.send(Message::LogEnd { id, error }).await;
            return;
        }
    }
    let _ = tx.send(Message::LogEnd { id, error: None }).await;
}

impl LogsTab {
    /// The tab now shows container `id`; `restart` when a new stream starts (it begins
    /// with the tail again, so the buffer starts empty). The search stays on the same
    /// container; timestamps stay on.
    pub fn watching(&mut self, id: Option<&str>, restart: bool) {
        let id = id.unwrap_or("");
        if self.id != id || restart {
            let search = if self.id == id { std::mem::take(&mut self.search.text) } else { String::new() };
            *self = LogsTab {
                id: id.to_string(),
                timestamps: self.timestamps,
                search: Filter { text: search, typing: false },
                ..LogsTab::default()
            };
        }
    }

    /// Whether a line is shown (all, or those matching the search).
    pub fn matches(&self, l: &LogLine) -> bool {
        self.search.matches(&l.line)
    }

    /// Lines from the stream of container `id`; false when they are another's (a stream
    /// not yet cancelled).
    pub fn push(&mut self, id: &str, lines: Vec<LogLine>) -> bool {
        if self.id != id {
            return false;
        }
        if !self.follow {
            // Keep the view (and the match jumped to) on the same lines: both count from
            // the bottom.
            let new = lines.iter().filter(|l| self.matches(l)).count();
            self.scroll += new;
            self.current = self.current.map(|c| c + new);
        }
        self.lines.extend(lines);
        let extra = self.lines.len().saturating_sub(LOG_CAP);
        self.lines.drain(..extra);
        self.scroll = self.scroll.min(self.lines.len());
        true
    }

    /// The stream of container `id` ended; false when it is another's.
    pub fn end(&mut self, id: &str, error: Option<String>) -> bool {
        if self.id != id {
            return false;
        }
        self.ended = Some(error);
        true
    }

    pub fn scroll(&mut self, d: isize) -> bool {
        let n = self.lines.len();
        self.scroll = (self.scroll as isize - d).clamp(0, n as isize) as usize;
        self.follow = self.scroll == 0;
        true
    }

    /// A key while the search is typed into: it takes every key.
    pub fn search_key(&mut self, k: &KeyEvent) -> bool {
        if !self.search.on_key(k) {
            return false;
        }
        self.scroll = 0;
        self.follow = true;
        self.current = None;
        true
    }

    /// Keys of the tab while the detail has focus. `rows` is how many lines the tab
    /// showed last (a jump keeps its match among them).
    pub fn on_key(&mut self, k: &KeyEvent, keys: &KeyMap, rows: u16) -> Option<Handled> {
        if is(&keys.filter, k) {
            self.search.typing = true;
        } else if is(&keys.timestamps, k) {
            self.timestamps = !self.timestamps;
        } else if is(&keys.follow, k) {
            self.follow = !self.follow;
            if self.follow {
                self.scroll = 0;
                self.current = None;
            }
        } else if !self.search.text.is_empty() && (is(&keys.search_next, k) || is(&keys.search_prev, k)) {
            return Some(Handled { redraw: self.jump(is(&keys.search_next, k), rows), ..Handled::default() });
        } else {
            return None;
        }
        Handled::redraw()
    }

    /// Go to the next (newer) or previous (older) match, wrapping round like vim: from the
    /// live end, next is the oldest match and previous the newest. Pauses following so
    /// the match stays put.
    fn jump(&mut self, next: bool, rows: u16) -> bool {
        let n = self.lines.iter().filter(|l| self.matches(l)).count();
        if n == 0 {
            return false;
        }
        let c = match (self.current.map(|c| c.min(n - 1)), next) {
            (None, true) | (Some(0), true) => n - 1,
            (Some(c), true) => c - 1,
            (None, false) => 0,
            (Some(c), false) => (c + 1) % n,
        };
        self.current = Some(c);
        let rows = rows.max(1) as usize;
        if c < self.scroll {
            self.scroll = c;
        } else if c >= self.scroll + rows {
            self.scroll = c + 1 - rows;
        }
        self.follow = false;
        true
    }

    pub fn hints<'k>(&self, keys: &'k KeyMap) -> Vec<(&'k [Key], &'static str)> {
        let mut v: Vec<(&[Key], &str)> = vec![(&keys.filter, "search")];
        if !self.search.text.is_empty() {
            v.push((&keys.search_next, "next match"));
        }
        v.extend([(&keys.timestamps[..], "timestamps"), (&keys.follow, "follow")]);
        v
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx, focused: bool, hits: &mut HitMap) {
        let cfg = &ctx.cfg;
        let [status, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
        hits.log_rows = body.height;
        let matching: Vec<&LogLine> = self.lines.iter().filter(|x| self.matches(x)).collect();
        let current = self.current.filter(|c| *c < matching.len());
        let mut st = vec![Span::styled(if self.follow { "following" } else { "paused" }, accent(cfg))];
        st.push(Span::raw(format!("  {} lines", self.lines.len())));
        if self.timestamps {
            st.push(Span::raw("  timestamps"));
        }
        if self.search.typing || !self.search.text.is_empty() {
            let cursor = if self.search.typing { "▏" } else { "" };
            let count = match current {
                Some(c) => format!("{}/{}", matching.len() - c, matching.len()),
                None => matching.len().to_string(),
            };
            st.push(Span::raw(format!("  search: {}{cursor}  ({count} match)", self.search.text)));
        }
        match &self.ended {
            Some(Some(e)) => st.push(Span::styled(format!("  {e}"), Style::default().fg(cfg.theme.error))),
            Some(None) => st.push(Span::raw("  (ended)")),
            None => {}
        }
        f.render_widget(Paragraph::new(Line::from(st)), status);
        if matching.is_empty() {
            let msg = match (self.lines.is_empty(), &self.ended) {
                (true, Some(_)) => "No output.",
                (true, None) => "No output yet.",
                (false, _) => "No line matches the search.",
            };
            f.render_widget(Paragraph::new(msg), body);
            return;
        }
        let h = body.height as usize;
        let scroll = self.scroll.min(matching.len().saturating_sub(h));
        let end = matching.len() - scroll;
        let start = end.saturating_sub(h);
        let hl = Style::default().fg(Color::Black).bg(cfg.theme.paused).add_modifier(Modifier::BOLD);
        let hl = if cfg.no_color { Style::default().add_modifier(Modifier::REVERSED) } else { hl };
        let lines: Vec<Line> = matching[start..end]
            .iter()
            .enumerate()
            .map(|(i, x)| {
                let mut spans = Vec::new();
                if self.timestamps {
                    spans.push(Span::styled(format!("{} ", x.time.get(..19).unwrap_or(&x.time)), Style::default().fg(cfg.theme.exited)));
                }
                let text = if x.stream == "stderr" { Style::default().fg(cfg.theme.error) } else { Style::default() };
                spans.extend(
                    highlight(&x.line, &self.search.text, hl).into_iter().map(|sp| if sp.style == hl { sp } else { sp.style(text) }),
                );
                let line = Line::from(spans);
                // The match jumped to, counted from the bottom.
                if focused && current == Some(matching.len() - 1 - (start + i)) { line.style(crate::widgets::selected(cfg)) } else { line }
            })
            .collect();
        f.render_widget(Paragraph::new(lines), body);
    }
}

/// Split `text` into spans with case-insensitive matches of `needle` highlighted.
fn highlight<'a>(text: &str, needle: &str, hl: Style) -> Vec<Span<'a>> {
    if needle.is_empty() {
        return vec![Span::raw(text.to_string())];
    }
    let lower = text.to_lowercase();
    let n = needle.to_lowercase();
    // Lower-casing can change byte lengths (rare); then show the line unhighlighted.
    if lower.len() != text.len() {
        return vec![Span::raw(text.to_string())];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find(&n) {
        let a = pos + i;
        let b = a + n.len();
        if a > pos {
            out.push(Span::raw(text[pos..a].to_string()));
        }
        out.push(Span::styled(text[a..b].to_string(), hl));
        pos = b;
    }
    if pos < text.len() {
        out.push(Span::raw(text[pos..].to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlight_marks_every_match_case_insensitively() {
        let hl = Style::default().add_modifier(Modifier::REVERSED);
        let spans = highlight("Error: an error", "ERROR", hl);
        let marked: Vec<_> = spans.iter().filter(|s| s.style == hl).map(|s| s.content.to_string()).collect();
        assert_eq!(marked, ["Error", "error"]);
        assert_eq!(spans.iter().map(|s| s.content.to_string()).collect::<String>(), "Error: an error");
    }
}

//! The list panes, one file each (containers, images, volumes, networks): each owns its rows, its
//! selection and filter, its keys and its drawing (the list and the detail box beside it).
//! What they share lives here: which pane is which, moving a selection, the title line
//! naming every pane, and recording drawn rows for the mouse.
pub mod containers;
pub mod images;
pub mod networks;
pub mod volumes;

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use crate::config::{Config, KeyMap};
use crate::ctx::is;
use crate::hit::{HitMap, Target};
use crate::widgets::title_span;

pub use crate::vocab::Pane;

/// "1 Containers (5)  2 Images  3 Volumes" with the pane in view counted (and bold while
/// it has the keys), then a note and the applied filter.
pub fn title<'a>(shown: Pane, focused: bool, count: usize, note: Option<&str>, filter: &str, cfg: &Config) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, p) in Pane::ALL.iter().enumerate() {
        let t = if *p == shown { format!("{} {} ({count})", i + 1, p.title()) } else { format!("{} {}", i + 1, p.title()) };
        spans.push(title_span(t, *p == shown && focused, cfg));
    }
    if let Some(n) = note {
        spans.push(Span::raw(n.to_string()));
    }
    if !filter.is_empty() {
        spans.push(Span::raw(format!("/{filter} ")));
    }
    Line::from(spans)
}

/// First visible row, chosen so the selection is always on screen (deterministic, so
/// the rows recorded for the mouse are the rows drawn).
pub fn scroll_offset(list: Rect, selected: usize) -> usize {
    let rows = list.height.saturating_sub(3).max(1) as usize; // borders + header
    selected.saturating_sub(rows - 1)
}

/// Record the rows of a bordered table with a header line: row `i` on screen is item
/// `offset + i` of `len`.
pub fn record_rows(hits: &mut HitMap, pane: Pane, list: Rect, offset: usize, len: usize) {
    let rows = list.height.saturating_sub(3) as usize;
    for i in 0..rows.min(len.saturating_sub(offset)) {
        let r = Rect { x: list.x + 1, y: list.y + 2 + i as u16, width: list.width.saturating_sub(2), height: 1 };
        hits.push(r, Target::Row(pane, offset + i));
    }
}

/// Move a selection within `len` rows (clamped; 0 when empty).
pub fn step(selected: &mut usize, len: usize, delta: isize) {
    *selected = if len == 0 { 0 } else { (*selected as isize + delta).clamp(0, len as isize - 1) as usize };
}

/// The keys every list moves with; None when `k` is not one of them.
pub fn nav(k: &KeyEvent, keys: &KeyMap, selected: &mut usize, len: usize) -> Option<bool> {
    let delta = if is(&keys.down, k) {
        1
    } else if is(&keys.up, k) {
        -1
    } else if is(&keys.page_down, k) {
        10
    } else if is(&keys.page_up, k) {
        -10
    } else if is(&keys.top, k) {
        *selected = 0;
        return Some(true);
    } else if is(&keys.bottom, k) {
        *selected = len.saturating_sub(1);
        return Some(true);
    } else {
        return None;
    };
    step(selected, len, delta);
    Some(true)
}

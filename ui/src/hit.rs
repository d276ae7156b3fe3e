//! Where things were drawn, recorded by the draw itself, so a click or a wheel turn is
//! looked up here instead of input code recomputing the layout (and drifting from it).
//! Filled fresh on every frame; the last target drawn at a point wins (a terminal pane
//! over the detail area, for instance).
use ratatui::layout::{Position, Rect};

use crate::vocab::{Pane, SortKey};

/// What a click can land on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A list row: the pane and the row's index in its visible list.
    Row(Pane, usize),
    /// A container column header that sorts.
    SortBy(SortKey),
    /// The selected container's detail tabs (the wheel scrolls them, a click focuses them).
    Detail,
    /// The terminal pane.
    Terminal,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HitMap {
    targets: Vec<(Rect, Target)>,
    /// Where a terminal pane goes at this screen size (the detail area, or the whole body
    /// when maximised or when there is no detail area): a session opens at this size.
    pub terminal: Option<Rect>,
    /// Rows the logs tab shows lines in (a search jump keeps its match within them).
    pub log_rows: u16,
}

impl HitMap {
    pub fn push(&mut self, area: Rect, target: Target) {
        if area.width > 0 && area.height > 0 {
            self.targets.push((area, target));
        }
    }

    /// The target drawn last at a cell.
    pub fn at(&self, x: u16, y: u16) -> Option<&Target> {
        self.targets.iter().rev().find(|(r, _)| r.contains(Position { x, y })).map(|(_, t)| t)
    }
}

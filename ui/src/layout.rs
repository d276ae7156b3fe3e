//! The screen's regions at a given size: header, list, optional detail, footer, and where
//! a terminal pane goes. The draw and the event loop (which sizes sessions and decides
//! whether the detail's task runs) read it; input reads what the draw recorded instead.
use ratatui::layout::{Constraint, Layout, Rect};

/// Below this width the detail pane goes under the list instead of beside it.
const WIDE: u16 = 120;
/// Below this height (and width) only the list shows.
const SHORT: u16 = 16;

pub struct Areas {
    pub header: Rect,
    pub list: Rect,
    pub detail: Option<Rect>,
    pub footer: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let [header, body, footer] = Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    if area.width >= WIDE {
        let [list, detail] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        Areas { header, list, detail: Some(detail), footer }
    } else if area.height >= SHORT {
        let [list, detail] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
        Areas { header, list, detail: Some(detail), footer }
    } else {
        Areas { header, list: body, detail: None, footer }
    }
}

/// Everything between the header and the footer (a maximised terminal pane).
fn body_area(screen: Rect) -> Rect {
    let a = areas(screen);
    Rect {
        x: screen.x,
        y: a.header.y + a.header.height,
        width: screen.width,
        height: a.footer.y.saturating_sub(a.header.y + a.header.height),
    }
}

/// Where the terminal pane goes: the detail area, or the whole body when maximised (or
/// when the screen is too small for a detail area).
pub fn terminal_area(screen: Rect, maximized: bool) -> Rect {
    match areas(screen).detail {
        Some(d) if !maximized => d,
        _ => body_area(screen),
    }
}

//! Drawing pieces every pane uses: the theme's styles, a pane's bordered block, relative
//! ages, short IDs, and a centred rectangle for dialogs. Pure functions, no state.
use berth_engine::human::human_duration;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};

use crate::config::{Config, Key};

pub fn accent(cfg: &Config) -> Style {
    Style::default().fg(cfg.theme.accent).add_modifier(Modifier::BOLD)
}

pub fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// The selected row of a list.
pub fn selected(cfg: &Config) -> Style {
    Style::default().bg(cfg.theme.selected_bg).add_modifier(Modifier::BOLD)
}

/// A pane's border: thick and in the accent colour when it has the keys.
pub fn pane_block<'a>(title: impl Into<Line<'a>>, focused: bool, cfg: &Config) -> Block<'a> {
    let style = if focused { Style::default().fg(cfg.theme.accent) } else { Style::default().fg(cfg.theme.border) };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(style)
        .title(title)
}

pub fn title_span<'a>(t: String, focused: bool, cfg: &Config) -> Span<'a> {
    Span::styled(format!(" {t} "), if focused { accent(cfg) } else { Style::default() })
}

/// "3 minutes ago" (N/A for an unknown time).
pub fn ago(now: i64, t: i64) -> String {
    if t <= 0 { "N/A".into() } else { format!("{} ago", human_duration(now - t)) }
}

/// 12 hex digits of an ID, without its endpoint.
pub fn short_id(id: &str) -> String {
    berth_engine::multi::split(id).1.trim_start_matches("sha256:").chars().take(12).collect()
}

pub fn state_color(state: &str, cfg: &Config) -> Color {
    match state {
        "running" => cfg.theme.running,
        "paused" | "restarting" => cfg.theme.paused,
        "dead" => cfg.theme.error,
        _ => cfg.theme.exited,
    }
}

/// The first key of an action, as the footer and hints show it.
pub fn key_label(keys: &[Key]) -> String {
    keys.first().map(|k| k.label()).unwrap_or_default()
}

/// A rectangle of at most `w`×`h` centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

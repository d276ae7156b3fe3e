//! `?`: every key of the keymap, in keymap order, in two columns when one does not fit
//! the screen's height but two fit its width.
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};

use crate::config::Config;
use crate::ctx::Ctx;
use crate::widgets::accent;

/// Help rows from the keymap: (keys, action), every action in keymap order.
pub fn rows(cfg: &Config) -> Vec<(String, String)> {
    cfg.keys
        .entries()
        .into_iter()
        .map(|(action, keys)| (keys.iter().map(|k| k.label()).collect::<Vec<_>>().join(" "), action.replace('_', " ")))
        .collect()
}

pub fn content(ctx: &Ctx, area: Rect) -> (String, Text<'static>, Style) {
    let cfg = &ctx.cfg;
    let rows = rows(cfg);
    let w = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 2;
    let lines: Vec<Line> =
        rows.into_iter().map(|(k, a)| Line::from(vec![Span::styled(format!("{k:<w$}"), accent(cfg)), Span::raw(a)])).collect();
    let col = lines.iter().map(|l| l.width()).max().unwrap_or(0) + 3;
    let mut text = if lines.len() + 4 > area.height as usize && 2 * col + 4 <= area.width as usize {
        let half = lines.len().div_ceil(2);
        let (a, b) = lines.split_at(half);
        Text::from(
            a.iter()
                .enumerate()
                .map(|(i, l)| {
                    let mut spans = l.spans.clone();
                    spans.push(Span::raw(" ".repeat(col - l.width())));
                    if let Some(r) = b.get(i) {
                        spans.extend(r.spans.clone());
                    }
                    Line::from(spans)
                })
                .collect::<Vec<_>>(),
        )
    } else {
        Text::from(lines)
    };
    text.lines.push(Line::from(vec![Span::styled("mouse  ", accent(cfg)), Span::raw("click selects, header click sorts, wheel scrolls")]));
    ("Keys".into(), text, Style::default())
}

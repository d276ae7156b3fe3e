//! Drawing. `draw` is a pure function of the state and theme: no I/O, no awaits, so the
//! same state always renders the same screen (which the snapshot tests rely on).
use berth_engine::human::{human_duration, human_size};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};

use crate::config::Config;
use crate::state::{AppState, Modal, Pane};

/// Below this width the detail pane goes under the list instead of beside it.
const WIDE: u16 = 120;
/// Below this height (and width) only the list shows.
const SHORT: u16 = 16;

/// Screen regions: header, list, optional detail, footer.
struct Areas {
    header: Rect,
    list: Rect,
    detail: Option<Rect>,
    footer: Rect,
}

fn areas(area: Rect) -> Areas {
    let [header, body, footer] = Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(1)]).areas(area);
    if area.width >= WIDE {
        let [list, detail] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        Areas { header, list, detail: Some(detail), footer }
    } else if area.height >= SHORT {
        let [list, detail] = Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
        Areas { header, list, detail: Some(detail), footer }
    } else {
        Areas { header, list: body, detail: None, footer }
    }
}

/// Where the list is drawn on a screen of this size (for mouse hits).
pub fn list_area(screen: Rect) -> Rect {
    areas(screen).list
}

/// First visible row, chosen so the selection is always on screen (deterministic, so
/// mouse clicks map to the same rows the render shows).
fn scroll_offset(list: Rect, selected: usize) -> usize {
    let rows = list.height.saturating_sub(3).max(1) as usize; // borders + header
    selected.saturating_sub(rows - 1)
}

/// The list row under a click, if any.
pub fn row_at(list: Rect, s: &AppState, x: u16, y: u16) -> Option<usize> {
    if x <= list.x || x >= list.x + list.width.saturating_sub(1) || y < list.y + 2 || y >= list.y + list.height.saturating_sub(1) {
        return None;
    }
    let idx = scroll_offset(list, s.selected) + (y - list.y - 2) as usize;
    (idx < s.visible_images().len()).then_some(idx)
}

pub fn draw(f: &mut Frame, s: &AppState, cfg: &Config) {
    let a = areas(f.area());
    draw_header(f, a.header, s, cfg);
    draw_images(f, a.list, s, cfg);
    if let Some(d) = a.detail {
        draw_image_detail(f, d, s, cfg);
    }
    draw_footer(f, a.footer, s, cfg);
    let area = f.area();
    if let Some(m) = &s.modal {
        draw_modal(f, area, m, cfg);
    }
}

fn accent(cfg: &Config) -> Style {
    Style::default().fg(cfg.theme.accent).add_modifier(Modifier::BOLD)
}

fn draw_header(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let dangling = s.images.iter().filter(|i| i.repo_tags.is_empty()).count();
    let total: u64 = s.images.iter().map(|i| i.size).sum();
    let line = Line::from(vec![
        Span::styled(" berth ", accent(cfg).add_modifier(Modifier::REVERSED)),
        Span::raw(" "),
        Span::raw(s.backend.clone()),
        Span::raw("  │  "),
        Span::raw(format!("images {} ({} dangling, {})", s.images.len(), dangling, human_size(total))),
    ]);
    f.render_widget(Paragraph::new(line), area);
}

fn pane_block<'a>(title: &'a str, focused: bool, cfg: &Config) -> Block<'a> {
    let style = if focused { Style::default().fg(cfg.theme.accent) } else { Style::default().fg(cfg.theme.border) };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused { BorderType::Thick } else { BorderType::Plain })
        .border_style(style)
        .title(Span::styled(format!(" {title} "), if focused { accent(cfg) } else { Style::default() }))
}

fn ago(now: i64, t: i64) -> String {
    if t <= 0 { "N/A".into() } else { format!("{} ago", human_duration(now - t)) }
}

fn short_id(id: &str) -> String {
    id.trim_start_matches("sha256:").chars().take(12).collect()
}

fn draw_images(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let vis = s.visible_images();
    let title = if s.filter.is_empty() {
        format!("{} ({})", Pane::Images.title(), vis.len())
    } else {
        format!("{} ({}) /{}", Pane::Images.title(), vis.len(), s.filter)
    };
    let block = pane_block(&title, s.focus == Pane::Images, cfg);
    if !s.images_loaded {
        f.render_widget(Paragraph::new("loading…").block(block), area);
        return;
    }
    if vis.is_empty() {
        let msg = if s.images.is_empty() {
            "No images. Pull one with `berth pull IMAGE` or load one with `berth load`."
        } else {
            "No image matches the filter."
        };
        f.render_widget(Paragraph::new(msg).wrap(Wrap { trim: true }).block(block), area);
        return;
    }
    // Narrow lists keep the name and size; the rest appears as width allows.
    let full = area.width >= 64;
    let titles: &[&str] = if full { &["REPOSITORY:TAG", "IMAGE ID", "CREATED", "SIZE", "USED"] } else { &["REPOSITORY:TAG", "SIZE"] };
    let header = Row::new(titles.iter().map(|h| Cell::from(*h).style(Style::default().add_modifier(Modifier::BOLD))));
    let rows = vis.iter().map(|i| {
        let name = i.repo_tags.first().cloned().unwrap_or_else(|| "<none>:<none>".into());
        let extra = if i.repo_tags.len() > 1 { format!(" +{}", i.repo_tags.len() - 1) } else { String::new() };
        let used = if i.containers < 0 { "?".to_string() } else { i.containers.to_string() };
        let style = if i.repo_tags.is_empty() { Style::default().fg(cfg.theme.exited) } else { Style::default() };
        let cells = if full {
            vec![
                Cell::from(format!("{name}{extra}")),
                Cell::from(short_id(&i.id)),
                Cell::from(ago(s.now, i.created)),
                Cell::from(human_size(i.size)),
                Cell::from(used),
            ]
        } else {
            vec![Cell::from(format!("{name}{extra}")), Cell::from(human_size(i.size))]
        };
        Row::new(cells).style(style)
    });
    let widths: Vec<Constraint> = if full {
        vec![Constraint::Fill(1), Constraint::Length(12), Constraint::Length(15), Constraint::Length(8), Constraint::Length(4)]
    } else {
        vec![Constraint::Fill(1), Constraint::Length(8)]
    };
    let table = Table::new(rows, widths)
        .header(header)
        .block(block)
        .row_highlight_style(Style::default().bg(cfg.theme.selected_bg).add_modifier(Modifier::BOLD))
        .highlight_symbol("▶ ");
    let mut ts = TableState::default().with_offset(scroll_offset(area, s.selected)).with_selected(Some(s.selected));
    f.render_stateful_widget(table, area, &mut ts);
}

fn draw_image_detail(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let block = pane_block("Details", false, cfg);
    let Some(i) = s.selected_image() else {
        f.render_widget(Paragraph::new("").block(block), area);
        return;
    };
    let key = |k: &str| Span::styled(format!("{k:<9}"), Style::default().fg(cfg.theme.accent));
    let mut lines = vec![
        Line::from(vec![key("ID"), Span::raw(i.id.clone())]),
        Line::from(vec![key("Created"), Span::raw(ago(s.now, i.created))]),
        Line::from(vec![key("Size"), Span::raw(human_size(i.size))]),
        Line::from(vec![
            key("Used by"),
            Span::raw(if i.containers < 0 { "unknown".into() } else { format!("{} container(s)", i.containers) }),
        ]),
        Line::from(key("Tags")),
    ];
    if i.repo_tags.is_empty() {
        lines.push(Line::from("  <none>"));
    }
    lines.extend(i.repo_tags.iter().map(|t| Line::from(format!("  {t}"))));
    if !i.repo_digests.is_empty() {
        lines.push(Line::from(key("Digests")));
        lines.extend(i.repo_digests.iter().map(|t| Line::from(format!("  {t}"))));
    }
    f.render_widget(Paragraph::new(Text::from(lines)).wrap(Wrap { trim: false }).block(block), area);
}

fn key_label(keys: &[crate::config::Key]) -> String {
    keys.first().map(|k| k.label()).unwrap_or_default()
}

fn draw_footer(f: &mut Frame, area: Rect, s: &AppState, cfg: &Config) {
    let k = &cfg.keys;
    let line = if s.filtering {
        Line::from(vec![Span::styled(" filter: ", accent(cfg)), Span::raw(s.filter.clone()), Span::raw("▏  enter apply · esc clear")])
    } else {
        let hint = |key: String, what: &str| vec![Span::styled(format!(" {key}"), accent(cfg)), Span::raw(format!(" {what} "))];
        let mut spans = Vec::new();
        spans.extend(hint(key_label(&k.quit), "quit"));
        spans.extend(hint(key_label(&k.help), "help"));
        spans.extend(hint(key_label(&k.filter), "filter"));
        spans.extend(hint(key_label(&k.remove), "remove"));
        spans.extend(hint("p".into(), "prune"));
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}

/// A rectangle of at most `w`×`h` centred in `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

fn draw_modal(f: &mut Frame, area: Rect, m: &Modal, cfg: &Config) {
    let (title, body, style): (&str, Text, Style) = match m {
        Modal::Help => {
            let mut rows: Vec<(String, String)> = cfg
                .keys
                .entries()
                .into_iter()
                .map(|(action, keys)| (keys.iter().map(|k| k.label()).collect::<Vec<_>>().join(" "), action.replace('_', " ")))
                .collect();
            rows.push(("p".into(), "prune dangling images".into()));
            rows.push(("pgup pgdn".into(), "page up / down".into()));
            rows.push(("mouse".into(), "click selects, wheel scrolls".into()));
            let w = rows.iter().map(|(k, _)| k.chars().count()).max().unwrap_or(0) + 2;
            let lines: Vec<Line> =
                rows.into_iter().map(|(k, a)| Line::from(vec![Span::styled(format!("{k:<w$}"), accent(cfg)), Span::raw(a)])).collect();
            ("Keys", Text::from(lines), Style::default())
        }
        Modal::ConfirmRemove { label, .. } => ("Remove image", Text::from(format!("Remove {label}?\n\n y yes   n no")), Style::default()),
        Modal::Error(e) => ("Error", Text::from(format!("{e}\n\n esc dismiss")), Style::default().fg(cfg.theme.error)),
        Modal::Info(t) => ("Done", Text::from(format!("{t}\n\n esc dismiss")), Style::default()),
    };
    let h = body.height() as u16 + 2;
    let w = body.width().max(title.len() + 4) as u16 + 4;
    let r = centered(area, w.max(30), h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(style)
        .title(Span::styled(format!(" {title} "), accent(cfg)));
    f.render_widget(Paragraph::new(body).style(style).wrap(Wrap { trim: false }).block(block), r);
}

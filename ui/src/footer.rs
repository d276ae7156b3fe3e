//! The bottom line: the text being typed into a filter or search, else the keys that
//! work where the focus is (each pane says which of its keys to show).
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::config::Key;
use crate::ctx::Ctx;
use crate::widgets::{accent, key_label};

/// What the footer shows.
pub enum Footer<'a> {
    /// An input has the keys: its name ("filter", "search") and its text.
    Typing(&'static str, &'a str),
    /// The hints of the focused pane (after quit, help and, with several endpoints, ctx).
    Hints(Vec<(&'a [Key], &'static str)>),
    /// Hints alone: the dashboard's keys do not work here (a focused terminal pane).
    Only(Vec<(&'a [Key], &'static str)>),
}

pub fn draw(f: &mut Frame, area: Rect, ctx: &Ctx, footer: Footer) {
    let cfg = &ctx.cfg;
    let line = match footer {
        Footer::Typing(what, text) => Line::from(vec![
            Span::styled(format!(" {what}: "), accent(cfg)),
            Span::raw(text.to_string()),
            Span::raw("▏  enter apply · esc clear"),
        ]),
        Footer::Hints(_) | Footer::Only(_) => {
            let k = &cfg.keys;
            let all: Vec<(&[Key], &str)> = match footer {
                Footer::Hints(pane) => {
                    let mut all: Vec<(&[Key], &str)> = vec![(&k.quit, "quit"), (&k.help, "help")];
                    if ctx.multi() {
                        all.push((&k.command, "ctx"));
                    }
                    all.extend(pane);
                    all
                }
                Footer::Only(v) => v,
                Footer::Typing(..) => unreachable!(),
            };
            let spans = all
                .into_iter()
                .flat_map(|(key, what)| [Span::styled(format!(" {}", key_label(key)), accent(cfg)), Span::raw(format!(" {what} "))]);
            Line::from(spans.collect::<Vec<_>>())
        }
    };
    f.render_widget(Paragraph::new(line), area);
}

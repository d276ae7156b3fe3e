//! An image's history (`H` in the images pane): one row per layer, newest first.
use berth_engine::api::HistoryItem;
use berth_engine::human::human_size;
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};

use crate::ctx::Ctx;
use crate::widgets::{ago, bold, short_id};

#[derive(Clone, Debug, PartialEq)]
pub struct History {
    pub image: String,
    pub items: Vec<HistoryItem>,
}

impl History {
    pub fn content(&self, ctx: &Ctx) -> (String, Text<'static>, Style) {
        let mut lines = vec![Line::from(Span::styled(format!("{:<14}{:<16}{:>9}  CREATED BY", "IMAGE", "CREATED", "SIZE"), bold()))];
        for it in &self.items {
            let by: String = it.created_by.chars().take(60).collect();
            lines.push(Line::from(format!("{:<14}{:<16}{:>9}  {by}", short_id(&it.id), ago(ctx.now, it.created), human_size(it.size))));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(" esc close"));
        (format!("History of {}", self.image), Text::from(lines), Style::default())
    }
}

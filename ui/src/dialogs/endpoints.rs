//! The endpoint switcher (`:ctx`): "all", then each endpoint with its address and
//! state; the one in view marked `*`, the cursor reversed, unreachable ones in the error
//! colour with why. Enter shows the pick.
use berth_engine::multi::EndpointState;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span, Text};

use crate::ctx::{Ctx, is};
use crate::dialogs::Reply;
use crate::message::Action;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// 0 is "all", then each endpoint.
    pub cursor: usize,
}

impl Endpoints {
    /// The switcher with the cursor on the endpoint in view.
    pub fn new(ctx: &Ctx) -> Self {
        let cursor = match &ctx.endpoint {
            Some(e) => ctx.endpoints.iter().position(|x| &x.name == e).map(|i| i + 1).unwrap_or(0),
            None => 0,
        };
        Endpoints { cursor }
    }

    pub fn on_key(&mut self, k: &KeyEvent, ctx: &Ctx) -> Reply {
        let keys = &ctx.cfg.keys;
        let rows = ctx.endpoints.len() + 1;
        if is(&keys.down, k) {
            self.cursor = (self.cursor + 1) % rows;
        } else if is(&keys.up, k) {
            self.cursor = (self.cursor + rows - 1) % rows;
        } else if k.code == KeyCode::Enter {
            let pick = if self.cursor == 0 { None } else { ctx.endpoints.get(self.cursor - 1).map(|e| e.name.clone()) };
            return Reply::Done(Action::SetEndpoint(pick));
        } else if k.code == KeyCode::Esc || is(&keys.quit, k) {
            return Reply::Close;
        } else {
            return Reply::Ignored;
        }
        Reply::Changed
    }

    pub fn content(&self, ctx: &Ctx) -> (String, Text<'static>, Style) {
        let cfg = &ctx.cfg;
        let w = ctx.endpoints.iter().map(|e| e.name.chars().count()).max().unwrap_or(3).max(3);
        let aw = ctx.endpoints.iter().map(|e| e.address.chars().count()).max().unwrap_or(0);
        let mut rows =
            vec![(format!("{} {:<w$}  every endpoint", if ctx.endpoint.is_none() { "*" } else { " " }, "all"), Style::default())];
        for e in &ctx.endpoints {
            let (state, style) = match &e.state {
                EndpointState::Up => ("up".to_string(), Style::default().fg(cfg.theme.running)),
                EndpointState::Connecting => ("connecting…".to_string(), Style::default().fg(cfg.theme.paused)),
                EndpointState::Down(why) => (format!("✗ unreachable: {why}"), Style::default().fg(cfg.theme.error)),
            };
            let mark = if ctx.endpoint.as_deref() == Some(e.name.as_str()) { "*" } else { " " };
            rows.push((format!("{mark} {:<w$}  {:<aw$}  {state}", e.name, e.address), style));
        }
        let mut lines: Vec<Line> = rows
            .into_iter()
            .enumerate()
            .map(|(i, (t, st))| Line::from(Span::styled(t, if i == self.cursor { st.add_modifier(Modifier::REVERSED) } else { st })))
            .collect();
        lines.push(Line::from(""));
        lines.push(Line::from(" enter show · esc close"));
        ("Endpoints".into(), Text::from(lines), Style::default())
    }
}

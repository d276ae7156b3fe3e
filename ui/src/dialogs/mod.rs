//! Dialogs over the dashboard, one file each: help, confirmations, one-line prompts
//! (rename, the `:` command), commit, run, pull, an image's history, the endpoint
//! switcher, and error/report notices. A dialog is modal: it gets every key while open
//! and answers with a [`Reply`] the router acts on. This module frames them all alike.
pub mod commit;
pub mod confirm;
pub mod endpoints;
pub mod help;
pub mod history;
pub mod notice;
pub mod prompt;
pub mod pull;
pub mod run;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Span, Text};
use ratatui::widgets::{Block, BorderType, Borders, Clear, Paragraph, Wrap};

use crate::ctx::{Ctx, is};
use crate::message::Action;
use crate::widgets::{accent, centered};

#[derive(Clone, Debug, PartialEq)]
pub enum Dialog {
    Help,
    Confirm(confirm::Confirm),
    Prompt(prompt::Prompt),
    Commit(commit::Commit),
    Run(run::RunForm),
    Pull(pull::Pull),
    History(history::History),
    Notice(notice::Notice),
    Endpoints(endpoints::Endpoints),
}

/// What a key did to a dialog.
#[derive(Debug, PartialEq)]
pub enum Reply {
    /// Not one of the dialog's keys (it stays; nothing behind it sees the key).
    Ignored,
    /// The dialog changed and stays.
    Changed,
    /// Closed, nothing to do.
    Close,
    /// Closed; start this work.
    Done(Action),
    /// Replaced by another dialog (a pull's progress, an error), maybe starting work.
    Then(Box<Dialog>, Option<Action>),
    /// Closed; the router runs this `:` command line.
    Command(String),
}

impl Dialog {
    pub fn on_key(&mut self, k: &KeyEvent, ctx: &Ctx) -> Reply {
        let keys = &ctx.cfg.keys;
        match self {
            Dialog::Confirm(c) => c.on_key(k),
            Dialog::Prompt(p) => p.on_key(k),
            Dialog::Commit(c) => c.on_key(k),
            Dialog::Run(r) => r.on_key(k),
            Dialog::Pull(p) => p.on_key(k, keys),
            Dialog::Endpoints(e) => e.on_key(k, ctx),
            Dialog::Help | Dialog::History(_) | Dialog::Notice(_) => {
                if dismiss(k, keys) || is(&keys.help, k) {
                    Reply::Close
                } else {
                    Reply::Ignored
                }
            }
        }
    }

    pub fn draw(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let (title, body, style) = match self {
            Dialog::Help => help::content(ctx, area),
            Dialog::Confirm(c) => c.content(),
            Dialog::Prompt(p) => p.content(ctx),
            Dialog::Commit(c) => c.content(ctx),
            Dialog::Run(r) => r.content(ctx),
            Dialog::Pull(p) => p.content(ctx),
            Dialog::History(h) => h.content(ctx),
            Dialog::Notice(n) => n.content(ctx),
            Dialog::Endpoints(e) => e.content(ctx),
        };
        frame(f, area, &title, body, style, ctx);
    }
}

/// Esc, enter and quit close a dialog that only shows something.
pub fn dismiss(k: &KeyEvent, keys: &crate::config::KeyMap) -> bool {
    use crossterm::event::KeyCode;
    k.code == KeyCode::Esc || k.code == KeyCode::Enter || is(&keys.quit, k)
}

/// A rounded box sized to its text, centred, over whatever is behind it.
fn frame(f: &mut Frame, area: Rect, title: &str, body: Text<'static>, style: Style, ctx: &Ctx) {
    let h = body.height() as u16 + 2;
    let w = body.width().max(title.len() + 4) as u16 + 4;
    let r = centered(area, w.max(30), h);
    f.render_widget(Clear, r);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Rounded)
        .border_style(style)
        .title(Span::styled(format!(" {title} "), accent(&ctx.cfg)));
    f.render_widget(Paragraph::new(body).style(style).wrap(Wrap { trim: false }).block(block), r);
}

macro_rules! from_variant {
    ($($t:ty => $v:ident),* $(,)?) => {
        $(impl From<$t> for Dialog {
            fn from(d: $t) -> Dialog {
                Dialog::$v(d)
            }
        })*
    };
}

from_variant!(
    confirm::Confirm => Confirm,
    prompt::Prompt => Prompt,
    commit::Commit => Commit,
    run::RunForm => Run,
    pull::Pull => Pull,
    history::History => History,
    notice::Notice => Notice,
    endpoints::Endpoints => Endpoints,
);

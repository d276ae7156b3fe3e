//! The run dialog: image, name, command, env (space separated K=V) and an interactive
//! toggle, turned into a `ContainerCreate` on enter (a bad entry is an error, never a
//! half-made container).
use berth_engine::api::ContainerCreate;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};

use crate::ctx::Ctx;
use crate::dialogs::Reply;
use crate::dialogs::notice::Notice;
use crate::message::Action;
use crate::text_field::TextField;
use crate::widgets::accent;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunForm {
    pub fields: [TextField; 4],
    pub interactive: bool,
    /// 0..=3 a field, 4 the interactive toggle.
    pub focus: usize,
}

impl RunForm {
    pub fn new(image: &str) -> Self {
        RunForm {
            fields: [
                TextField::new("Image", image),
                TextField::new("Name", ""),
                TextField::new("Command", ""),
                TextField::new("Env (K=V …)", ""),
            ],
            interactive: false,
            focus: if image.is_empty() { 0 } else { 1 },
        }
    }

    pub fn on_key(&mut self, k: &KeyEvent) -> Reply {
        match k.code {
            KeyCode::Esc => Reply::Close,
            KeyCode::Tab | KeyCode::Down => {
                self.focus = (self.focus + 1) % 5;
                Reply::Changed
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = (self.focus + 4) % 5;
                Reply::Changed
            }
            KeyCode::Enter => match self.spec() {
                Ok(spec) => Reply::Done(Action::Run(Box::new(spec))),
                Err(e) => Reply::Then(Box::new(Notice::error(e).into()), None),
            },
            KeyCode::Char(' ') if self.focus == 4 => {
                self.interactive = !self.interactive;
                Reply::Changed
            }
            _ if self.focus < 4 && self.fields[self.focus].edit(k) => Reply::Changed,
            _ => Reply::Ignored,
        }
    }

    fn spec(&self) -> Result<ContainerCreate, String> {
        let image = self.fields[0].text.trim();
        if image.is_empty() {
            return Err("an image is required".into());
        }
        let env = split_words(&self.fields[3].text);
        if let Some(bad) = env.iter().find(|e| !e.contains('=') || e.starts_with('=')) {
            return Err(format!("env entries are KEY=VALUE, not {bad:?}"));
        }
        let name = self.fields[1].text.trim();
        Ok(ContainerCreate {
            image: image.to_string(),
            name: (!name.is_empty()).then(|| name.to_string()),
            cmd: split_words(&self.fields[2].text),
            env,
            tty: self.interactive,
            open_stdin: self.interactive,
            ..ContainerCreate::default()
        })
    }

    pub fn content(&self, ctx: &Ctx) -> (String, Text<'static>, Style) {
        let cfg = &ctx.cfg;
        let mut lines: Vec<Line> = self.fields.iter().enumerate().map(|(i, f)| f.line(self.focus == i, cfg)).collect();
        let toggle = format!("[{}] interactive (tty + stdin)", if self.interactive { "x" } else { " " });
        lines.push(Line::from(Span::styled(toggle, if self.focus == 4 { accent(cfg) } else { Style::default() })));
        lines.push(Line::from(""));
        lines.push(Line::from(" tab next field · space toggles · enter run · esc cancel"));
        ("Run a container".into(), Text::from(lines), Style::default())
    }
}

/// Split a command line on whitespace, honouring simple '…' and "…" quoting.
pub fn split_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn press(r: &mut RunForm, code: KeyCode) -> Reply {
        r.on_key(&KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn type_in(r: &mut RunForm, text: &str) {
        for c in text.chars() {
            press(r, KeyCode::Char(c));
        }
    }

    #[test]
    fn run_dialog_builds_the_spec() {
        let mut r = RunForm::new("");
        type_in(&mut r, "busybox");
        press(&mut r, KeyCode::Tab);
        type_in(&mut r, "web2");
        press(&mut r, KeyCode::Tab);
        type_in(&mut r, "sh -c 'sleep 100'");
        press(&mut r, KeyCode::Tab);
        type_in(&mut r, "A=1 B=two");
        press(&mut r, KeyCode::Tab);
        press(&mut r, KeyCode::Char(' '));
        let Reply::Done(Action::Run(spec)) = press(&mut r, KeyCode::Enter) else { panic!("{r:?}") };
        assert_eq!(spec.image, "busybox");
        assert_eq!(spec.name.as_deref(), Some("web2"));
        assert_eq!(spec.cmd, ["sh", "-c", "sleep 100"]);
        assert_eq!(spec.env, ["A=1", "B=two"]);
        assert!(spec.tty && spec.open_stdin);
        // A bad env entry is an error, not a container.
        let mut r = RunForm::new("");
        type_in(&mut r, "x");
        for _ in 0..3 {
            press(&mut r, KeyCode::Tab);
        }
        type_in(&mut r, "Z");
        assert!(
            matches!(press(&mut r, KeyCode::Enter), Reply::Then(d, None) if matches!(*d, crate::dialogs::Dialog::Notice(ref n) if n.error))
        );
    }

    #[test]
    fn words_split_with_quotes() {
        assert_eq!(split_words(r#"sh -c "echo hi"  ''"#), ["sh", "-c", "echo hi", ""]);
        assert!(split_words("  ").is_empty());
    }
}

//! Keys and mouse → state changes and actions. Pure: no I/O here; actions that need the
//! backend are returned to the event loop, which runs them as tasks.
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, MouseButton, MouseEventKind};
use ratatui::layout::Rect;

use crate::config::Config;
use crate::state::{AppState, Modal};
use crate::view;

/// Work for the event loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    RemoveImage(String),
    PruneImages,
    Refresh,
}

/// Handle one terminal event. Returns (redraw?, action).
pub fn handle(ev: &Event, s: &mut AppState, cfg: &Config, screen: Rect) -> (bool, Option<Action>) {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => handle_key(k, s, cfg),
        Event::Mouse(m) => {
            let list = view::list_area(screen);
            match m.kind {
                MouseEventKind::ScrollDown => {
                    s.move_selection(1);
                    (true, None)
                }
                MouseEventKind::ScrollUp => {
                    s.move_selection(-1);
                    (true, None)
                }
                MouseEventKind::Down(MouseButton::Left) if s.modal.is_none() => {
                    if let Some(row) = view::row_at(list, s, m.column, m.row) {
                        s.selected = row;
                        return (true, None);
                    }
                    (false, None)
                }
                _ => (false, None),
            }
        }
        Event::Resize(..) => (true, None),
        _ => (false, None),
    }
}

pub fn handle_key(k: &KeyEvent, s: &mut AppState, cfg: &Config) -> (bool, Option<Action>) {
    let keys = &cfg.keys;
    let is = |set: &[crate::config::Key]| set.iter().any(|x| x.matches(k));
    if let Some(m) = &s.modal {
        match m {
            Modal::ConfirmRemove { image, .. } => {
                let image = image.clone();
                match k.code {
                    KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => {
                        s.modal = None;
                        return (true, Some(Action::RemoveImage(image)));
                    }
                    KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => s.modal = None,
                    _ => return (false, None),
                }
            }
            _ => {
                if k.code == KeyCode::Esc || k.code == KeyCode::Enter || is(&keys.help) || is(&keys.quit) {
                    s.modal = None;
                } else {
                    return (false, None);
                }
            }
        }
        return (true, None);
    }
    if s.filtering {
        match k.code {
            KeyCode::Esc => {
                s.filter.clear();
                s.filtering = false;
            }
            KeyCode::Enter => s.filtering = false,
            KeyCode::Backspace => {
                s.filter.pop();
            }
            KeyCode::Char(c) if !k.modifiers.contains(crossterm::event::KeyModifiers::CONTROL) => s.filter.push(c),
            _ => return (false, None),
        }
        s.move_selection(0);
        return (true, None);
    }
    if is(&keys.quit) {
        s.quit = true;
    } else if is(&keys.help) {
        s.modal = Some(Modal::Help);
    } else if is(&keys.down) {
        s.move_selection(1);
    } else if is(&keys.up) {
        s.move_selection(-1);
    } else if is(&keys.top) {
        s.selected = 0;
    } else if is(&keys.bottom) {
        s.select_last();
    } else if k.code == KeyCode::PageDown {
        s.move_selection(10);
    } else if k.code == KeyCode::PageUp {
        s.move_selection(-10);
    } else if is(&keys.filter) {
        s.filtering = true;
    } else if is(&keys.refresh) {
        return (false, Some(Action::Refresh));
    } else if is(&keys.remove) {
        if let Some(i) = s.selected_image() {
            let label = i.repo_tags.first().cloned().unwrap_or_else(|| i.id.trim_start_matches("sha256:").chars().take(12).collect());
            // Remove by the name shown (untags one of several names, like `docker rmi name`).
            s.modal = Some(Modal::ConfirmRemove { image: label.clone(), label });
        }
    } else if k.code == KeyCode::Char('p') {
        return (false, Some(Action::PruneImages));
    } else if k.code == KeyCode::Esc && !s.filter.is_empty() {
        s.filter.clear();
    } else {
        return (false, None);
    }
    (true, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::api::ImageSummary;
    use crossterm::event::KeyModifiers;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn state() -> AppState {
        let mut s = AppState::new("local".into(), 0);
        let img = |id: &str, t: &str| ImageSummary {
            id: format!("sha256:{id}"),
            repo_tags: vec![t.into()],
            repo_digests: vec![],
            created: 0,
            size: 0,
            containers: 0,
        };
        s.update(crate::state::Message::Images(Ok(vec![img("aa", "alpine:3"), img("bb", "busybox:1")])));
        s
    }

    #[test]
    fn vim_keys_move_and_quit() {
        let cfg = Config::default_config();
        let mut s = state();
        handle_key(&key(KeyCode::Char('j')), &mut s, &cfg);
        assert_eq!(s.selected, 1);
        handle_key(&key(KeyCode::Char('k')), &mut s, &cfg);
        assert_eq!(s.selected, 0);
        handle_key(&key(KeyCode::Char('G')), &mut s, &cfg);
        assert_eq!(s.selected, 1);
        handle_key(&key(KeyCode::Char('q')), &mut s, &cfg);
        assert!(s.quit);
    }

    #[test]
    fn remove_asks_first() {
        let cfg = Config::default_config();
        let mut s = state();
        let (_, a) = handle_key(&key(KeyCode::Char('d')), &mut s, &cfg);
        assert_eq!(a, None);
        assert!(matches!(s.modal, Some(Modal::ConfirmRemove { .. })));
        let (_, a) = handle_key(&key(KeyCode::Char('n')), &mut s, &cfg);
        assert_eq!(a, None);
        assert!(s.modal.is_none());
        handle_key(&key(KeyCode::Char('d')), &mut s, &cfg);
        let (_, a) = handle_key(&key(KeyCode::Char('y')), &mut s, &cfg);
        assert_eq!(a, Some(Action::RemoveImage("alpine:3".into())));
    }

    #[test]
    fn filter_narrows_and_esc_clears() {
        let cfg = Config::default_config();
        let mut s = state();
        handle_key(&key(KeyCode::Char('/')), &mut s, &cfg);
        for c in "busy".chars() {
            handle_key(&key(KeyCode::Char(c)), &mut s, &cfg);
        }
        assert_eq!(s.visible_images().len(), 1);
        // 'q' while typing a filter is text, not quit.
        handle_key(&key(KeyCode::Char('q')), &mut s, &cfg);
        assert!(!s.quit);
        handle_key(&key(KeyCode::Esc), &mut s, &cfg);
        assert_eq!(s.visible_images().len(), 2);
    }
}

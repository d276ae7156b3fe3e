//! Keys and mouse → state changes and actions. Pure: no I/O here; actions that need the
//! backend are returned to the event loop, which runs them as tasks.
use berth_engine::api::ContainerCreate;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEventKind};
use ratatui::layout::Rect;

use crate::config::{Config, Key};
use crate::state::{AppState, ContainerOp, InputKind, Modal, Pane, PullView, RunForm, Tab, TextField, TopSort};
use crate::view;

/// Work for the event loop.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Containers(ContainerOp, Vec<String>),
    Rename {
        id: String,
        name: String,
    },
    Commit {
        id: String,
        reference: String,
    },
    Run(Box<ContainerCreate>),
    RemoveImage(String),
    PruneImages,
    RemoveVolume(String),
    PruneVolumes,
    Pull(String),
    History(String),
    Refresh,
    /// Show one endpoint (None: all); unqualified names (pull, run) go there too.
    SetEndpoint(Option<String>),
}

type Outcome = (bool, Option<Action>);

/// Handle one terminal event. Returns (redraw?, action).
pub fn handle(ev: &Event, s: &mut AppState, cfg: &Config, screen: Rect) -> Outcome {
    match ev {
        Event::Key(k) if k.kind != KeyEventKind::Release => handle_key(k, s, cfg),
        Event::Mouse(m) if s.modal.is_none() => {
            let list = view::list_area(screen);
            let in_detail = view::detail_area(screen)
                .is_some_and(|d| m.row >= d.y && m.row < d.y + d.height && m.column >= d.x && m.column < d.x + d.width);
            match m.kind {
                MouseEventKind::ScrollDown if in_detail && s.focus == Pane::Containers => (detail_scroll(s, 3), None),
                MouseEventKind::ScrollUp if in_detail && s.focus == Pane::Containers => (detail_scroll(s, -3), None),
                MouseEventKind::ScrollDown => (moved(s, 1), None),
                MouseEventKind::ScrollUp => (moved(s, -1), None),
                MouseEventKind::Down(MouseButton::Left) => {
                    if s.focus == Pane::Containers
                        && let Some(key) = view::header_at(list, s, m.column, m.row)
                    {
                        let rev = s.sort == key && !s.sort_rev;
                        s.set_sort(key, rev);
                        return (true, None);
                    }
                    if let Some(row) = view::row_at(list, s, m.column, m.row) {
                        match s.focus {
                            Pane::Containers => s.c_selected = row,
                            Pane::Images => s.selected = row,
                            Pane::Volumes => s.v_selected = row,
                        }
                        s.detail_focus = false;
                        return (true, None);
                    }
                    if in_detail && s.focus == Pane::Containers && !s.detail_focus {
                        s.detail_focus = true;
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

fn moved(s: &mut AppState, d: isize) -> bool {
    s.move_selection(d);
    true
}

fn is(set: &[Key], k: &KeyEvent) -> bool {
    set.iter().any(|x| x.matches(k))
}

/// Lines of the inspect document as currently folded.
fn inspect_len(s: &AppState) -> usize {
    match &s.inspect {
        Some((_, Ok(v))) => crate::json::lines(v, &s.folded).len(),
        _ => 0,
    }
}

/// Scroll the visible tab by `d` lines (negative: up).
fn detail_scroll(s: &mut AppState, d: isize) -> bool {
    match s.tab {
        Tab::Stats => return false,
        Tab::Top => {
            let n = match &s.top {
                Some((_, Ok(t))) => t.processes.len(),
                _ => 0,
            };
            s.top_scroll = (s.top_scroll as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
        }
        Tab::Logs => {
            let n = s.logs.lines.len();
            s.logs.scroll = (s.logs.scroll as isize - d).clamp(0, n as isize) as usize;
            s.logs.follow = s.logs.scroll == 0;
        }
        Tab::Inspect => {
            let n = inspect_len(s);
            s.inspect_cursor = (s.inspect_cursor as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
        }
        Tab::Changes => {
            let n = match &s.changes {
                Some((_, Ok(v))) => v.len(),
                _ => 0,
            };
            s.changes_scroll = (s.changes_scroll as isize + d).clamp(0, n.saturating_sub(1) as isize) as usize;
        }
    }
    true
}

fn edit_field(f: &mut TextField, k: &KeyEvent) -> bool {
    match k.code {
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => f.insert(c),
        KeyCode::Backspace => f.backspace(),
        KeyCode::Delete => f.delete(),
        KeyCode::Left => f.left(),
        KeyCode::Right => f.right(),
        KeyCode::Home => f.home(),
        KeyCode::End => f.end(),
        _ => return false,
    }
    true
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

fn run_spec(r: &RunForm) -> Result<ContainerCreate, String> {
    let image = r.fields[0].text.trim();
    if image.is_empty() {
        return Err("an image is required".into());
    }
    let env = split_words(&r.fields[3].text);
    if let Some(bad) = env.iter().find(|e| !e.contains('=') || e.starts_with('=')) {
        return Err(format!("env entries are KEY=VALUE, not {bad:?}"));
    }
    let name = r.fields[1].text.trim();
    Ok(ContainerCreate {
        image: image.to_string(),
        name: (!name.is_empty()).then(|| name.to_string()),
        cmd: split_words(&r.fields[2].text),
        env,
        tty: r.interactive,
        open_stdin: r.interactive,
        ..ContainerCreate::default()
    })
}

fn handle_modal(k: &KeyEvent, s: &mut AppState, cfg: &Config) -> Outcome {
    let keys = &cfg.keys;
    let Some(m) = s.modal.as_mut() else { return (false, None) };
    match m {
        Modal::ConfirmRemove { image, .. } => {
            let image = image.clone();
            match k.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    s.modal = None;
                    return (true, Some(Action::RemoveImage(image)));
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => s.modal = None,
                _ => return (false, None),
            }
        }
        Modal::ConfirmRemoveContainers { ids, .. } => {
            let ids = ids.clone();
            match k.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    s.modal = None;
                    s.marked.clear();
                    return (true, Some(Action::Containers(ContainerOp::Remove, ids)));
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => s.modal = None,
                _ => return (false, None),
            }
        }
        Modal::ConfirmVolumes { action, .. } => {
            let action = action.clone();
            match k.code {
                KeyCode::Char('y' | 'Y') | KeyCode::Enter => {
                    s.modal = None;
                    return (true, Some(action));
                }
                KeyCode::Char('n' | 'N') | KeyCode::Esc => s.modal = None,
                _ => return (false, None),
            }
        }
        Modal::Input { kind, field } => match k.code {
            KeyCode::Esc => s.modal = None,
            KeyCode::Enter => {
                let text = field.text.trim().to_string();
                if text.is_empty() {
                    return (false, None);
                }
                let action = match kind {
                    InputKind::Rename { id } => {
                        let a = Action::Rename { id: id.clone(), name: text };
                        s.modal = None;
                        a
                    }
                    InputKind::Commit { id, .. } => {
                        let a = Action::Commit { id: id.clone(), reference: text };
                        s.modal = None;
                        a
                    }
                    InputKind::Pull => {
                        s.modal = Some(Modal::Pull(PullView { reference: text.clone(), ..PullView::default() }));
                        Action::Pull(text)
                    }
                    InputKind::Command => {
                        s.modal = None;
                        return match s.command(&text) {
                            Ok(Some(e)) => {
                                s.set_endpoint(e.clone());
                                (true, Some(Action::SetEndpoint(e)))
                            }
                            Ok(None) => (true, None),
                            Err(e) => {
                                s.modal = Some(Modal::Error(e));
                                (true, None)
                            }
                        };
                    }
                };
                return (true, Some(action));
            }
            _ => return (edit_field(field, k), None),
        },
        Modal::Run(r) => match k.code {
            KeyCode::Esc => s.modal = None,
            KeyCode::Tab | KeyCode::Down => r.focus = (r.focus + 1) % 5,
            KeyCode::BackTab | KeyCode::Up => r.focus = (r.focus + 4) % 5,
            KeyCode::Enter => match run_spec(r) {
                Ok(spec) => {
                    s.modal = None;
                    return (true, Some(Action::Run(Box::new(spec))));
                }
                Err(e) => s.modal = Some(Modal::Error(e)),
            },
            KeyCode::Char(' ') if r.focus == 4 => r.interactive = !r.interactive,
            _ if r.focus < 4 => return (edit_field(&mut r.fields[r.focus], k), None),
            _ => return (false, None),
        },
        Modal::Endpoints { cursor } => {
            let rows = s.endpoints.len() + 1;
            if is(&keys.down, k) {
                *cursor = (*cursor + 1) % rows;
            } else if is(&keys.up, k) {
                *cursor = (*cursor + rows - 1) % rows;
            } else if k.code == KeyCode::Enter {
                let pick = if *cursor == 0 { None } else { s.endpoints.get(*cursor - 1).map(|e| e.name.clone()) };
                s.modal = None;
                s.set_endpoint(pick.clone());
                return (true, Some(Action::SetEndpoint(pick)));
            } else if k.code == KeyCode::Esc || is(&keys.quit, k) {
                s.modal = None;
            } else {
                return (false, None);
            }
        }
        Modal::Pull(_) => {
            if k.code == KeyCode::Esc || k.code == KeyCode::Enter || is(&keys.quit, k) {
                s.modal = None;
            } else {
                return (false, None);
            }
        }
        _ => {
            if k.code == KeyCode::Esc || k.code == KeyCode::Enter || is(&keys.help, k) || is(&keys.quit, k) {
                s.modal = None;
            } else {
                return (false, None);
            }
        }
    }
    (true, None)
}

fn handle_text(k: &KeyEvent, s: &mut AppState) -> Outcome {
    if s.logs.searching {
        match k.code {
            KeyCode::Esc => {
                s.logs.search.clear();
                s.logs.searching = false;
            }
            KeyCode::Enter => s.logs.searching = false,
            KeyCode::Backspace => {
                s.logs.search.pop();
            }
            KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => s.logs.search.push(c),
            _ => return (false, None),
        }
        s.logs.scroll = 0;
        s.logs.follow = true;
        return (true, None);
    }
    let focus = s.focus;
    let edit = |s: &mut AppState| match k.code {
        KeyCode::Esc => {
            s.filter_mut().clear();
            s.filtering = false;
            true
        }
        KeyCode::Enter => {
            s.filtering = false;
            true
        }
        KeyCode::Backspace => {
            s.filter_mut().pop();
            true
        }
        KeyCode::Char(c) if !k.modifiers.contains(KeyModifiers::CONTROL) => {
            s.filter_mut().push(c);
            true
        }
        _ => false,
    };
    let changed = if focus == Pane::Containers {
        let mut changed = false;
        s.with_stable_selection(|s| changed = edit(s));
        changed
    } else {
        let c = edit(s);
        s.move_selection(0);
        c
    };
    (changed, None)
}

/// Keys while the detail has focus; None when the key is not the detail's.
fn handle_detail(k: &KeyEvent, s: &mut AppState, cfg: &Config) -> Option<Outcome> {
    let keys = &cfg.keys;
    let page = 10;
    Some(if is(&keys.back, k) {
        s.detail_focus = false;
        (true, None)
    } else if is(&keys.down, k) {
        (detail_scroll(s, 1), None)
    } else if is(&keys.up, k) {
        (detail_scroll(s, -1), None)
    } else if is(&keys.page_down, k) {
        (detail_scroll(s, page), None)
    } else if is(&keys.page_up, k) {
        (detail_scroll(s, -page), None)
    } else if is(&keys.top, k) {
        (detail_scroll(s, -(isize::MAX / 2)), None)
    } else if is(&keys.bottom, k) {
        (detail_scroll(s, isize::MAX / 2), None)
    } else if s.tab == Tab::Logs && is(&keys.filter, k) {
        s.logs.searching = true;
        (true, None)
    } else if s.tab == Tab::Logs && is(&keys.timestamps, k) {
        s.logs.timestamps = !s.logs.timestamps;
        (true, None)
    } else if s.tab == Tab::Logs && is(&keys.follow, k) {
        s.logs.follow = !s.logs.follow;
        if s.logs.follow {
            s.logs.scroll = 0;
        }
        (true, None)
    } else if s.tab == Tab::Top && (is(&keys.sort_next, k) || is(&keys.sort_reverse, k)) {
        s.top_sort = if s.top_sort == TopSort::Cpu { TopSort::Mem } else { TopSort::Cpu };
        (true, None)
    } else if s.tab == Tab::Inspect && is(&keys.detail, k) {
        let Some((_, Ok(v))) = &s.inspect else { return Some((false, None)) };
        let lines = crate::json::lines(v, &s.folded);
        let Some(ptr) = lines.get(s.inspect_cursor.min(lines.len().saturating_sub(1))).and_then(|l| l.fold.clone()) else {
            return Some((false, None));
        };
        if !s.folded.remove(&ptr) {
            s.folded.insert(ptr);
        }
        (true, None)
    } else {
        return None;
    })
}

pub fn handle_key(k: &KeyEvent, s: &mut AppState, cfg: &Config) -> Outcome {
    let keys = &cfg.keys;
    if s.modal.is_some() {
        return handle_modal(k, s, cfg);
    }
    if s.filtering || s.logs.searching {
        return handle_text(k, s);
    }
    // Keys that work everywhere.
    if is(&keys.quit, k) {
        s.quit = true;
        return (true, None);
    } else if is(&keys.help, k) {
        s.modal = Some(Modal::Help);
        return (true, None);
    } else if is(&keys.command, k) {
        s.modal = Some(Modal::Input { kind: InputKind::Command, field: TextField::new(":", "") });
        return (true, None);
    } else if is(&keys.refresh, k) {
        return (false, Some(Action::Refresh));
    } else if is(&keys.next_tab, k) || is(&keys.prev_tab, k) {
        if s.focus != Pane::Containers {
            return (false, None);
        }
        s.tab = s.tab.step(if is(&keys.next_tab, k) { 1 } else { -1 });
        return (true, None);
    } else if is(&keys.chart_window, k) && s.focus == Pane::Containers && s.tab == Tab::Stats {
        s.chart_window = s.chart_window.next();
        return (true, None);
    }
    if s.detail_focus
        && s.focus == Pane::Containers
        && let Some(o) = handle_detail(k, s, cfg)
    {
        return o;
    }
    let switch = |s: &mut AppState, p: Pane| {
        s.focus = p;
        s.detail_focus = false;
        s.filtering = false;
    };
    if is(&keys.next_pane, k) || is(&keys.prev_pane, k) {
        let p = s.focus.cycle(is(&keys.prev_pane, k));
        switch(s, p);
    } else if is(&keys.containers_pane, k) {
        switch(s, Pane::Containers);
    } else if is(&keys.images_pane, k) {
        switch(s, Pane::Images);
    } else if is(&keys.volumes_pane, k) {
        switch(s, Pane::Volumes);
    } else if is(&keys.down, k) {
        s.move_selection(1);
    } else if is(&keys.up, k) {
        s.move_selection(-1);
    } else if is(&keys.top, k) {
        s.select_first();
    } else if is(&keys.bottom, k) {
        s.select_last();
    } else if is(&keys.page_down, k) {
        s.move_selection(10);
    } else if is(&keys.page_up, k) {
        s.move_selection(-10);
    } else if is(&keys.filter, k) {
        s.filtering = true;
    } else if is(&keys.run, k) {
        let image = if s.focus == Pane::Images {
            s.selected_image().and_then(|i| i.repo_tags.first().map(|t| berth_engine::multi::requalify(&i.id, t))).unwrap_or_default()
        } else {
            String::new()
        };
        s.modal = Some(Modal::Run(RunForm::new(&image)));
    } else if is(&keys.pull, k) {
        s.modal = Some(Modal::Input { kind: InputKind::Pull, field: TextField::new("Image", "") });
    } else if is(&keys.back, k) && !s.filter_text().is_empty() {
        match s.focus {
            Pane::Containers => s.with_stable_selection(|s| s.c_filter.clear()),
            Pane::Images => s.filter.clear(),
            Pane::Volumes => s.v_filter.clear(),
        }
    } else {
        return match s.focus {
            Pane::Containers => container_key(k, s, cfg),
            Pane::Images => image_key(k, s, cfg),
            Pane::Volumes => volume_key(k, s, cfg),
        };
    }
    (true, None)
}

fn container_key(k: &KeyEvent, s: &mut AppState, cfg: &Config) -> Outcome {
    let keys = &cfg.keys;
    let op = |op: ContainerOp, s: &mut AppState| {
        let ids = s.targets();
        if ids.is_empty() {
            return (false, None);
        }
        s.marked.clear();
        (true, Some(Action::Containers(op, ids)))
    };
    if is(&keys.detail, k) {
        if s.selected_container().is_none() {
            return (false, None);
        }
        s.detail_focus = true;
    } else if is(&keys.sort_next, k) {
        let next = s.sort.next();
        s.set_sort(next, s.sort_rev);
    } else if is(&keys.sort_reverse, k) {
        let (key, rev) = (s.sort, !s.sort_rev);
        s.set_sort(key, rev);
    } else if is(&keys.toggle_all, k) {
        s.with_stable_selection(|s| s.show_all = !s.show_all);
    } else if is(&keys.mark, k) {
        let Some(id) = s.selected_container().map(|c| c.id.clone()) else { return (false, None) };
        if !s.marked.remove(&id) {
            s.marked.insert(id);
        }
        s.move_selection(1);
    } else if is(&keys.start, k) {
        return op(ContainerOp::Start, s);
    } else if is(&keys.stop, k) {
        return op(ContainerOp::Stop, s);
    } else if is(&keys.restart, k) {
        return op(ContainerOp::Restart, s);
    } else if is(&keys.kill, k) {
        return op(ContainerOp::Kill, s);
    } else if is(&keys.pause, k) {
        let ids = s.targets();
        let all_paused = !ids.is_empty() && ids.iter().all(|id| s.containers.iter().any(|c| &c.id == id && c.state == "paused"));
        return op(if all_paused { ContainerOp::Unpause } else { ContainerOp::Pause }, s);
    } else if is(&keys.remove, k) {
        let ids = s.targets();
        if ids.is_empty() {
            return (false, None);
        }
        let label = if ids.len() == 1 {
            s.containers.iter().find(|c| c.id == ids[0]).map(|c| c.name.clone()).unwrap_or_default()
        } else {
            format!("{} containers", ids.len())
        };
        s.modal = Some(Modal::ConfirmRemoveContainers { ids, label });
    } else if is(&keys.rename, k) {
        let Some(c) = s.selected_container() else { return (false, None) };
        s.modal = Some(Modal::Input { kind: InputKind::Rename { id: c.id.clone() }, field: TextField::new("New name", &c.name) });
    } else if is(&keys.commit, k) {
        let Some(c) = s.selected_container() else { return (false, None) };
        let kind = InputKind::Commit { id: c.id.clone(), name: c.name.clone() };
        s.modal = Some(Modal::Input { kind, field: TextField::new("REPO[:TAG]", "") });
    } else if is(&keys.back, k) && !s.marked.is_empty() {
        s.marked.clear();
    } else {
        return (false, None);
    }
    (true, None)
}

fn image_key(k: &KeyEvent, s: &mut AppState, cfg: &Config) -> Outcome {
    let keys = &cfg.keys;
    // The name shown, qualified with the image's endpoint when there are several.
    let label = |s: &AppState| {
        s.selected_image().map(|i| {
            let (_, id) = berth_engine::multi::split(&i.id);
            let name = i.repo_tags.first().cloned().unwrap_or_else(|| id.trim_start_matches("sha256:").chars().take(12).collect());
            berth_engine::multi::requalify(&i.id, &name)
        })
    };
    if is(&keys.remove, k) {
        // Remove by the name shown (untags one of several names, like `docker rmi name`).
        let Some(l) = label(s) else { return (false, None) };
        s.modal = Some(Modal::ConfirmRemove { image: l.clone(), label: l });
    } else if is(&keys.prune, k) {
        return (false, Some(Action::PruneImages));
    } else if is(&keys.history, k) {
        return match label(s) {
            Some(l) => (false, Some(Action::History(l))),
            None => (false, None),
        };
    } else {
        return (false, None);
    }
    (true, None)
}

/// Volumes: remove the selected one or prune the unused anonymous ones, each after a yes.
fn volume_key(k: &KeyEvent, s: &mut AppState, cfg: &Config) -> Outcome {
    let keys = &cfg.keys;
    if is(&keys.remove, k) {
        let Some(v) = s.selected_volume() else { return (false, None) };
        let users = v.users.as_deref().unwrap_or_default();
        if !users.is_empty() {
            s.modal = Some(Modal::Error(format!("volume {} is in use by {}", v.name, users.join(", "))));
            return (true, None);
        }
        let name = v.name.clone();
        s.modal = Some(Modal::ConfirmVolumes { question: format!("Remove volume {name}?"), action: Action::RemoveVolume(name) });
    } else if is(&keys.prune, k) {
        s.modal = Some(Modal::ConfirmVolumes {
            question: "Remove the anonymous volumes no container uses?".into(),
            action: Action::PruneVolumes,
        });
    } else {
        return (false, None);
    }
    (true, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_engine::api::{ContainerSummary, ImageSummary};

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn ch(c: char) -> KeyEvent {
        key(KeyCode::Char(c))
    }

    fn ctr(id: &str, name: &str, state: &str) -> ContainerSummary {
        ContainerSummary {
            id: id.into(),
            name: name.into(),
            image: "busybox".into(),
            image_id: String::new(),
            command: "sh".into(),
            created: 0,
            state: state.into(),
            status: String::new(),
            exit_code: 0,
            labels: Default::default(),
        }
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
        s.update(crate::state::Message::Containers(Ok(vec![
            ctr("c1", "web", "running"),
            ctr("c2", "db", "paused"),
            ctr("c3", "old", "exited"),
        ])));
        s
    }

    #[test]
    fn vim_keys_move_and_quit() {
        let cfg = Config::default_config();
        let mut s = state();
        assert_eq!(s.selected_container().unwrap().name, "db");
        handle_key(&ch('j'), &mut s, &cfg);
        assert_eq!(s.selected_container().unwrap().name, "old");
        handle_key(&ch('k'), &mut s, &cfg);
        handle_key(&ch('G'), &mut s, &cfg);
        assert_eq!(s.selected_container().unwrap().name, "web");
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        assert_eq!(s.focus, Pane::Images);
        handle_key(&ch('j'), &mut s, &cfg);
        assert_eq!(s.selected, 1);
        handle_key(&ch('1'), &mut s, &cfg);
        assert_eq!(s.focus, Pane::Containers);
        handle_key(&ch('q'), &mut s, &cfg);
        assert!(s.quit);
    }

    #[test]
    fn volumes_pane_removes_after_a_yes_and_refuses_one_in_use() {
        let cfg = Config::default_config();
        let mut s = state();
        let vol = |n: &str, users: &[&str]| berth_engine::api::Volume {
            name: n.into(),
            driver: "local".into(),
            users: Some(users.iter().map(|u| u.to_string()).collect()),
            ..Default::default()
        };
        s.update(crate::state::Message::Volumes(Ok(vec![vol("busy", &["web"]), vol("idle", &[])])));
        // Tab goes round the three lists; 3 jumps to the volumes.
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        assert_eq!(s.focus, Pane::Volumes);
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        assert_eq!(s.focus, Pane::Containers);
        handle_key(&ch('3'), &mut s, &cfg);
        assert_eq!(s.focus, Pane::Volumes);
        let (_, a) = handle_key(&ch('d'), &mut s, &cfg);
        assert_eq!(a, None);
        assert!(matches!(&s.modal, Some(Modal::Error(e)) if e.contains("in use by web")), "{:?}", s.modal);
        s.modal = None;
        handle_key(&ch('j'), &mut s, &cfg);
        handle_key(&ch('d'), &mut s, &cfg);
        assert!(matches!(s.modal, Some(Modal::ConfirmVolumes { .. })));
        let (_, a) = handle_key(&ch('y'), &mut s, &cfg);
        assert_eq!(a, Some(Action::RemoveVolume("idle".into())));
        handle_key(&ch('X'), &mut s, &cfg);
        let (_, a) = handle_key(&ch('n'), &mut s, &cfg);
        assert_eq!((a, s.modal.is_none()), (None, true));
        handle_key(&ch('X'), &mut s, &cfg);
        let (_, a) = handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        assert_eq!(a, Some(Action::PruneVolumes));
    }

    #[test]
    fn stop_acts_on_the_selection_or_the_marks() {
        let cfg = Config::default_config();
        let mut s = state();
        let (_, a) = handle_key(&ch('x'), &mut s, &cfg);
        assert_eq!(a, Some(Action::Containers(ContainerOp::Stop, vec!["c2".into()])));
        handle_key(&ch(' '), &mut s, &cfg); // marks db, moves to old
        handle_key(&ch(' '), &mut s, &cfg); // marks old
        let (_, a) = handle_key(&ch('x'), &mut s, &cfg);
        assert_eq!(a, Some(Action::Containers(ContainerOp::Stop, vec!["c2".into(), "c3".into()])));
        assert!(s.marked.is_empty());
        // Pause on a paused container unpauses it.
        handle_key(&ch('g'), &mut s, &cfg);
        let (_, a) = handle_key(&ch('p'), &mut s, &cfg);
        assert_eq!(a, Some(Action::Containers(ContainerOp::Unpause, vec!["c2".into()])));
    }

    #[test]
    fn remove_asks_first() {
        let cfg = Config::default_config();
        let mut s = state();
        let (_, a) = handle_key(&ch('d'), &mut s, &cfg);
        assert_eq!(a, None);
        assert!(matches!(s.modal, Some(Modal::ConfirmRemoveContainers { .. })));
        let (_, a) = handle_key(&ch('n'), &mut s, &cfg);
        assert_eq!(a, None);
        assert!(s.modal.is_none());
        handle_key(&ch('d'), &mut s, &cfg);
        let (_, a) = handle_key(&ch('y'), &mut s, &cfg);
        assert_eq!(a, Some(Action::Containers(ContainerOp::Remove, vec!["c2".into()])));
        handle_key(&ch('2'), &mut s, &cfg);
        handle_key(&ch('d'), &mut s, &cfg);
        let (_, a) = handle_key(&ch('y'), &mut s, &cfg);
        assert_eq!(a, Some(Action::RemoveImage("alpine:3".into())));
    }

    #[test]
    fn changes_tab_scrolls_and_c_commits_the_selected_container() {
        let cfg = Config::default_config();
        let mut s = state();
        s.tab = Tab::Changes;
        handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        let id = s.selected_container().unwrap().id.clone();
        let list =
            (0..30).map(|i| berth_engine::api::FsChange { kind: berth_engine::api::ChangeKind::Added, path: format!("/f{i}") }).collect();
        s.update(crate::state::Message::Changes { id: id.clone(), result: Ok(list) });
        handle_key(&ch('j'), &mut s, &cfg);
        assert_eq!(s.changes_scroll, 1);
        handle_key(&ch('G'), &mut s, &cfg);
        assert_eq!(s.changes_scroll, 29);
        // The commit dialog asks for a name; an empty one is not sent.
        handle_key(&ch('c'), &mut s, &cfg);
        assert!(matches!(s.modal, Some(Modal::Input { kind: InputKind::Commit { .. }, .. })));
        let (_, a) = handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        assert_eq!(a, None);
        for c in "snap:v1".chars() {
            handle_key(&ch(c), &mut s, &cfg);
        }
        let (_, a) = handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        assert_eq!(a, Some(Action::Commit { id, reference: "snap:v1".into() }));
        assert!(s.modal.is_none());
    }

    #[test]
    fn filter_narrows_and_esc_clears() {
        let cfg = Config::default_config();
        let mut s = state();
        handle_key(&ch('/'), &mut s, &cfg);
        for c in "we".chars() {
            handle_key(&ch(c), &mut s, &cfg);
        }
        assert_eq!(s.visible_containers().len(), 1);
        // 'q' while typing a filter is text, not quit.
        handle_key(&ch('q'), &mut s, &cfg);
        assert!(!s.quit);
        handle_key(&key(KeyCode::Esc), &mut s, &cfg);
        assert_eq!(s.visible_containers().len(), 3);
    }

    #[test]
    fn sort_keys_cycle_and_reverse() {
        let cfg = Config::default_config();
        let mut s = state();
        handle_key(&ch('s'), &mut s, &cfg);
        assert_eq!(s.sort, crate::state::SortKey::Image);
        handle_key(&ch('S'), &mut s, &cfg);
        assert!(s.sort_rev);
        handle_key(&ch('a'), &mut s, &cfg);
        assert_eq!(s.visible_containers().len(), 2);
    }

    #[test]
    fn logs_tab_search_and_scroll() {
        let cfg = Config::default_config();
        let mut s = state();
        handle_key(&ch(']'), &mut s, &cfg);
        handle_key(&ch(']'), &mut s, &cfg);
        assert_eq!(s.tab, Tab::Logs);
        handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        assert!(s.detail_focus);
        let id = s.selected_container().unwrap().id.clone();
        s.detail_changed(Some(&id), Some(s.tab));
        let lines =
            (0..50).map(|i| berth_engine::api::LogLine { stream: "stdout".into(), time: String::new(), line: format!("l{i}") }).collect();
        s.update(crate::state::Message::LogLines { id, lines });
        handle_key(&ch('k'), &mut s, &cfg);
        assert!(!s.logs.follow);
        assert_eq!(s.logs.scroll, 1);
        handle_key(&ch('g'), &mut s, &cfg);
        assert_eq!(s.logs.scroll, 50);
        handle_key(&ch('G'), &mut s, &cfg);
        assert!(s.logs.follow);
        handle_key(&ch('/'), &mut s, &cfg);
        handle_key(&ch('4'), &mut s, &cfg);
        assert_eq!(s.logs.lines.iter().filter(|l| s.log_matches(l)).count(), 14); // l4, l14 … l34, l40 … l49
        handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        handle_key(&ch('t'), &mut s, &cfg);
        assert!(s.logs.timestamps);
        handle_key(&key(KeyCode::Esc), &mut s, &cfg);
        assert!(!s.detail_focus);
    }

    #[test]
    fn run_dialog_builds_the_spec() {
        let cfg = Config::default_config();
        let mut s = state();
        handle_key(&ch('n'), &mut s, &cfg);
        for c in "busybox".chars() {
            handle_key(&ch(c), &mut s, &cfg);
        }
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        for c in "web2".chars() {
            handle_key(&ch(c), &mut s, &cfg);
        }
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        for c in "sh -c 'sleep 100'".chars() {
            handle_key(&ch(c), &mut s, &cfg);
        }
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        for c in "A=1 B=two".chars() {
            handle_key(&ch(c), &mut s, &cfg);
        }
        handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        handle_key(&ch(' '), &mut s, &cfg);
        let (_, a) = handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        let Some(Action::Run(spec)) = a else { panic!("{a:?}") };
        assert_eq!(spec.image, "busybox");
        assert_eq!(spec.name.as_deref(), Some("web2"));
        assert_eq!(spec.cmd, ["sh", "-c", "sleep 100"]);
        assert_eq!(spec.env, ["A=1", "B=two"]);
        assert!(spec.tty && spec.open_stdin);
        // A bad env entry is an error, not a container.
        handle_key(&ch('n'), &mut s, &cfg);
        handle_key(&ch('x'), &mut s, &cfg);
        for _ in 0..3 {
            handle_key(&key(KeyCode::Tab), &mut s, &cfg);
        }
        handle_key(&ch('Z'), &mut s, &cfg);
        let (_, a) = handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        assert_eq!(a, None);
        assert!(matches!(s.modal, Some(Modal::Error(_))));
    }

    #[test]
    fn words_split_with_quotes() {
        assert_eq!(split_words(r#"sh -c "echo hi"  ''"#), ["sh", "-c", "echo hi", ""]);
        assert!(split_words("  ").is_empty());
    }

    #[test]
    fn mouse_clicks_select_and_sort() {
        use crossterm::event::{MouseEvent, MouseEventKind};
        let cfg = Config::default_config();
        let mut s = state();
        let screen = Rect::new(0, 0, 200, 50);
        let click = |x: u16, y: u16| {
            Event::Mouse(MouseEvent { kind: MouseEventKind::Down(MouseButton::Left), column: x, row: y, modifiers: KeyModifiers::NONE })
        };
        // Rows start under the header line (y=1), the block border and the column titles.
        handle(&click(10, 5), &mut s, &cfg, screen);
        assert_eq!(s.selected_container().unwrap().name, "web");
        handle(&click(4, 2), &mut s, &cfg, screen);
        assert!(s.sort_rev, "a click on the sorted column reverses it");
        assert_eq!(s.selected_container().unwrap().name, "web");
        let wheel = Event::Mouse(MouseEvent { kind: MouseEventKind::ScrollDown, column: 10, row: 5, modifiers: KeyModifiers::NONE });
        handle(&wheel, &mut s, &cfg, screen);
        assert_eq!(s.selected_container().unwrap().name, "old");
    }

    /// Two endpoints (IDs qualified as MultiBackend hands them out), one of them down.
    fn two_endpoints() -> AppState {
        use berth_engine::multi::{EndpointState, EndpointStatus, qualify};
        let mut s = AppState::new("endpoints".into(), 0);
        let st = |n: &str, state: EndpointState| EndpointStatus { name: n.into(), address: String::new(), state };
        s.update(crate::state::Message::Endpoints(vec![st("berth", EndpointState::Up), st("dockerd", EndpointState::Down("gone".into()))]));
        s.update(crate::state::Message::Containers(Ok(vec![
            ctr(&qualify("berth", "c1"), "web", "running"),
            ctr(&qualify("dockerd", "c2"), "dk", "running"),
        ])));
        let img = ImageSummary {
            id: qualify("dockerd", "sha256:bb"),
            repo_tags: vec!["busybox:1".into()],
            repo_digests: vec![],
            created: 0,
            size: 0,
            containers: 0,
        };
        s.update(crate::state::Message::Images(Ok(vec![img])));
        s
    }

    fn type_command(s: &mut AppState, cfg: &Config, line: &str) -> Outcome {
        handle_key(&ch(':'), s, cfg);
        assert!(matches!(s.modal, Some(Modal::Input { kind: InputKind::Command, .. })));
        for c in line.chars() {
            handle_key(&ch(c), s, cfg);
        }
        handle_key(&key(KeyCode::Enter), s, cfg)
    }

    #[test]
    fn ctx_command_and_switcher_pick_an_endpoint() {
        let cfg = Config::default_config();
        let mut s = two_endpoints();
        assert!(s.show_host() && s.visible_containers().len() == 2);
        let (_, a) = type_command(&mut s, &cfg, "ctx dockerd");
        assert_eq!(a, Some(Action::SetEndpoint(Some("dockerd".into()))));
        assert_eq!(s.visible_containers().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["dk"]);
        assert!(!s.show_host() && s.modal.is_none());
        // A typo is one message, the view unchanged.
        let (_, a) = type_command(&mut s, &cfg, "ctx nope");
        assert_eq!(a, None);
        assert!(matches!(&s.modal, Some(Modal::Error(e)) if e.contains("no endpoint named \"nope\"") && e.contains("berth, dockerd")));
        handle_key(&key(KeyCode::Esc), &mut s, &cfg);
        assert_eq!(s.endpoint.as_deref(), Some("dockerd"));
        // `:ctx` opens the switcher on the endpoint in view (all, berth, dockerd); up is berth.
        type_command(&mut s, &cfg, "ctx");
        assert_eq!(s.modal, Some(Modal::Endpoints { cursor: 2 }));
        handle_key(&ch('k'), &mut s, &cfg);
        let (_, a) = handle_key(&key(KeyCode::Enter), &mut s, &cfg);
        assert_eq!(a, Some(Action::SetEndpoint(Some("berth".into()))));
        assert_eq!(s.selected_container().unwrap().name, "web");
        type_command(&mut s, &cfg, "ctx all");
        assert_eq!(s.visible_containers().len(), 2);
        let (_, a) = type_command(&mut s, &cfg, "bogus");
        assert_eq!(a, None);
        assert!(matches!(&s.modal, Some(Modal::Error(e)) if e.contains("unknown command")));
    }

    #[test]
    fn ctx_with_one_endpoint_says_so_and_image_actions_keep_their_host() {
        let cfg = Config::default_config();
        let mut s = state();
        type_command(&mut s, &cfg, "ctx");
        assert!(matches!(&s.modal, Some(Modal::Error(e)) if e.contains("only one endpoint")));
        // Several endpoints: an image's name is qualified with where it lives.
        let mut s = two_endpoints();
        handle_key(&ch('2'), &mut s, &cfg);
        let (_, a) = handle_key(&ch('H'), &mut s, &cfg);
        assert_eq!(a, Some(Action::History("dockerd#busybox:1".into())));
        handle_key(&ch('n'), &mut s, &cfg);
        assert!(matches!(&s.modal, Some(Modal::Run(r)) if r.fields[0].text == "dockerd#busybox:1"));
    }
}

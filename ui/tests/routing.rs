//! Who gets a key, a click or a message: the router between the panes, driven the way a
//! user drives it (keys, clicks on what the last frame drew) and the way the tasks do
//! (messages). No backend: actions are checked as the event loop would receive them.
use berth_engine::api::{ContainerSummary, FsChange, ImageSummary, LogLine, StatsSample};
use berth_ui::app::App;
use berth_ui::config::Config;
use berth_ui::detail::Tab;
use berth_ui::detail::stats::ChartWindow;
use berth_ui::dialogs::Dialog;
use berth_ui::handled::Handled;
use berth_ui::message::{Action, ContainerOp, Message, SessionKind};
use berth_ui::panes::Pane;
use berth_ui::panes::containers::SortKey;
use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn ctr(id: &str, name: &str, state: &str) -> ContainerSummary {
    ContainerSummary {
        id: id.into(),
        name: name.into(),
        image: "busybox".into(),
        image_id: String::new(),
        command: "sh".into(),
        created: 0,
        state: state.into(),
        status: if state == "running" { "Up 3 minutes".into() } else { "Exited (0) 1 minute ago".into() },
        exit_code: 0,
        labels: Default::default(),
        ports: vec![],
    }
}

fn img(id: &str, tag: &str) -> ImageSummary {
    ImageSummary { id: format!("sha256:{id}"), repo_tags: vec![tag.into()], repo_digests: vec![], created: 0, size: 1, containers: 0 }
}

fn new_app() -> App {
    App::new(Config::default_config(), "local".into(), 0)
}

/// Two images; web (running), db (paused), old (exited); the list sorts by name.
fn app() -> App {
    let mut s = new_app();
    s.update(Message::Images(Ok(vec![img("aa", "alpine:3"), img("bb", "busybox:1")])));
    s.update(Message::Containers(Ok(vec![ctr("c1", "web", "running"), ctr("c2", "db", "paused"), ctr("c3", "old", "exited")])));
    s
}

fn key(s: &mut App, code: KeyCode) -> Handled {
    s.on_key(&KeyEvent::new(code, KeyModifiers::NONE))
}

fn ch(s: &mut App, c: char) -> Handled {
    key(s, KeyCode::Char(c))
}

fn typed(s: &mut App, text: &str) {
    for c in text.chars() {
        ch(s, c);
    }
}

fn selected(s: &App) -> String {
    s.containers.selected_container(&s.ctx).map(|c| c.name.clone()).unwrap_or_default()
}

fn names(s: &App) -> Vec<String> {
    s.containers.visible(&s.ctx).iter().map(|c| c.name.clone()).collect()
}

/// A frame drawn at `w`×`h`, as the event loop draws one before reading the next event.
fn frame(s: &mut App, w: u16, h: u16) {
    Terminal::new(TestBackend::new(w, h)).unwrap().draw(|f| s.frame(f)).unwrap();
}

fn click(s: &mut App, x: u16, y: u16) -> bool {
    s.on_event(&Event::Mouse(MouseEvent {
        kind: MouseEventKind::Down(MouseButton::Left),
        column: x,
        row: y,
        modifiers: KeyModifiers::NONE,
    }))
    .redraw
}

fn wheel(s: &mut App, down: bool, x: u16, y: u16) {
    let kind = if down { MouseEventKind::ScrollDown } else { MouseEventKind::ScrollUp };
    s.on_event(&Event::Mouse(MouseEvent { kind, column: x, row: y, modifiers: KeyModifiers::NONE }));
}

mod lists {
    use super::*;

    #[test]
    fn vim_keys_move_switch_panes_and_quit() {
        let mut s = app();
        assert_eq!(selected(&s), "db");
        ch(&mut s, 'j');
        assert_eq!(selected(&s), "old");
        ch(&mut s, 'k');
        ch(&mut s, 'G');
        assert_eq!(selected(&s), "web");
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, Pane::Images);
        ch(&mut s, 'j');
        assert_eq!(s.images.selected, 1);
        ch(&mut s, '1');
        assert_eq!(s.focus, Pane::Containers);
        ch(&mut s, 'q');
        assert!(s.quit);
    }

    #[test]
    fn container_selection_is_stable_across_refreshes_and_sorts() {
        let mut s = new_app();
        s.update(Message::Containers(Ok(vec![ctr("1", "alpha", "running"), ctr("2", "beta", "running"), ctr("3", "gamma", "exited")])));
        ch(&mut s, 'j');
        assert_eq!(selected(&s), "beta");
        // A new container sorting before it does not move the selection off it.
        s.update(Message::Containers(Ok(vec![ctr("0", "aaa", "running"), ctr("1", "alpha", "running"), ctr("2", "beta", "running")])));
        assert_eq!(selected(&s), "beta");
        let sample =
            |id: &str, cpu: f64, mem: u64| StatsSample { id: id.into(), cpu_percent: cpu, memory_usage: mem, ..StatsSample::default() };
        s.update(Message::Stats { samples: vec![sample("2", 1.0, 10), sample("0", 50.0, 5), sample("1", 20.0, 99)], now: 1 });
        s.containers.set_sort(&s.ctx, SortKey::Cpu, false);
        assert_eq!(names(&s), ["aaa", "alpha", "beta"]);
        assert_eq!(selected(&s), "beta");
        s.containers.set_sort(&s.ctx, SortKey::Mem, true);
        assert_eq!(names(&s), ["aaa", "beta", "alpha"]);
        // The selected one goes away: the selection stays in range.
        s.update(Message::Containers(Ok(vec![ctr("0", "aaa", "running")])));
        assert_eq!(selected(&s), "aaa");
    }

    #[test]
    fn selection_follows_the_image_across_refreshes() {
        let mut s = new_app();
        s.focus = Pane::Images;
        assert!(s.update(Message::Images(Ok(vec![img("a", "alpine:1"), img("b", "busybox:1")]))));
        ch(&mut s, 'j');
        assert_eq!(s.images.selected_image(&s.ctx).unwrap().id, "sha256:b");
        assert!(s.update(Message::Images(Ok(vec![img("c", "c:1"), img("a", "alpine:1"), img("b", "busybox:1")]))));
        assert_eq!(s.images.selected_image(&s.ctx).unwrap().id, "sha256:b");
        // Same list again: nothing to redraw.
        assert!(!s.update(Message::Images(Ok(vec![img("c", "c:1"), img("a", "alpine:1"), img("b", "busybox:1")]))));
        ch(&mut s, '/');
        typed(&mut s, "alp");
        assert_eq!(s.images.visible(&s.ctx).len(), 1);
        assert_eq!(s.images.selected_image(&s.ctx).unwrap().id, "sha256:a");
    }

    #[test]
    fn filter_narrows_and_esc_clears_and_typed_keys_never_act() {
        let mut s = app();
        ch(&mut s, '/');
        typed(&mut s, "we");
        assert_eq!(names(&s), ["web"]);
        // Keys typed into the filter are text: not quit, stop, remove, run, help.
        for c in ['q', 'x', 'd', 'n', '?', ':', 'e'] {
            let h = ch(&mut s, c);
            assert_eq!((h.action, &s.dialog, s.quit), (None, &None, false), "{c} acted");
        }
        assert_eq!(s.containers.filter.text, "weqxdn?:e");
        key(&mut s, KeyCode::Esc);
        assert_eq!(names(&s).len(), 3);
        assert!(!s.containers.filter.typing);
    }

    #[test]
    fn filter_and_running_toggle() {
        let mut s = new_app();
        let mut web = ctr("1", "web", "running");
        web.image = "nginx:1".into();
        let mut cache = ctr("3", "cache", "paused");
        cache.status = "Up 1 minute (Paused)".into();
        s.update(Message::Containers(Ok(vec![web, ctr("2", "db", "exited"), cache])));
        assert_eq!(names(&s).len(), 3);
        ch(&mut s, 'a');
        assert_eq!(names(&s), ["cache", "web"]);
        ch(&mut s, 'a');
        s.containers.filter.text = "NGINX".into();
        assert_eq!(names(&s), ["web"]);
        s.containers.filter.text = "exited".into();
        assert_eq!(names(&s), ["db"]);
    }

    #[test]
    fn sort_keys_cycle_and_reverse() {
        let mut s = app();
        ch(&mut s, 's');
        assert_eq!(s.containers.sort, SortKey::Image);
        ch(&mut s, 'S');
        assert!(s.containers.sort_rev);
        ch(&mut s, 'a');
        assert_eq!(names(&s).len(), 2);
    }

    #[test]
    fn stop_acts_on_the_selection_or_the_marks() {
        let mut s = app();
        assert_eq!(ch(&mut s, 'x').action, Some(Action::Containers(ContainerOp::Stop, vec!["c2".into()])));
        ch(&mut s, ' '); // marks db, moves to old
        ch(&mut s, ' '); // marks old
        assert_eq!(ch(&mut s, 'x').action, Some(Action::Containers(ContainerOp::Stop, vec!["c2".into(), "c3".into()])));
        assert!(s.containers.marked.is_empty());
        // Pause on a paused container unpauses it.
        ch(&mut s, 'g');
        assert_eq!(ch(&mut s, 'p').action, Some(Action::Containers(ContainerOp::Unpause, vec!["c2".into()])));
    }

    #[test]
    fn marks_drive_targets_and_vanish_with_their_container() {
        let mut s = new_app();
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running"), ctr("2", "b", "running")])));
        assert_eq!(s.containers.targets(&s.ctx), ["1"]);
        s.containers.marked.insert("2".into());
        s.containers.marked.insert("1".into());
        assert_eq!(s.containers.targets(&s.ctx), ["1", "2"]);
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running")])));
        assert_eq!(s.containers.targets(&s.ctx), ["1"]);
    }

    #[test]
    fn remove_asks_first_and_a_yes_consumes_the_marks() {
        let mut s = app();
        assert_eq!(ch(&mut s, 'd').action, None);
        assert!(matches!(s.dialog, Some(Dialog::Confirm(_))));
        assert_eq!(ch(&mut s, 'n').action, None);
        assert!(s.dialog.is_none());
        ch(&mut s, ' ');
        ch(&mut s, 'd');
        assert_eq!(ch(&mut s, 'y').action, Some(Action::Containers(ContainerOp::Remove, vec!["c2".into()])));
        assert!(s.containers.marked.is_empty());
        ch(&mut s, '2');
        ch(&mut s, 'd');
        assert_eq!(ch(&mut s, 'y').action, Some(Action::RemoveImage("alpine:3".into())));
    }

    #[test]
    fn networks_pane_creates_connects_and_refuses_removing_one_in_use() {
        let mut s = app();
        let net = |n: &str, users: &[&str]| berth_engine::api::Network {
            name: n.into(),
            driver: "bridge".into(),
            users: Some(users.iter().map(|u| u.to_string()).collect()),
            ..Default::default()
        };
        s.update(Message::Networks(Ok(vec![net("appnet", &["web"]), net("bridge", &[]), net("idle", &[])])));
        ch(&mut s, '4');
        assert_eq!(s.focus, Pane::Networks);
        // In use, and the default network: refused with the reason.
        assert_eq!(ch(&mut s, 'd').action, None);
        assert!(matches!(&s.dialog, Some(Dialog::Notice(n)) if n.error && n.text.contains("in use by web")), "{:?}", s.dialog);
        key(&mut s, KeyCode::Esc);
        ch(&mut s, 'j');
        assert_eq!(ch(&mut s, 'd').action, None);
        assert!(matches!(&s.dialog, Some(Dialog::Notice(n)) if n.error && n.text.contains("pre-defined")), "{:?}", s.dialog);
        key(&mut s, KeyCode::Esc);
        ch(&mut s, 'j');
        ch(&mut s, 'd');
        assert_eq!(ch(&mut s, 'y').action, Some(Action::RemoveNetwork("idle".into())));
        // Create: a name, then enter.
        ch(&mut s, 'n');
        for c in "newnet".chars() {
            ch(&mut s, c);
        }
        assert_eq!(key(&mut s, KeyCode::Enter).action, Some(Action::CreateNetwork("newnet".into())));
        // Connect a container to the selected network.
        ch(&mut s, 'g');
        ch(&mut s, '+');
        for c in "worker".chars() {
            ch(&mut s, c);
        }
        let want = Action::ConnectNetwork { network: "appnet".into(), container: "worker".into() };
        assert_eq!(key(&mut s, KeyCode::Enter).action, Some(want));
        // Disconnect offers the first connected container.
        ch(&mut s, '-');
        let want = Action::DisconnectNetwork { network: "appnet".into(), container: "web".into() };
        assert_eq!(key(&mut s, KeyCode::Enter).action, Some(want));
    }

    #[test]
    fn volumes_pane_removes_after_a_yes_and_refuses_one_in_use() {
        let mut s = app();
        let vol = |n: &str, users: &[&str]| berth_engine::api::Volume {
            name: n.into(),
            driver: "local".into(),
            users: Some(users.iter().map(|u| u.to_string()).collect()),
            ..Default::default()
        };
        s.update(Message::Volumes(Ok(vec![vol("busy", &["web"]), vol("idle", &[])])));
        // Tab goes round the four lists; 3 jumps to the volumes.
        key(&mut s, KeyCode::Tab);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, Pane::Volumes);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, Pane::Networks);
        key(&mut s, KeyCode::Tab);
        assert_eq!(s.focus, Pane::Containers);
        ch(&mut s, '3');
        assert_eq!(s.focus, Pane::Volumes);
        assert_eq!(ch(&mut s, 'd').action, None);
        assert!(matches!(&s.dialog, Some(Dialog::Notice(n)) if n.error && n.text.contains("in use by web")), "{:?}", s.dialog);
        key(&mut s, KeyCode::Esc);
        ch(&mut s, 'j');
        ch(&mut s, 'd');
        assert!(matches!(s.dialog, Some(Dialog::Confirm(_))));
        assert_eq!(ch(&mut s, 'y').action, Some(Action::RemoveVolume("idle".into())));
        ch(&mut s, 'X');
        assert_eq!((ch(&mut s, 'n').action, s.dialog.is_none()), (None, true));
        ch(&mut s, 'X');
        assert_eq!(key(&mut s, KeyCode::Enter).action, Some(Action::PruneVolumes));
    }

    #[test]
    fn n_opens_the_run_dialog_with_the_selected_image_from_the_images_list() {
        let mut s = app();
        ch(&mut s, 'n');
        assert!(matches!(&s.dialog, Some(Dialog::Run(r)) if r.fields[0].text.is_empty()));
        key(&mut s, KeyCode::Esc);
        ch(&mut s, '2');
        ch(&mut s, 'j');
        ch(&mut s, 'n');
        assert!(matches!(&s.dialog, Some(Dialog::Run(r)) if r.fields[0].text == "busybox:1"));
    }
}

mod detail {
    use super::*;

    /// The Logs tab of the selected container, focused, with 50 lines `l0`..`l49`.
    fn logs() -> App {
        let mut s = app();
        ch(&mut s, ']');
        ch(&mut s, ']');
        assert_eq!(s.detail.tab, Tab::Logs);
        key(&mut s, KeyCode::Enter);
        assert!(s.detail.focused);
        let id = s.containers.selected_container(&s.ctx).unwrap().id.clone();
        s.detail.watching(Some(&id), Some(Tab::Logs));
        let lines = (0..50).map(|i| LogLine { stream: "stdout".into(), time: String::new(), line: format!("l{i}") }).collect();
        s.update(Message::LogLines { id, lines });
        s
    }

    fn matching(s: &App) -> usize {
        s.detail.logs.lines.iter().filter(|l| s.detail.logs.matches(l)).count()
    }

    #[test]
    fn logs_tab_search_and_scroll() {
        let mut s = logs();
        ch(&mut s, 'k');
        assert!(!s.detail.logs.follow);
        assert_eq!(s.detail.logs.scroll, 1);
        ch(&mut s, 'g');
        assert_eq!(s.detail.logs.scroll, 50);
        ch(&mut s, 'G');
        assert!(s.detail.logs.follow);
        ch(&mut s, '/');
        ch(&mut s, '4');
        assert_eq!(matching(&s), 14); // l4, l14 … l34, l40 … l49
        key(&mut s, KeyCode::Enter);
        ch(&mut s, 't');
        assert!(s.detail.logs.timestamps);
        key(&mut s, KeyCode::Esc);
        assert!(!s.detail.focused);
    }

    /// `n` is text while the search is typed, and jumps to a match once it is applied:
    /// never the Run dialog (it used to open it).
    #[test]
    fn n_in_the_logs_search_never_runs_a_container() {
        let mut s = logs();
        frame(&mut s, 120, 40);
        ch(&mut s, '/');
        let h = ch(&mut s, 'n');
        assert_eq!((h.action, &s.dialog), (None, &None), "typed n acted");
        assert_eq!(s.detail.logs.search.text, "n");
        key(&mut s, KeyCode::Backspace);
        typed(&mut s, "l4");
        key(&mut s, KeyCode::Enter);
        assert!(!s.detail.logs.search.typing);
        assert_eq!(matching(&s), 11); // l4, l40 … l49
        // From the live end: N is the newest match (l49), n wraps to the oldest (l4).
        let h = ch(&mut s, 'N');
        assert_eq!((h.action, &s.dialog, h.redraw), (None, &None, true));
        assert_eq!(s.detail.logs.current, Some(0));
        ch(&mut s, 'N');
        assert_eq!(s.detail.logs.current, Some(1), "l48");
        ch(&mut s, 'n');
        ch(&mut s, 'n');
        assert_eq!(s.detail.logs.current, Some(10), "wrapped to the oldest match, l4");
        assert!(s.dialog.is_none(), "{:?}", s.dialog);
        assert!(!s.detail.logs.follow, "a jump holds the view");
        // New lines keep the jump on the same line.
        let id = s.detail.logs.id.clone();
        s.update(Message::LogLines { id, lines: vec![LogLine { stream: "stdout".into(), time: String::new(), line: "l4 again".into() }] });
        assert_eq!(s.detail.logs.current, Some(11));
        // Without a search, n is the list's key again (with the list focused).
        key(&mut s, KeyCode::Esc);
        ch(&mut s, 'n');
        assert!(matches!(s.dialog, Some(Dialog::Run(_))));
    }

    #[test]
    fn log_buffer_is_bounded() {
        let mut s = new_app();
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running")])));
        s.detail.tab = Tab::Logs;
        s.detail.watching(Some("1"), Some(Tab::Logs));
        let line = |i: usize| LogLine { stream: "stdout".into(), time: String::new(), line: format!("line {i}") };
        for chunk in 0..5 {
            s.update(Message::LogLines { id: "1".into(), lines: (0..1000).map(|i| line(chunk * 1000 + i)).collect() });
        }
        assert_eq!(s.detail.logs.lines.len(), berth_ui::detail::logs::LOG_CAP);
        assert_eq!(s.detail.logs.lines.back().unwrap().line, "line 4999");
        // Lines of another container (a stream not yet cancelled) are ignored.
        assert!(!s.update(Message::LogLines { id: "2".into(), lines: vec![line(0)] }));
    }

    #[test]
    fn changes_tab_scrolls_and_c_commits_the_selected_container() {
        let mut s = app();
        s.detail.tab = Tab::Changes;
        key(&mut s, KeyCode::Enter);
        let id = s.containers.selected_container(&s.ctx).unwrap().id.clone();
        let list = (0..30).map(|i| FsChange { kind: berth_engine::api::ChangeKind::Added, path: format!("/f{i}") }).collect();
        s.update(Message::Changes { id: id.clone(), result: Ok(list) });
        ch(&mut s, 'j');
        assert_eq!(s.detail.changes.scroll, 1);
        ch(&mut s, 'G');
        assert_eq!(s.detail.changes.scroll, 29);
        // The commit dialog asks for a name; an empty one is not sent.
        ch(&mut s, 'c');
        assert!(matches!(s.dialog, Some(Dialog::Commit(_))));
        assert_eq!(key(&mut s, KeyCode::Enter).action, None);
        typed(&mut s, "snap:v1");
        assert_eq!(key(&mut s, KeyCode::Enter).action, Some(Action::Commit { id, reference: "snap:v1".into() }));
        assert!(s.dialog.is_none());
    }

    #[test]
    fn stats_history_is_dropped_with_the_container() {
        let mut s = new_app();
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running")])));
        for t in 0..5 {
            s.update(Message::Stats {
                samples: vec![StatsSample { id: "1".into(), memory_usage: 1024, ..StatsSample::default() }],
                now: t,
            });
        }
        assert_eq!(s.containers.stats["1"].fine_len(), 5);
        s.update(Message::Containers(Ok(vec![])));
        assert!(s.containers.stats.is_empty());
    }

    #[test]
    fn idle_stats_redraw_nothing_once_sparkline_and_chart_are_full() {
        let mut s = new_app();
        s.update(Message::Containers(Ok(vec![ctr("1", "a", "running"), ctr("2", "b", "running")])));
        let sample = |id: &str, cpu: f64| StatsSample { id: id.into(), cpu_percent: cpu, memory_usage: 4096, ..StatsSample::default() };
        let batch = |t: i64, cpu: f64| Message::Stats { samples: vec![sample("1", cpu), sample("2", 0.0)], now: t };
        // The first minute: the sparkline and the selected container's 1m chart grow.
        assert!(s.update(batch(0, 0.0)));
        assert!(s.update(batch(30, 0.0)));
        for t in 31..=100 {
            s.update(batch(t, 0.0));
        }
        assert!(!s.update(batch(101, 0.0)), "nothing shown changed");
        assert!(s.update(batch(102, 1.5)), "a CPU figure changed");
        // The 15m window is not full yet: the selected chart still grows every sample.
        s.detail.stats.window = ChartWindow::Min15;
        assert!(s.update(batch(103, 1.5)));
        s.focus = Pane::Images;
        assert!(!s.update(batch(104, 7.0)), "stats are not on screen");
    }
}

mod messages {
    use super::*;

    #[test]
    fn ticks_redraw_only_where_ages_are_shown() {
        let mut s = new_app();
        assert!(!s.update(Message::Tick { now: 1 }));
        assert!(!s.update(Message::Tick { now: 61 }), "the containers list shows no age of ours");
        s.focus = Pane::Images;
        assert!(!s.update(Message::Tick { now: 62 }));
        assert!(s.update(Message::Tick { now: 121 }), "images: \"2 minutes ago\" moved");
    }

    #[test]
    fn errors_become_a_dialog_once() {
        let mut s = new_app();
        assert!(s.update(Message::Images(Err("boom".into()))));
        assert!(matches!(&s.dialog, Some(Dialog::Notice(n)) if n.error && n.text == "boom"));
        // Dismissed, the same refresh failure does not come back every second...
        s.dialog = None;
        assert!(!s.update(Message::Containers(Err("boom".into()))));
        assert_eq!(s.dialog, None);
        // ...but does after the refresh worked in between.
        s.update(Message::Containers(Ok(vec![])));
        assert!(s.update(Message::Containers(Err("boom".into()))));
    }

    #[test]
    fn a_pull_shows_its_progress_then_its_own_error() {
        let mut s = app();
        ch(&mut s, 'P');
        typed(&mut s, "busybox");
        assert_eq!(key(&mut s, KeyCode::Enter).action, Some(Action::Pull("busybox".into())));
        s.update(Message::Pull(Err("manifest unknown".into())));
        assert!(matches!(&s.dialog, Some(Dialog::Pull(p)) if !p.running()), "{:?}", s.dialog);
        // Hidden, a later failure of another pull is an error of its own.
        key(&mut s, KeyCode::Esc);
        assert!(!s.update(Message::Pull(Ok(berth_engine::api::ProgressEvent::Message("x".into())))));
        assert!(s.update(Message::Pull(Err("gone".into()))));
        assert!(matches!(&s.dialog, Some(Dialog::Notice(n)) if n.text == "gone"));
    }
}

mod mouse {
    use super::*;

    #[test]
    fn clicks_select_and_sort_where_the_frame_drew() {
        let mut s = app();
        // Nothing drawn yet: a click hits nothing.
        assert!(!click(&mut s, 10, 5));
        frame(&mut s, 200, 50);
        // Rows start under the header line (y=1), the block border and the column titles.
        click(&mut s, 10, 5);
        assert_eq!(selected(&s), "web");
        click(&mut s, 4, 2);
        assert!(s.containers.sort_rev, "a click on the sorted column reverses it");
        assert_eq!(selected(&s), "web");
        frame(&mut s, 200, 50);
        wheel(&mut s, true, 10, 5);
        assert_eq!(selected(&s), "old");
        // A click past the last row selects nothing.
        frame(&mut s, 200, 50);
        assert!(!click(&mut s, 10, 20));
        // The detail: a click focuses it, the wheel scrolls its tab.
        assert!(click(&mut s, 150, 10));
        assert!(s.detail.focused);
    }

    #[test]
    fn header_clicks_map_to_the_column_under_them() {
        let mut s = app();
        frame(&mut s, 200, 50);
        let at = |s: &App, x: u16, y: u16| s.hits.at(x, y).cloned();
        use berth_ui::hit::Target::SortBy;
        assert_eq!(at(&s, 4, 2), Some(SortBy(SortKey::Name)));
        assert_eq!(at(&s, 4, 3), Some(berth_ui::hit::Target::Row(Pane::Containers, 0)), "the first row, not a title");
        // The last column (NET) ends at the right border.
        assert_eq!(at(&s, 110, 2), Some(SortBy(SortKey::Net)));
        // With a HOST column first (not a sort key), NAME moves right.
        let st = |name: &str| berth_engine::multi::EndpointStatus {
            name: name.into(),
            address: String::new(),
            state: berth_engine::multi::EndpointState::Up,
        };
        s.update(Message::Endpoints(vec![st("berth"), st("dockerd")]));
        frame(&mut s, 200, 50);
        assert_eq!(at(&s, 4, 2), None);
        assert_eq!(at(&s, 14, 2), Some(SortBy(SortKey::Name)));
        assert_eq!(at(&s, 110, 2), Some(SortBy(SortKey::Net)));
    }
}

mod terminal {
    use super::*;

    /// `e` asks for a shell sized like the pane it will show in (the detail area the last
    /// frame drew), on the selected container.
    #[test]
    fn e_opens_a_shell_the_size_of_the_pane() {
        let mut s = app();
        frame(&mut s, 200, 50);
        let h = ch(&mut s, 'e');
        // 200×50: the detail is the right 40 % of the body (48 rows); the tab line and the border are off.
        assert_eq!(
            h.action,
            Some(Action::OpenSession { kind: SessionKind::Shell, id: "c2".into(), title: "shell · db".into(), size: (45, 78) })
        );
        // A shell on no container: nothing.
        let mut e = new_app();
        e.update(Message::Containers(Ok(vec![])));
        frame(&mut e, 200, 50);
        assert_eq!(ch(&mut e, 'e').action, None);
    }
}

mod terminal_mouse {
    use super::*;
    use berth_ui::terminal::emulator::TerminalPane;

    /// A click on the terminal pane gives it the keys; the wheel over it scrolls its
    /// history, not the list under the pointer's row.
    #[test]
    fn the_terminal_pane_takes_clicks_and_the_wheel() {
        let mut s = app();
        let mut pane = TerminalPane::new("shell · db", "c2", 10, 78);
        for i in 0..40 {
            pane.feed(format!("line {i}\r\n").as_bytes());
        }
        s.terminal.push_pane(pane);
        s.terminal.focused = false;
        frame(&mut s, 200, 50);
        wheel(&mut s, false, 150, 20);
        assert_eq!(s.terminal.active().unwrap().scroll, 3);
        assert_eq!(selected(&s), "db", "the list did not move");
        assert!(click(&mut s, 150, 20));
        assert!(s.terminal.focused);
        // Typed keys now go to the session: the first returns to the live screen, the next
        // costs no frame until its echo.
        assert!(ch(&mut s, 'q').redraw);
        assert_eq!(s.terminal.active().unwrap().scroll, 0);
        assert_eq!(ch(&mut s, 'q'), Handled::default());
        assert!(!s.quit);
    }
}

mod endpoints {
    use super::*;
    use berth_engine::multi::{EndpointState, EndpointStatus, qualify};

    /// Two endpoints (IDs qualified as MultiBackend hands them out), one of them down.
    fn two_endpoints() -> App {
        let mut s = App::new(Config::default_config(), "endpoints".into(), 0);
        let st = |n: &str, state: EndpointState| EndpointStatus { name: n.into(), address: String::new(), state };
        s.update(Message::Endpoints(vec![st("berth", EndpointState::Up), st("dockerd", EndpointState::Down("gone".into()))]));
        s.update(Message::Containers(Ok(vec![
            ctr(&qualify("berth", "c1"), "web", "running"),
            ctr(&qualify("dockerd", "c2"), "dk", "running"),
        ])));
        s.update(Message::Images(Ok(vec![ImageSummary { id: qualify("dockerd", "sha256:bb"), ..img("x", "busybox:1") }])));
        s
    }

    fn command(s: &mut App, line: &str) -> Handled {
        ch(s, ':');
        assert!(matches!(s.dialog, Some(Dialog::Prompt(_))));
        typed(s, line);
        key(s, KeyCode::Enter)
    }

    #[test]
    fn ctx_command_and_switcher_pick_an_endpoint() {
        let mut s = two_endpoints();
        assert!(s.ctx.show_host() && names(&s).len() == 2);
        assert_eq!(command(&mut s, "ctx dockerd").action, Some(Action::SetEndpoint(Some("dockerd".into()))));
        assert_eq!(names(&s), ["dk"]);
        assert!(!s.ctx.show_host() && s.dialog.is_none());
        // A typo is one message, the view unchanged.
        assert_eq!(command(&mut s, "ctx nope").action, None);
        assert!(
            matches!(&s.dialog, Some(Dialog::Notice(n)) if n.text.contains("no endpoint named \"nope\"") && n.text.contains("berth, dockerd"))
        );
        key(&mut s, KeyCode::Esc);
        assert_eq!(s.ctx.endpoint.as_deref(), Some("dockerd"));
        // `:ctx` opens the switcher on the endpoint in view (all, berth, dockerd); up is berth.
        command(&mut s, "ctx");
        assert!(matches!(&s.dialog, Some(Dialog::Endpoints(e)) if e.cursor == 2));
        ch(&mut s, 'k');
        assert_eq!(key(&mut s, KeyCode::Enter).action, Some(Action::SetEndpoint(Some("berth".into()))));
        assert_eq!(selected(&s), "web");
        command(&mut s, "ctx all");
        assert_eq!(names(&s).len(), 2);
        assert_eq!(command(&mut s, "bogus").action, None);
        assert!(matches!(&s.dialog, Some(Dialog::Notice(n)) if n.text.contains("unknown command")));
    }

    #[test]
    fn ctx_with_one_endpoint_says_so_and_image_actions_keep_their_host() {
        let mut s = app();
        command(&mut s, "ctx");
        assert!(matches!(&s.dialog, Some(Dialog::Notice(n)) if n.text.contains("only one endpoint")));
        // Several endpoints: an image's name is qualified with where it lives.
        let mut s = two_endpoints();
        ch(&mut s, '2');
        assert_eq!(ch(&mut s, 'H').action, Some(Action::History("dockerd#busybox:1".into())));
        ch(&mut s, 'n');
        assert!(matches!(&s.dialog, Some(Dialog::Run(r)) if r.fields[0].text == "dockerd#busybox:1"));
    }
}

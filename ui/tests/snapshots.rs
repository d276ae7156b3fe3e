//! Every pane, tab and dialog at fixed sizes and states, rendered to ratatui's TestBackend
//! and compared with reviewed snapshots (`INSTA_UPDATE=always` then review after an
//! intended change). One module per pane; states are built with messages and keys where
//! a user would get them that way: no backend is involved.
use berth_engine::api::{ContainerSummary, ImageSummary, StatsSample, SystemInfo};
use berth_ui::app::App;
use berth_ui::config::Config;
use berth_ui::hit::HitMap;
use berth_ui::message::Message;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_800_000_000;

fn render(s: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| s.draw(f, &mut HitMap::default())).unwrap();
    format!("{}", t.backend())
}

/// Snapshots at 80×24 and 200×50, named after the module the macro is used in (the pane).
macro_rules! both {
    ($name:expr, $s:expr) => {
        insta::assert_snapshot!(format!("{}_80x24", $name), render($s, 80, 24));
        insta::assert_snapshot!(format!("{}_200x50", $name), render($s, 200, 50));
    };
}

/// Draw a frame as the event loop does (it records where things went for the keys and
/// the mouse that follow).
fn frame(s: &mut App, w: u16, h: u16) {
    Terminal::new(TestBackend::new(w, h)).unwrap().draw(|f| s.frame(f)).unwrap();
}

fn press(s: &mut App, code: KeyCode) {
    s.on_key(&KeyEvent::new(code, KeyModifiers::NONE));
}

fn img(n: u8, tags: &[&str], age: i64, size: u64) -> ImageSummary {
    ImageSummary {
        id: format!("sha256:{}", format!("{n:02x}").repeat(32)),
        repo_tags: tags.iter().map(|s| s.to_string()).collect(),
        repo_digests: if tags.is_empty() {
            vec![]
        } else {
            vec![format!("{}@sha256:{}", tags[0].rsplit_once(':').unwrap().0, "ab".repeat(32))]
        },
        created: NOW - age,
        size,
        containers: n as i64 % 2,
    }
}

fn ctr(n: u8, name: &str, image: &str, state: &str, status: &str) -> ContainerSummary {
    ContainerSummary {
        id: format!("{n:02x}").repeat(32),
        name: name.into(),
        image: image.into(),
        image_id: String::new(),
        command: "sh".into(),
        created: NOW - 600 * n as i64,
        state: state.into(),
        status: status.into(),
        exit_code: 0,
        labels: Default::default(),
        ports: vec![],
    }
}

fn engine() -> App {
    let mut s = App::new(Config::default_config(), "local /var/lib/berth".into(), NOW);
    s.update(Message::Info(Ok(SystemInfo {
        engine: "berth".into(),
        server_version: "0.1.0".into(),
        cpus: 4,
        memory_total: 8 << 30,
        ..SystemInfo::default()
    })));
    s
}

fn empty() -> App {
    let mut s = engine();
    s.update(Message::Containers(Ok(vec![])));
    s.update(Message::Images(Ok(vec![])));
    s
}

/// Three running containers with 120 s of fake stats, two exited ones.
fn several() -> App {
    let mut s = engine();
    s.update(Message::Images(Ok(vec![
        img(1, &["busybox:latest", "busybox:1.36"], 180, 4_261_000),
        img(2, &["127.0.0.1:5000/app:v2"], 7200, 52_400_000),
        img(3, &[], 86400 * 3, 1_200_000),
        img(4, &["hello:latest"], 60 * 60 * 24 * 400, 12_000),
    ])));
    s.update(Message::Containers(Ok(vec![
        ContainerSummary {
            // Published: docker's PORTS column.
            ports: vec![berth_engine::api::ContainerPort {
                ip: "0.0.0.0".into(),
                private_port: 80,
                public_port: 8080,
                protocol: "tcp".into(),
            }],
            ..ctr(1, "web", "127.0.0.1:5000/app:v2", "running", "Up 3 minutes")
        },
        ctr(2, "worker", "busybox", "running", "Up 2 hours"),
        ctr(3, "cache", "busybox", "paused", "Up 5 minutes (Paused)"),
        ctr(4, "job-1", "busybox", "exited", "Exited (0) 10 minutes ago"),
        ctr(5, "crashed", "hello", "exited", "Exited (137) 2 days ago"),
    ])));
    for t in 0..120i64 {
        let wave = |base: f64, amp: f64, period: i64| base + amp * (((t % period) as f64) / period as f64);
        let sample = |n: u8, name: &str, cpu: f64, mem: u64| StatsSample {
            id: format!("{n:02x}").repeat(32),
            name: name.into(),
            cpu_percent: cpu,
            memory_usage: mem,
            memory_limit: 8 << 30,
            pids: 3,
            net_rx: 1500 * t as u64,
            net_tx: 700 * t as u64,
            block_read: 4096 * (t as u64 / 10),
            block_write: 512 * t as u64,
            ..StatsSample::default()
        };
        s.update(Message::Stats {
            samples: vec![
                sample(1, "web", wave(5.0, 20.0, 30), (40 << 20) + (t as u64) * 100_000),
                sample(2, "worker", wave(60.0, 30.0, 17), 300 << 20),
                sample(3, "cache", 0.0, 12 << 20),
            ],
            now: NOW - 120 + t,
        });
    }
    s
}

/// Select a container by name, as the event loop does when the selection moves.
fn select(s: &mut App, name: &str) -> String {
    s.containers.selected = s.containers.visible(&s.ctx).iter().position(|c| c.name == name).unwrap();
    let id = s.containers.selected_container(&s.ctx).unwrap().id.clone();
    s.detail.watching(Some(&id), Some(s.detail.tab));
    id
}

/// The containers list: empty, sorted, marked, filtered, scrolled, narrow.
mod containers {
    use super::*;
    use berth_ui::panes::containers::SortKey;
    use berth_ui::text_field::Filter;

    #[test]
    fn empty_engine() {
        both!("empty", &empty());
    }

    #[test]
    fn running_only() {
        let mut s = several();
        select(&mut s, "crashed");
        s.containers.show_all = false;
        s.containers.selected = 0;
        insta::assert_snapshot!("running_only_80x24", render(&s, 80, 24));
    }

    #[test]
    fn sorted_and_marked() {
        let mut s = several();
        s.containers.set_sort(&s.ctx, SortKey::Cpu, false);
        s.containers.marked.insert(format!("{:02x}", 1).repeat(32));
        s.containers.marked.insert(format!("{:02x}", 2).repeat(32));
        insta::assert_snapshot!("sorted_marked_200x50", render(&s, 200, 50));
        s.containers.filter = Filter { text: "busy".into(), typing: true };
        insta::assert_snapshot!("filtered_80x24", render(&s, 80, 24));
    }

    #[test]
    fn many_containers_scroll_with_the_selection() {
        let mut s = engine();
        s.update(Message::Containers(Ok((0..100).map(|n| ctr(n, &format!("svc-{n:03}"), "busybox", "running", "Up 1 hour")).collect())));
        s.containers.selected = 57;
        insta::assert_snapshot!("many_80x24", render(&s, 80, 24));
    }

    #[test]
    fn very_narrow_terminal() {
        let mut s = several();
        select(&mut s, "web");
        insta::assert_snapshot!("narrow_40x12", render(&s, 40, 12));
        insta::assert_snapshot!("narrow_40x24", render(&s, 40, 24));
    }
}

/// The Stats tab: charts per window, an exited container, no stats.
mod stats {
    use super::*;
    use berth_ui::detail::stats::ChartWindow;

    #[test]
    fn running_containers_stats() {
        let mut s = several();
        select(&mut s, "web");
        both!("containers_stats", &s);
        s.detail.stats.window = ChartWindow::Hour24;
        insta::assert_snapshot!("containers_stats_24h_200x50", render(&s, 200, 50));
    }

    #[test]
    fn exited_container() {
        let mut s = several();
        select(&mut s, "crashed");
        both!("exited_stats", &s);
    }

    #[test]
    fn stats_unavailable() {
        let mut s = several();
        s.containers.stats.clear();
        s.update(Message::StatsError("unsupported on this backend: stats".into()));
        select(&mut s, "web");
        insta::assert_snapshot!("stats_unavailable_80x24", render(&s, 80, 24));
    }
}

mod top {
    use super::*;
    use berth_engine::api::TopResult;
    use berth_ui::detail::Tab;

    #[test]
    fn top_tab() {
        let mut s = several();
        let id = select(&mut s, "worker");
        s.detail.tab = Tab::Top;
        let row = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        s.update(Message::Top {
            id: id.clone(),
            result: Ok(TopResult {
                titles: row(&["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]),
                processes: vec![
                    row(&["root", "4101", "4090", "0", "17:01", "?", "00:00:00", "sh -c while true; do work; done"]),
                    row(&["root", "4120", "4101", "87", "17:03", "?", "00:01:12", "work --hard"]),
                    row(&["root", "4121", "4101", "3", "17:03", "?", "00:00:02", "sleep 1"]),
                ],
            }),
        });
        both!("top", &s);
        s.update(Message::Top { id, result: Err("top: container 0202 is not running".into()) });
        insta::assert_snapshot!("top_error_80x24", render(&s, 80, 24));
    }
}

mod logs {
    use super::*;
    use berth_engine::api::LogLine;
    use berth_ui::detail::Tab;

    /// The Logs tab of `web` with 60 lines, every 7th an error on stderr.
    pub(crate) fn with_lines() -> App {
        let mut s = several();
        let id = select(&mut s, "web");
        s.detail.tab = Tab::Logs;
        s.detail.focused = true;
        let lines = (0..60)
            .map(|i| LogLine {
                stream: if i % 7 == 0 { "stderr".into() } else { "stdout".into() },
                time: format!("2027-01-15T08:{:02}:{:02}.000000000Z", i / 60, i % 60),
                line: if i % 7 == 0 { format!("ERROR request {i} failed") } else { format!("GET /item/{i} 200") },
            })
            .collect();
        s.update(Message::LogLines { id, lines });
        s
    }

    #[test]
    fn logs_tab() {
        let mut s = with_lines();
        both!("logs", &s);
        s.detail.logs.search.text = "error".into();
        s.detail.logs.timestamps = true;
        both!("logs_search", &s);
    }

    /// `N` after a search: the newest match is marked and its number shown; `N` again
    /// goes to an older one.
    #[test]
    fn logs_search_jumps_between_matches() {
        let mut s = with_lines();
        frame(&mut s, 80, 24);
        press(&mut s, KeyCode::Char('/'));
        for c in "error".chars() {
            press(&mut s, KeyCode::Char(c));
        }
        press(&mut s, KeyCode::Enter);
        press(&mut s, KeyCode::Char('N'));
        press(&mut s, KeyCode::Char('N'));
        insta::assert_snapshot!("logs_search_jump_80x24", render(&s, 80, 24));
    }
}

mod inspect {
    use super::*;
    use berth_ui::detail::Tab;

    #[test]
    fn inspect_tab() {
        let mut s = several();
        let id = select(&mut s, "web");
        s.detail.tab = Tab::Inspect;
        s.detail.focused = true;
        let v = serde_json::json!({
            "Id": id,
            "Name": "web",
            "State": {"Status": "running", "Running": true, "Pid": 4101, "ExitCode": 0},
            "Config": {"Env": ["PATH=/usr/bin:/bin", "MODE=prod"], "Cmd": ["sh", "-c", "serve"], "Tty": false},
        });
        s.update(Message::Inspect { id, result: Ok(v) });
        s.detail.inspect.cursor = 2;
        both!("inspect", &s);
        s.detail.inspect.folded.insert("/State".into());
        insta::assert_snapshot!("inspect_folded_80x24", render(&s, 80, 24));
    }
}

mod changes {
    use super::*;
    use berth_engine::api::{ChangeKind, FsChange};
    use berth_ui::detail::Tab;

    #[test]
    fn changes_tab_and_commit() {
        let mut s = several();
        let id = select(&mut s, "web");
        s.detail.tab = Tab::Changes;
        s.detail.focused = true;
        s.update(Message::Changes { id: id.clone(), result: Ok(vec![]) });
        insta::assert_snapshot!("changes_empty_80x24", render(&s, 80, 24));
        let c = |kind, path: &str| FsChange { kind, path: path.into() };
        let list = vec![
            c(ChangeKind::Modified, "/bin"),
            c(ChangeKind::Deleted, "/bin/ls"),
            c(ChangeKind::Added, "/data"),
            c(ChangeKind::Added, "/data/app.db"),
            c(ChangeKind::Modified, "/etc"),
            c(ChangeKind::Modified, "/etc/passwd"),
            c(ChangeKind::Modified, "/tmp"),
            c(ChangeKind::Added, "/tmp/new"),
        ];
        s.update(Message::Changes { id: id.clone(), result: Ok(list) });
        both!("changes", &s);
        s.update(Message::Changes { id: id.clone(), result: Err("No such container: web".into()) });
        insta::assert_snapshot!("changes_error_80x24", render(&s, 80, 24));
        // Another container's list never lands on this one.
        let before = render(&s, 80, 24);
        assert!(!s.update(Message::Changes { id: "other".into(), result: Ok(vec![]) }));
        assert_eq!(render(&s, 80, 24), before);
        // c asks for the image's name.
        press(&mut s, KeyCode::Char('c'));
        for c in "web-snapshot:v1".chars() {
            press(&mut s, KeyCode::Char(c));
        }
        insta::assert_snapshot!("commit_80x24", render(&s, 80, 24));
        s.dialog = None;
        s.update(Message::Committed(Ok((format!("sha256:{}", "ab".repeat(32)), "web-snapshot:v1".into()))));
        insta::assert_snapshot!("committed_80x24", render(&s, 80, 24));
    }
}

mod images {
    use super::*;
    use berth_ui::panes::Pane;

    #[test]
    fn empty_images() {
        let mut s = empty();
        s.focus = Pane::Images;
        both!("empty_images", &s);
    }

    #[test]
    fn images_pane() {
        let mut s = several();
        s.focus = Pane::Images;
        s.images.move_by(&s.ctx, 1);
        both!("images", &s);
    }

    #[test]
    fn narrow_images() {
        let mut s = several();
        select(&mut s, "web");
        s.focus = Pane::Images;
        insta::assert_snapshot!("narrow_images_40x12", render(&s, 40, 12));
        insta::assert_snapshot!("tiny_10x3", render(&s, 10, 3));
    }

    /// USED and "Used by" show the count the backend gives, whatever it is.
    #[test]
    fn used_shows_the_count_it_gets() {
        let mut s = engine();
        let mut busy = img(1, &["busybox:latest"], 180, 4_261_000);
        busy.containers = 8;
        let mut many = img(2, &["app:v2"], 7200, 52_400_000);
        many.containers = 1234;
        let mut unknown = img(3, &["hello:latest"], 7200, 12_000);
        unknown.containers = -1;
        s.update(Message::Images(Ok(vec![busy, many, unknown])));
        s.focus = Pane::Images;
        let screen = render(&s, 200, 50);
        let used = |tag: &str| -> String {
            let row = screen.lines().find(|l| l.contains(tag) && l.contains("ago")).unwrap_or_else(|| panic!("{tag}:\n{screen}"));
            // The list's part of the line (the details box is beside it), its last column.
            row.split('┃').nth(1).and_then(|r| r.split_whitespace().last()).unwrap().to_string()
        };
        assert_eq!(used("busybox:latest"), "8", "{screen}");
        assert_eq!(used("app:v2"), "1234", "{screen}");
        assert_eq!(used("hello:latest"), "?", "{screen}");
        assert!(screen.contains("Used by  8 container(s)"), "{screen}");
    }
}

mod volumes {
    use super::*;
    use berth_engine::api::Volume;
    use berth_ui::panes::Pane;

    fn vol(name: &str, users: &[&str]) -> Volume {
        Volume {
            name: name.into(),
            driver: "local".into(),
            mountpoint: format!("/var/lib/berth/volumes/{name}/_data"),
            created_at: "2027-01-15T08:00:00Z".into(),
            scope: "local".into(),
            users: Some(users.iter().map(|u| u.to_string()).collect()),
            ..Default::default()
        }
    }

    /// Named, anonymous (shortened like an ID), in use by two containers, unused (dimmed).
    #[test]
    fn volumes_pane() {
        let mut s = several();
        s.update(Message::Volumes(Ok(vec![vol("pgdata", &["db"]), vol(&"3f".repeat(32), &[]), vol("shared", &["web", "worker"])])));
        s.focus = Pane::Volumes;
        s.volumes.move_by(&s.ctx, 2);
        both!("volumes", &s);
        // Asking before a prune.
        press(&mut s, KeyCode::Char('X'));
        insta::assert_snapshot!("volumes_prune_80x24", render(&s, 80, 24));
        let mut e = empty();
        e.update(Message::Volumes(Ok(vec![])));
        e.focus = Pane::Volumes;
        insta::assert_snapshot!("volumes_empty_80x24", render(&e, 80, 24));
    }
}

/// The PORTS column, on a list wide enough for it.
#[test]
fn containers_with_ports_260x30() {
    let s = several();
    insta::assert_snapshot!("containers_ports_260x30", render(&s, 260, 30));
}

mod networks {
    use super::*;
    use berth_engine::api::{IpamConfig, Network, NetworkContainer, NetworkIpam};
    use berth_ui::panes::Pane;

    fn net(name: &str, subnet: &str, users: &[&str]) -> Network {
        let containers = users
            .iter()
            .enumerate()
            .map(|(i, u)| {
                (
                    format!("{:02x}", i + 1).repeat(32),
                    NetworkContainer {
                        name: u.to_string(),
                        ipv4_address: format!("{}.{}/24", subnet.trim_end_matches(".0/24"), i + 2),
                        mac_address: format!("02:42:0a:59:00:{:02x}", i + 2),
                        ..Default::default()
                    },
                )
            })
            .collect();
        Network {
            name: name.into(),
            id: format!("{:02x}", name.len()).repeat(32),
            driver: "bridge".into(),
            created: "2027-01-15T08:00:00Z".into(),
            scope: "local".into(),
            ipam: NetworkIpam {
                driver: "default".into(),
                config: vec![IpamConfig { subnet: subnet.into(), gateway: subnet.replace(".0/24", ".1"), ..Default::default() }],
                ..Default::default()
            },
            containers,
            users: Some(users.iter().map(|u| u.to_string()).collect()),
            ..Default::default()
        }
    }

    /// The default network in use, a user network with two containers (selected: its
    /// details list their addresses), an unused one (dimmed).
    #[test]
    fn networks_pane() {
        let mut s = several();
        s.update(Message::Networks(Ok(vec![
            net("appnet", "10.89.1.0/24", &["db", "web"]),
            net("bridge", "10.89.0.0/24", &["worker"]),
            net("idle", "10.89.2.0/24", &[]),
        ])));
        s.focus = Pane::Networks;
        both!("networks", &s);
        // Asking before a prune; asking which container to connect.
        press(&mut s, KeyCode::Char('X'));
        insta::assert_snapshot!("networks_prune_80x24", render(&s, 80, 24));
        press(&mut s, KeyCode::Esc);
        press(&mut s, KeyCode::Char('+'));
        insta::assert_snapshot!("networks_connect_80x24", render(&s, 80, 24));
        let mut e = empty();
        e.update(Message::Networks(Ok(vec![])));
        e.focus = Pane::Networks;
        insta::assert_snapshot!("networks_empty_80x24", render(&e, 80, 24));
    }
}

mod dialogs {
    use super::*;
    use berth_engine::api::{HistoryItem, LayerStatus, ProgressEvent};
    use berth_ui::dialogs::Dialog;
    use berth_ui::dialogs::confirm::Confirm;
    use berth_ui::dialogs::prompt::Prompt;
    use berth_ui::dialogs::pull::{Pull, PullView};
    use berth_ui::dialogs::run::RunForm;
    use berth_ui::text_field::TextField;

    #[test]
    fn error_message() {
        let mut s = several();
        s.update(Message::Done(Err("stop 0101010101: cannot open the state root /var/lib/berth: permission denied".into())));
        both!("error", &s);
    }

    #[test]
    fn help_overlay() {
        let mut s = several();
        press(&mut s, KeyCode::Char('?'));
        both!("help", &s);
    }

    #[test]
    fn questions_and_forms() {
        let mut s = several();
        s.dialog = Some(Confirm::remove_containers(vec!["x".into()], "web").into());
        insta::assert_snapshot!("confirm_80x24", render(&s, 80, 24));
        s.dialog = Some(Prompt::rename("x", "web").into());
        insta::assert_snapshot!("rename_80x24", render(&s, 80, 24));
        let mut form = RunForm::new("busybox:latest");
        form.fields[1] = TextField::new("Name", "web2");
        form.fields[2] = TextField::new("Command", "sleep 1000");
        s.dialog = Some(form.into());
        insta::assert_snapshot!("run_80x24", render(&s, 80, 24));
    }

    #[test]
    fn pull_progress_and_history() {
        let mut s = several();
        s.dialog = Some(Dialog::Pull(Pull::Pulling(PullView { reference: "127.0.0.1:5000/app:v2".into(), ..PullView::default() })));
        for ev in [
            ProgressEvent::Message("v2: Pulling from app".into()),
            ProgressEvent::Layer { id: "a1b2c3d4e5f6".into(), status: LayerStatus::PullComplete, current: 0, total: None },
            ProgressEvent::Layer {
                id: "0f1e2d3c4b5a".into(),
                status: LayerStatus::Downloading,
                current: 2_000_000,
                total: Some(5_000_000),
            },
            ProgressEvent::Layer { id: "99aa88bb77cc".into(), status: LayerStatus::Waiting, current: 0, total: None },
        ] {
            s.update(Message::Pull(Ok(ev)));
        }
        insta::assert_snapshot!("pull_80x24", render(&s, 80, 24));
        s.update(Message::Pull(Err("manifest unknown: 127.0.0.1:5000/app:v2".into())));
        insta::assert_snapshot!("pull_failed_80x24", render(&s, 80, 24));
        s.dialog = None;
        s.update(Message::History {
            image: "busybox:latest".into(),
            result: Ok(vec![
                HistoryItem {
                    id: format!("sha256:{}", "01".repeat(32)),
                    created: NOW - 3600,
                    created_by: "/bin/sh -c #(nop)  CMD [\"sh\"]".into(),
                    size: 0,
                    comment: String::new(),
                    empty_layer: true,
                },
                HistoryItem {
                    id: "<missing>".into(),
                    created: NOW - 3700,
                    created_by: "/bin/sh -c #(nop) ADD file:abc in / ".into(),
                    size: 4_261_000,
                    comment: String::new(),
                    empty_layer: false,
                },
            ]),
        });
        insta::assert_snapshot!("history_80x24", render(&s, 80, 24));
    }
}

/// The embedded engine ("berth") and two Docker endpoints, one of them unreachable: IDs
/// qualified `ENDPOINT#ID` as the MultiBackend hands them out.
mod endpoints {
    use super::*;
    use berth_engine::multi::{EndpointState, EndpointStatus, qualify};
    use berth_ui::panes::Pane;

    fn endpoints() -> App {
        let mut s = engine();
        s.update(Message::Info(Ok(SystemInfo { engine: "multi".into(), cpus: 8, memory_total: 16 << 30, ..SystemInfo::default() })));
        s.ctx.backend = "endpoints berth, local-docker, far".into();
        s.update(Message::Endpoints(vec![
            EndpointStatus { name: "berth".into(), address: "local /var/lib/berth".into(), state: EndpointState::Up },
            EndpointStatus { name: "local-docker".into(), address: "docker unix:///run/docker.sock".into(), state: EndpointState::Up },
            EndpointStatus {
                name: "far".into(),
                address: "docker tcp://10.9.9.9:2375".into(),
                state: EndpointState::Down("cannot connect to the Docker daemon at tcp://10.9.9.9:2375: no answer within 4 s".into()),
            },
        ]));
        let q = |ep: &str, mut c: ContainerSummary| {
            c.id = qualify(ep, &c.id);
            c
        };
        s.update(Message::Containers(Ok(vec![
            q("berth", ctr(1, "web", "busybox", "running", "Up 3 minutes")),
            q("berth", ctr(2, "job-1", "busybox", "exited", "Exited (0) 10 minutes ago")),
            q("local-docker", ctr(3, "dk-web", "testimg/busybox:latest", "running", "Up 1 minute")),
            q("local-docker", ctr(4, "dk-db", "postgres:16", "exited", "Exited (0) 2 hours ago")),
        ])));
        let qi = |ep: &str, mut i: ImageSummary| {
            i.id = qualify(ep, &i.id);
            i
        };
        s.update(Message::Images(Ok(vec![
            qi("berth", img(1, &["busybox:latest"], 180, 4_261_000)),
            qi("local-docker", img(2, &["testimg/busybox:latest"], 7200, 4_300_000)),
            qi("local-docker", img(3, &["postgres:16"], 86400, 431_000_000)),
        ])));
        s
    }

    #[test]
    fn several_endpoints_host_column_and_switcher() {
        let mut s = endpoints();
        both!("endpoints_all", &s);
        s.focus = Pane::Images;
        insta::assert_snapshot!("endpoints_images_80x24", render(&s, 80, 24));
        s.focus = Pane::Containers;
        // `:ctx`: the switcher, the unreachable endpoint marked with why.
        assert_eq!(s.command("ctx"), Ok(None));
        insta::assert_snapshot!("endpoints_switcher_120x24", render(&s, 120, 24));
        s.dialog = None;
        // Showing one endpoint: its rows only, no HOST column, the header says which.
        s.set_endpoint(Some("local-docker".into()));
        // What the loop and the next refresh do after a switch: the overview is that endpoint's.
        s.ctx.backend = "endpoint local-docker".into();
        s.update(Message::Info(Ok(SystemInfo {
            engine: "docker".into(),
            server_version: "26.1.5".into(),
            cpus: 4,
            ..SystemInfo::default()
        })));
        insta::assert_snapshot!("endpoints_one_80x24", render(&s, 80, 24));
        assert_eq!(s.containers.visible(&s.ctx).iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["dk-db", "dk-web"]);
    }
}

/// The terminal pane over the detail area, focused, with a shell's output.
mod terminal {
    use super::*;
    use berth_ui::terminal::emulator::TerminalPane;

    #[test]
    fn terminal_pane() {
        let mut s = several();
        select(&mut s, "web");
        let mut pane = TerminalPane::new("shell · web", "01", 20, 78);
        pane.feed(b"/ # echo $((6*7))\r\n42\r\n/ # ");
        s.terminal.push_pane(pane);
        insta::assert_snapshot!("terminal_80x24", render(&s, 80, 24));
        s.terminal.focused = false;
        insta::assert_snapshot!("terminal_unfocused_80x24", render(&s, 80, 24));
    }
}

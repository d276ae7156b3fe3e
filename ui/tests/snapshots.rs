//! Every pane and tab at fixed sizes and states, rendered to ratatui's TestBackend and
//! compared with reviewed snapshots (`INSTA_UPDATE=always` then review after an intended
//! change). States are built with messages only: no backend is involved.
use berth_engine::api::{
    ChangeKind, ContainerSummary, FsChange, HistoryItem, ImageSummary, LayerStatus, LogLine, ProgressEvent, StatsSample, SystemInfo,
    TopResult, Volume,
};
use berth_ui::config::Config;
use berth_ui::state::{AppState, InputKind, Message, Modal, Pane, PullView, RunForm, Tab, TextField};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_800_000_000;

fn render(s: &AppState, w: u16, h: u16) -> String {
    let cfg = Config::default_config();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| berth_ui::view::draw(f, s, &cfg)).unwrap();
    format!("{}", t.backend())
}

fn both(name: &str, s: &AppState) {
    insta::assert_snapshot!(format!("{name}_80x24"), render(s, 80, 24));
    insta::assert_snapshot!(format!("{name}_200x50"), render(s, 200, 50));
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
    }
}

fn engine() -> AppState {
    let mut s = AppState::new("local /var/lib/berth".into(), NOW);
    s.update(Message::Info(Ok(SystemInfo {
        engine: "berth".into(),
        server_version: "0.1.0".into(),
        cpus: 4,
        memory_total: 8 << 30,
        ..SystemInfo::default()
    })));
    s
}

fn empty() -> AppState {
    let mut s = engine();
    s.update(Message::Containers(Ok(vec![])));
    s.update(Message::Images(Ok(vec![])));
    s
}

/// Three running containers with 120 s of fake stats, two exited ones.
fn several() -> AppState {
    let mut s = engine();
    s.update(Message::Images(Ok(vec![
        img(1, &["busybox:latest", "busybox:1.36"], 180, 4_261_000),
        img(2, &["127.0.0.1:5000/app:v2"], 7200, 52_400_000),
        img(3, &[], 86400 * 3, 1_200_000),
        img(4, &["hello:latest"], 60 * 60 * 24 * 400, 12_000),
    ])));
    s.update(Message::Containers(Ok(vec![
        ctr(1, "web", "127.0.0.1:5000/app:v2", "running", "Up 3 minutes"),
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

fn select(s: &mut AppState, name: &str) {
    s.c_selected = s.visible_containers().iter().position(|c| c.name == name).unwrap();
    let id = s.selected_container().unwrap().id.clone();
    s.detail_changed(Some(&id), Some(s.tab));
}

#[test]
fn empty_engine() {
    let s = empty();
    both("empty", &s);
    let mut s = empty();
    s.focus = Pane::Images;
    both("empty_images", &s);
}

#[test]
fn running_containers_stats() {
    let mut s = several();
    select(&mut s, "web");
    both("containers_stats", &s);
    s.chart_window = berth_ui::state::ChartWindow::Hour24;
    insta::assert_snapshot!("containers_stats_24h_200x50", render(&s, 200, 50));
}

#[test]
fn exited_container() {
    let mut s = several();
    select(&mut s, "crashed");
    both("exited_stats", &s);
    s.show_all = false;
    s.c_selected = 0;
    insta::assert_snapshot!("running_only_80x24", render(&s, 80, 24));
}

#[test]
fn sorted_and_marked() {
    let mut s = several();
    s.set_sort(berth_ui::state::SortKey::Cpu, false);
    s.marked.insert(format!("{:02x}", 1).repeat(32));
    s.marked.insert(format!("{:02x}", 2).repeat(32));
    insta::assert_snapshot!("sorted_marked_200x50", render(&s, 200, 50));
    s.c_filter = "busy".into();
    s.filtering = true;
    insta::assert_snapshot!("filtered_80x24", render(&s, 80, 24));
}

#[test]
fn top_tab() {
    let mut s = several();
    select(&mut s, "worker");
    s.tab = Tab::Top;
    let id = s.selected_container().unwrap().id.clone();
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
    both("top", &s);
    s.update(Message::Top { id, result: Err("top: container 0202 is not running".into()) });
    insta::assert_snapshot!("top_error_80x24", render(&s, 80, 24));
}

#[test]
fn logs_tab() {
    let mut s = several();
    select(&mut s, "web");
    s.tab = Tab::Logs;
    s.detail_focus = true;
    let id = s.selected_container().unwrap().id.clone();
    let lines = (0..60)
        .map(|i| LogLine {
            stream: if i % 7 == 0 { "stderr".into() } else { "stdout".into() },
            time: format!("2027-01-15T08:{:02}:{:02}.000000000Z", i / 60, i % 60),
            line: if i % 7 == 0 { format!("ERROR request {i} failed") } else { format!("GET /item/{i} 200") },
        })
        .collect();
    s.update(Message::LogLines { id, lines });
    both("logs", &s);
    s.logs.search = "error".into();
    s.logs.timestamps = true;
    both("logs_search", &s);
}

#[test]
fn inspect_tab() {
    let mut s = several();
    select(&mut s, "web");
    s.tab = Tab::Inspect;
    s.detail_focus = true;
    let id = s.selected_container().unwrap().id.clone();
    let v = serde_json::json!({
        "Id": id,
        "Name": "web",
        "State": {"Status": "running", "Running": true, "Pid": 4101, "ExitCode": 0},
        "Config": {"Env": ["PATH=/usr/bin:/bin", "MODE=prod"], "Cmd": ["sh", "-c", "serve"], "Tty": false},
    });
    s.update(Message::Inspect { id, result: Ok(v) });
    s.inspect_cursor = 2;
    both("inspect", &s);
    s.folded.insert("/State".into());
    insta::assert_snapshot!("inspect_folded_80x24", render(&s, 80, 24));
}

#[test]
fn changes_tab() {
    let mut s = several();
    select(&mut s, "web");
    s.tab = Tab::Changes;
    s.detail_focus = true;
    let id = s.selected_container().unwrap().id.clone();
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
    both("changes", &s);
    s.update(Message::Changes { id: id.clone(), result: Err("No such container: web".into()) });
    insta::assert_snapshot!("changes_error_80x24", render(&s, 80, 24));
    // Another container's list never lands on this one.
    let before = render(&s, 80, 24);
    assert!(!s.update(Message::Changes { id: "other".into(), result: Ok(vec![]) }));
    assert_eq!(render(&s, 80, 24), before);
    s.modal =
        Some(Modal::Input { kind: InputKind::Commit { id, name: "web".into() }, field: TextField::new("REPO[:TAG]", "web-snapshot:v1") });
    insta::assert_snapshot!("commit_80x24", render(&s, 80, 24));
    s.modal = None;
    s.update(Message::Committed(Ok((format!("sha256:{}", "ab".repeat(32)), "web-snapshot:v1".into()))));
    insta::assert_snapshot!("committed_80x24", render(&s, 80, 24));
}

#[test]
fn images_pane() {
    let mut s = several();
    s.focus = Pane::Images;
    s.move_selection(1);
    both("images", &s);
}

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
    s.move_selection(2);
    both("volumes", &s);
    // Asking before a prune.
    s.modal = Some(Modal::ConfirmVolumes {
        question: "Remove the anonymous volumes no container uses?".into(),
        action: berth_ui::input::Action::PruneVolumes,
    });
    insta::assert_snapshot!("volumes_prune_80x24", render(&s, 80, 24));
    let mut e = empty();
    e.update(Message::Volumes(Ok(vec![])));
    e.focus = Pane::Volumes;
    insta::assert_snapshot!("volumes_empty_80x24", render(&e, 80, 24));
}

#[test]
fn error_message() {
    let mut s = several();
    s.update(Message::Done(Err("stop 0101010101: cannot open the state root /var/lib/berth: permission denied".into())));
    both("error", &s);
}

#[test]
fn stats_unavailable() {
    let mut s = several();
    s.stats.clear();
    s.update(Message::StatsError("unsupported on this backend: stats".into()));
    select(&mut s, "web");
    insta::assert_snapshot!("stats_unavailable_80x24", render(&s, 80, 24));
}

#[test]
fn help_overlay() {
    let mut s = several();
    s.modal = Some(Modal::Help);
    both("help", &s);
}

#[test]
fn dialogs() {
    let mut s = several();
    s.modal = Some(Modal::ConfirmRemoveContainers { ids: vec!["x".into()], label: "web".into() });
    insta::assert_snapshot!("confirm_80x24", render(&s, 80, 24));
    s.modal = Some(Modal::Input { kind: InputKind::Rename { id: "x".into() }, field: TextField::new("New name", "web") });
    insta::assert_snapshot!("rename_80x24", render(&s, 80, 24));
    let mut form = RunForm::new("busybox:latest");
    form.fields[1] = TextField::new("Name", "web2");
    form.fields[2] = TextField::new("Command", "sleep 1000");
    s.modal = Some(Modal::Run(form));
    insta::assert_snapshot!("run_80x24", render(&s, 80, 24));
    s.modal = Some(Modal::Pull(PullView { reference: "127.0.0.1:5000/app:v2".into(), ..PullView::default() }));
    for ev in [
        ProgressEvent::Message("v2: Pulling from app".into()),
        ProgressEvent::Layer { id: "a1b2c3d4e5f6".into(), status: LayerStatus::PullComplete, current: 0, total: None },
        ProgressEvent::Layer { id: "0f1e2d3c4b5a".into(), status: LayerStatus::Downloading, current: 2_000_000, total: Some(5_000_000) },
        ProgressEvent::Layer { id: "99aa88bb77cc".into(), status: LayerStatus::Waiting, current: 0, total: None },
    ] {
        s.update(Message::Pull(Ok(ev)));
    }
    insta::assert_snapshot!("pull_80x24", render(&s, 80, 24));
    s.update(Message::Pull(Err("manifest unknown: 127.0.0.1:5000/app:v2".into())));
    insta::assert_snapshot!("pull_failed_80x24", render(&s, 80, 24));
    s.modal = None;
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

#[test]
fn many_containers_scroll_with_the_selection() {
    let mut s = engine();
    s.update(Message::Containers(Ok((0..100).map(|n| ctr(n, &format!("svc-{n:03}"), "busybox", "running", "Up 1 hour")).collect())));
    s.c_selected = 57;
    insta::assert_snapshot!("many_80x24", render(&s, 80, 24));
}

#[test]
fn very_narrow_terminal() {
    let mut s = several();
    select(&mut s, "web");
    insta::assert_snapshot!("narrow_40x12", render(&s, 40, 12));
    insta::assert_snapshot!("narrow_40x24", render(&s, 40, 24));
    s.focus = Pane::Images;
    insta::assert_snapshot!("narrow_images_40x12", render(&s, 40, 12));
    insta::assert_snapshot!("tiny_10x3", render(&s, 10, 3));
}

/// The embedded engine ("berth") and two Docker endpoints, one of them unreachable: IDs
/// qualified `ENDPOINT#ID` as the MultiBackend hands them out.
fn endpoints() -> AppState {
    use berth_engine::multi::{EndpointState, EndpointStatus, qualify};
    let mut s = engine();
    s.update(Message::Info(Ok(SystemInfo { engine: "multi".into(), cpus: 8, memory_total: 16 << 30, ..SystemInfo::default() })));
    s.backend = "endpoints berth, local-docker, far".into();
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
    both("endpoints_all", &s);
    s.focus = Pane::Images;
    insta::assert_snapshot!("endpoints_images_80x24", render(&s, 80, 24));
    s.focus = Pane::Containers;
    // `:ctx`: the switcher, the unreachable endpoint marked with why.
    assert_eq!(s.command("ctx"), Ok(None));
    insta::assert_snapshot!("endpoints_switcher_120x24", render(&s, 120, 24));
    s.modal = None;
    // Showing one endpoint: its rows only, no HOST column, the header says which.
    s.set_endpoint(Some("local-docker".into()));
    // What the loop and the next refresh do after a switch: the overview is that endpoint's.
    s.backend = "endpoint local-docker".into();
    s.update(Message::Info(Ok(SystemInfo { engine: "docker".into(), server_version: "26.1.5".into(), cpus: 4, ..SystemInfo::default() })));
    insta::assert_snapshot!("endpoints_one_80x24", render(&s, 80, 24));
    assert_eq!(s.visible_containers().iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["dk-db", "dk-web"]);
}

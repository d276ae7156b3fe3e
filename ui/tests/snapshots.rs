//! Every pane at fixed sizes and states, rendered to ratatui's TestBackend and compared
//! with reviewed snapshots (`cargo insta review` after an intended change).
use berth_engine::api::ImageSummary;
use berth_ui::config::Config;
use berth_ui::state::{AppState, Message, Modal};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const NOW: i64 = 1_800_000_000;

fn render(s: &AppState, w: u16, h: u16) -> String {
    let cfg = Config::default_config();
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| berth_ui::view::draw(f, s, &cfg)).unwrap();
    format!("{}", t.backend())
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

fn several() -> AppState {
    let mut s = AppState::new("local /var/lib/berth".into(), NOW);
    s.update(Message::Images(Ok(vec![
        img(1, &["busybox:latest", "busybox:1.36"], 180, 4_261_000),
        img(2, &["127.0.0.1:5000/app:v2"], 7200, 52_400_000),
        img(3, &[], 86400 * 3, 1_200_000),
        img(4, &["hello:latest"], 60 * 60 * 24 * 400, 12_000),
    ])));
    s
}

#[test]
fn empty_engine() {
    let mut s = AppState::new("local /var/lib/berth".into(), NOW);
    s.update(Message::Images(Ok(vec![])));
    insta::assert_snapshot!("empty_80x24", render(&s, 80, 24));
    insta::assert_snapshot!("empty_200x50", render(&s, 200, 50));
}

#[test]
fn several_images() {
    let mut s = several();
    s.move_selection(1);
    insta::assert_snapshot!("images_80x24", render(&s, 80, 24));
    insta::assert_snapshot!("images_200x50", render(&s, 200, 50));
}

#[test]
fn filtered() {
    let mut s = several();
    s.filter = "busy".into();
    s.filtering = true;
    insta::assert_snapshot!("filtered_80x24", render(&s, 80, 24));
}

#[test]
fn error_message() {
    let mut s = several();
    s.update(Message::Images(Err("cannot open the state root /var/lib/berth: permission denied".into())));
    insta::assert_snapshot!("error_80x24", render(&s, 80, 24));
    insta::assert_snapshot!("error_200x50", render(&s, 200, 50));
}

#[test]
fn help_overlay() {
    let mut s = several();
    s.modal = Some(Modal::Help);
    insta::assert_snapshot!("help_80x24", render(&s, 80, 24));
}

#[test]
fn confirm_remove() {
    let mut s = several();
    s.modal = Some(Modal::ConfirmRemove { image: "busybox:latest".into(), label: "busybox:latest".into() });
    insta::assert_snapshot!("confirm_80x24", render(&s, 80, 24));
}

#[test]
fn very_narrow_terminal() {
    let s = several();
    insta::assert_snapshot!("narrow_40x12", render(&s, 40, 12));
    insta::assert_snapshot!("tiny_10x3", render(&s, 10, 3));
}

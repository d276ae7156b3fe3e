//! The event loop: terminal setup and restore, background refresh tasks, and the select
//! over messages, terminal events, ticks and SIGTERM. Redraws only when the state says so.
use std::io::{self, Stdout};
use std::sync::Arc;
use std::time::Duration;

use berth_engine::api::{ContainerBackend, ImageListOptions};
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use tokio::sync::{Notify, mpsc};

use crate::config::Config;
use crate::input::{self, Action};
use crate::state::{AppState, Message};
use crate::view;

#[derive(Debug, thiserror::Error)]
pub enum UiError {
    #[error("the dashboard needs a terminal (stdin and stdout must be a TTY)")]
    NotATerminal,
    #[error("terminal: {0}")]
    Terminal(#[from] io::Error),
}

/// Restores the terminal when dropped (normal exit, error, or unwinding panic).
struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn restore_terminal() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), DisableMouseCapture, LeaveAlternateScreen, crossterm::cursor::Show);
}

fn setup_terminal() -> Result<Terminal<CrosstermBackend<Stdout>>, UiError> {
    use std::io::IsTerminal;
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(UiError::NotATerminal);
    }
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        prev(info);
    }));
    enable_raw_mode()?;
    execute!(io::stdout(), EnterAlternateScreen, EnableMouseCapture)?;
    Ok(Terminal::new(CrosstermBackend::new(io::stdout()))?)
}

fn now() -> i64 {
    berth_engine::human::now_unix()
}

/// Run the dashboard until the user quits or SIGTERM arrives.
pub async fn run(backend: Arc<dyn ContainerBackend>, cfg: Config) -> Result<(), UiError> {
    let mut terminal = setup_terminal()?;
    let _guard = TerminalGuard;
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let refresh = Arc::new(Notify::new());
    spawn_refresher(backend.clone(), tx.clone(), refresh.clone(), Duration::from_millis(cfg.refresh_ms));

    let mut state = AppState::new(backend.describe(), now());
    let mut events = EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut dirty = true;
    loop {
        if dirty {
            terminal.draw(|f| view::draw(f, &state, &cfg))?;
            dirty = false;
        }
        if state.quit {
            break;
        }
        tokio::select! {
            Some(msg) = rx.recv() => dirty |= state.update(msg),
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    let size = terminal.size()?;
                    let (redraw, action) = input::handle(&ev, &mut state, &cfg, Rect::new(0, 0, size.width, size.height));
                    dirty |= redraw;
                    if let Some(a) = action {
                        run_action(a, backend.clone(), tx.clone(), refresh.clone());
                    }
                }
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            _ = tick.tick() => dirty |= state.update(Message::Tick { now: now() }),
            _ = sigterm.recv() => break,
        }
    }
    Ok(())
}

/// Lists on an interval (and at once when notified), sending only results; a slow
/// backend delays the next refresh, never the render.
fn spawn_refresher(backend: Arc<dyn ContainerBackend>, tx: mpsc::Sender<Message>, notify: Arc<Notify>, every: Duration) {
    tokio::spawn(async move {
        loop {
            let images = backend.list_images(&ImageListOptions::default()).await.map_err(|e| e.to_string());
            if tx.send(Message::Images(images)).await.is_err() {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = notify.notified() => {}
            }
        }
    });
}

fn run_action(a: Action, backend: Arc<dyn ContainerBackend>, tx: mpsc::Sender<Message>, refresh: Arc<Notify>) {
    tokio::spawn(async move {
        let msg = match a {
            Action::Refresh => None,
            Action::RemoveImage(name) => Some(Message::Removed(backend.remove_image(&name, false).await.map_err(|e| e.to_string()))),
            Action::PruneImages => Some(Message::Pruned(backend.prune_images(false).await.map_err(|e| e.to_string()))),
        };
        if let Some(m) = msg {
            let _ = tx.send(m).await;
        }
        refresh.notify_one();
    });
}

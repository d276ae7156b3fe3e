//! The event loop: terminal setup and restore, the background tasks, and the select over
//! messages, session output, terminal events, ticks and SIGTERM/SIGHUP. Redraws only when
//! something visible changed. On the way out every task is aborted, never awaited: a
//! stream waiting for output (a silent container's log) must not hold a quit up.
use std::io::{self, Stdout};
use std::sync::Arc;
use std::time::Duration;

use berth_engine::api::ContainerBackend;
use berth_engine::multi::MultiBackend;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture, EventStream};
use crossterm::execute;
use crossterm::terminal::{EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode};
use futures_util::StreamExt;
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::Config;
use crate::detail::DetailTask;
use crate::layout;
use crate::message::{Action, Message};
use crate::tasks::{run_action, spawn_refresher, spawn_stats};
use crate::terminal::Sessions;
use crate::terminal::session::SessionEvent;

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

/// Run the dashboard until the user quits or SIGTERM/SIGHUP arrives.
pub async fn run(backend: Arc<dyn ContainerBackend>, cfg: Config) -> Result<(), UiError> {
    run_with(backend, None, cfg).await
}

/// The dashboard over several endpoints at once: rows carry a HOST, `:ctx` switches.
pub async fn run_multi(multi: Arc<MultiBackend>, cfg: Config) -> Result<(), UiError> {
    run_with(multi.clone(), Some(multi), cfg).await
}

/// Every task the loop started, aborted together on the way out.
#[derive(Default)]
struct Tasks {
    refresher: Option<JoinHandle<()>>,
    /// The stats stream runs only while a container runs (opened again when one starts).
    stats: Option<JoinHandle<()>>,
    detail: DetailTask,
}

impl Drop for Tasks {
    fn drop(&mut self) {
        for h in [self.refresher.take(), self.stats.take()].into_iter().flatten() {
            h.abort();
        }
        self.detail.stop();
    }
}

async fn run_with(backend: Arc<dyn ContainerBackend>, multi: Option<Arc<MultiBackend>>, cfg: Config) -> Result<(), UiError> {
    let mut terminal = setup_terminal()?;
    let _guard = TerminalGuard;
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let refresh = Arc::new(Notify::new());
    let every = Duration::from_millis(cfg.refresh_ms);
    let mut tasks = Tasks::default();
    tasks.refresher = Some(spawn_refresher(backend.clone(), multi.clone(), tx.clone(), refresh.clone(), every));

    let mut app = App::new(cfg, backend.describe(), now());
    if let Some(m) = &multi {
        app.ctx.endpoints = m.endpoints();
    }
    let mut events = EventStream::new();
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut sighup = signal(SignalKind::hangup())?;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let (stx, mut srx) = mpsc::channel::<SessionEvent>(256);
    let mut dirty = true;
    let result = loop {
        if app.any_running() != tasks.stats.is_some() {
            match tasks.stats.take() {
                Some(h) => h.abort(),
                None => tasks.stats = Some(spawn_stats(backend.clone(), tx.clone(), every)),
            }
        }
        if dirty {
            let size = terminal.size()?;
            let screen = Rect::new(0, 0, size.width, size.height);
            // The terminal pane covers the detail tabs: their task can rest meanwhile.
            let shown = layout::areas(screen).detail.is_some() && !app.terminal.visible;
            let watch = if shown { app.watch() } else { None };
            if watch != tasks.detail.watch {
                app.detail.watching(watch.as_ref().map(|w| w.id.as_str()), watch.as_ref().map(|w| w.tab));
                tasks.detail.set(watch, &backend, &tx, every);
            }
            if app.terminal.visible {
                let (rows, cols) = Sessions::inner_size(layout::terminal_area(screen, app.terminal.maximized));
                app.terminal.resize_all(rows, cols);
            }
            terminal.draw(|f| app.frame(f))?;
            dirty = false;
        }
        if app.quit {
            break Ok(());
        }
        tokio::select! {
            Some(msg) = rx.recv() => {
                // Apply everything already waiting before drawing once (a burst of pull
                // progress or log lines is one frame, not one frame per message).
                dirty |= app.update(msg);
                while let Ok(m) = rx.try_recv() {
                    dirty |= app.update(m);
                }
            }
            Some(ev) = srx.recv() => {
                dirty |= app.terminal.apply(ev);
                while let Ok(e) = srx.try_recv() {
                    dirty |= app.terminal.apply(e);
                }
            }
            ev = events.next() => match ev {
                Some(Ok(ev)) => {
                    let h = app.on_event(&ev);
                    dirty |= h.redraw;
                    match h.action {
                        Some(Action::SetEndpoint(e)) => {
                            // Unqualified names (pull, a typed image to run) go to the one shown.
                            if let Some(m) = &multi
                                && let Err(err) = m.set_current(e.as_deref())
                            {
                                dirty |= app.update(Message::Done(Err(err.to_string())));
                            }
                            app.ctx.backend = backend.describe();
                            refresh.notify_one();
                        }
                        Some(Action::OpenSession { kind, id, title, size }) => {
                            app.terminal.open(backend.clone(), kind, id, title, size, stx.clone());
                        }
                        Some(a) => run_action(a, backend.clone(), tx.clone(), refresh.clone()),
                        None => {}
                    }
                }
                Some(Err(e)) => break Err(e.into()),
                None => break Ok(()),
            },
            _ = tick.tick() => dirty |= app.update(Message::Tick { now: now() }),
            _ = sigterm.recv() => break Ok(()),
            _ = sighup.recv() => break Ok(()),
        }
    };
    app.terminal.abort_all();
    drop(tasks);
    result
}

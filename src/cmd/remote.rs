//! The container verbs that need a live stream (run, start -a, attach, exec) and the
//! simple ones (create, pause, restart, rename) for a backend reached through the trait
//! alone — a Docker endpoint. The embedded engine has richer local paths in
//! `containers.rs` (the monitor waits for the attach before starting, detach keys); these
//! give the same behaviour a user relies on over `ContainerBackend` sessions.
use std::io::{IsTerminal, Read, Write};

use anyhow::{Result, bail};
use berth_engine::api::{ContainerBackend, ExecOptions, Session};
use bytes::Bytes;
use futures_util::StreamExt;

use super::containers::{AttachArgs, CreateArgs, ExecArgs, PauseArgs, RenameArgs, RunArgs, StartArgs, StopArgs};

/// Puts the terminal in raw mode for the session's life.
struct RawMode(Option<libc::termios>);

impl RawMode {
    fn enable(on: bool) -> Self {
        if !on || !std::io::stdin().is_terminal() {
            return RawMode(None);
        }
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return RawMode(None);
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
            RawMode(Some(saved))
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = self.0 {
            unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) };
        }
    }
}

fn window_size() -> Option<(u16, u16)> {
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_row > 0).then_some((ws.ws_row, ws.ws_col))
    }
}

/// Relay our stdin/stdout and window size to a session until it ends; its exit code.
async fn relay(mut s: Session, tty: bool, stdin: bool) -> Result<Option<i64>> {
    let _raw = RawMode::enable(tty);
    if stdin {
        let tx = s.input.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut inp = std::io::stdin();
            while let Ok(n) = inp.read(&mut buf) {
                if n == 0 || tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                    break;
                }
            }
        });
    }
    let resize = s.resize.clone();
    let winch = tokio::spawn(async move {
        let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else { return };
        while sig.recv().await.is_some() {
            if let Some(sz) = window_size() {
                let _ = resize.send(sz).await;
            }
        }
    });
    // stdout and stderr stay apart when the backend keeps them apart (no TTY).
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let tagged = s.output.map(|c| (false, c));
    let mut all = match s.stderr.take() {
        Some(e) => futures_util::stream::select(tagged, e.map(|c| (true, c))).boxed(),
        None => tagged.boxed(),
    };
    while let Some((to_err, chunk)) = all.next().await {
        let chunk = chunk?;
        if to_err {
            err.write_all(&chunk)?;
            err.flush()?;
        } else {
            out.write_all(&chunk)?;
            out.flush()?;
        }
    }
    winch.abort();
    Ok(s.exit.await?)
}

fn code(c: Option<i64>) -> u8 {
    c.unwrap_or(0).clamp(0, 255) as u8
}

pub async fn create(engine: &dyn ContainerBackend, a: &CreateArgs) -> Result<u8> {
    let req = a.flags.to_create()?;
    println!("{}", engine.create_container(&req).await?);
    Ok(0)
}

pub async fn run(engine: &dyn ContainerBackend, a: &RunArgs) -> Result<u8> {
    let mut req = a.flags.to_create()?;
    // `--rm` is done here, after the exit code is read (the daemon's auto-remove races it).
    let remove = req.auto_remove && !a.detach;
    if remove {
        req.auto_remove = false;
    }
    let id = engine.create_container(&req).await?;
    if a.detach {
        engine.start_container(&id).await?;
        println!("{id}");
        return Ok(0);
    }
    // Attach first (like docker) so no output is lost, then start.
    let s = engine.attach_session(&id, None).await;
    let started = match s {
        Ok(s) => {
            engine.start_container(&id).await?;
            s
        }
        Err(_) => {
            engine.start_container(&id).await?;
            engine.attach_session(&id, window_size()).await?
        }
    };
    if let Some(sz) = window_size().filter(|_| req.tty) {
        let _ = started.resize.send(sz).await;
    }
    relay(started, req.tty, req.open_stdin).await?;
    let rc = engine.wait_container(&id).await.unwrap_or(0);
    if remove {
        engine.remove_container(&id, true).await?;
    }
    Ok(code(Some(rc)))
}

pub async fn start(engine: &dyn ContainerBackend, a: &StartArgs) -> Result<u8> {
    if a.attach {
        let [c] = &a.containers[..] else { bail!("you cannot start and attach multiple containers at once") };
        engine.start_container(c).await?;
        let info = engine.inspect_container(c).await?;
        let s = engine.attach_session(c, window_size()).await?;
        relay(s, info.config.tty, false).await?;
        return Ok(code(Some(engine.wait_container(c).await.unwrap_or(0))));
    }
    let mut rc = 0;
    for c in &a.containers {
        match engine.start_container(c).await {
            Ok(()) => println!("{c}"),
            Err(e) => {
                eprintln!("Error: {e}");
                rc = 1;
            }
        }
    }
    Ok(rc)
}

pub async fn attach(engine: &dyn ContainerBackend, a: &AttachArgs) -> Result<u8> {
    let info = engine.inspect_container(&a.container).await?;
    let s = engine.attach_session(&a.container, window_size()).await?;
    let c = relay(s, info.config.tty, !a.no_stdin).await?;
    Ok(code(c))
}

pub async fn exec(engine: &dyn ContainerBackend, a: &ExecArgs) -> Result<u8> {
    let opts = ExecOptions {
        cmd: a.command.clone(),
        tty: a.tty && !a.detach,
        env: a.env.clone(),
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        size: if a.tty { window_size() } else { None },
    };
    let s = engine.exec_session(&a.container, opts).await?;
    if a.detach {
        return Ok(0);
    }
    let c = relay(s, a.tty, a.interactive).await?;
    Ok(code(c))
}

/// Apply `f` to each container like docker: print the name on success, one error line
/// each on failure, exit 1 if any failed.
async fn each(names: &[String], f: impl AsyncFn(&str) -> berth_engine::Result<()>) -> Result<u8> {
    let mut rc = 0;
    for n in names {
        match f(n).await {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error: {e}");
                rc = 1;
            }
        }
    }
    Ok(rc)
}

pub async fn pause(engine: &dyn ContainerBackend, a: &PauseArgs, on: bool) -> Result<u8> {
    each(&a.containers, async |c| if on { engine.pause_container(c).await } else { engine.unpause_container(c).await }).await
}

pub async fn restart(engine: &dyn ContainerBackend, a: &StopArgs) -> Result<u8> {
    each(&a.containers, async |c| engine.restart_container(c, a.timeout).await).await
}

pub async fn rename(engine: &dyn ContainerBackend, a: &RenameArgs) -> Result<u8> {
    engine.rename_container(&a.container, &a.new_name).await?;
    Ok(0)
}

//! The container verbs that need a live stream (run, start -a, attach, exec) and the
//! simple ones (create, pause, restart, rename) for a backend reached through the trait
//! alone — a Docker endpoint. The embedded engine has richer local paths in
//! `containers.rs` (the monitor waits for the attach before starting, detach keys); these
//! give the same behaviour a user relies on over `ContainerBackend` sessions.
use std::io::{IsTerminal, Read, Write};

use anyhow::{Result, bail};
use berth_engine::api::{ContainerBackend, ExecOptions, Session};
use berth_engine::detach_keys::{DetachKeys, Fed};
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

/// How a relayed session ended.
enum Relayed {
    /// The process ended (its code when the backend said).
    Ended(Option<i64>),
    /// The user typed the detach keys: the container keeps running.
    Detached,
}

/// Relay our stdin/stdout and window size to a session until it ends or the user types
/// the detach keys (on a TTY, as docker); how it ended.
async fn relay(mut s: Session, tty: bool, stdin: bool, keys: DetachKeys) -> Result<Relayed> {
    let _raw = RawMode::enable(tty);
    let (detach_tx, mut detach_rx) = tokio::sync::oneshot::channel::<()>();
    if stdin {
        let tx = s.input.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut inp = std::io::stdin();
            let mut keys = keys.matcher();
            while let Ok(n) = inp.read(&mut buf) {
                if n == 0 {
                    let held = keys.flush();
                    if tty && !held.is_empty() {
                        let _ = tx.blocking_send(Bytes::from(held));
                    }
                    break;
                }
                let data = if !tty {
                    buf[..n].to_vec()
                } else {
                    match keys.feed(&buf[..n]) {
                        Fed::Forward(d) => d,
                        Fed::Detach { before } => {
                            if !before.is_empty() {
                                let _ = tx.blocking_send(Bytes::from(before));
                            }
                            let _ = detach_tx.send(());
                            return;
                        }
                    }
                };
                if !data.is_empty() && tx.blocking_send(Bytes::from(data)).is_err() {
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
    let mut watching = true;
    loop {
        let next = if watching {
            tokio::select! {
                n = all.next() => n,
                r = &mut detach_rx => {
                    if r.is_ok() {
                        winch.abort();
                        return Ok(Relayed::Detached);
                    }
                    // The input thread ended without detaching: keep relaying output.
                    watching = false;
                    continue;
                }
            }
        } else {
            all.next().await
        };
        let Some((to_err, chunk)) = next else { break };
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
    Ok(Relayed::Ended(s.exit.await?))
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
    let keys = super::containers::detach_keys(a.detach_keys.as_deref())?;
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
    if let Relayed::Detached = relay(started, req.tty, req.open_stdin, keys).await? {
        return Ok(0);
    }
    let rc = engine.wait_container(&id).await.unwrap_or(0);
    if remove {
        // docker's --rm takes the anonymous volumes too.
        engine.remove_container_and_volumes(&id, true).await?;
    }
    Ok(code(Some(rc)))
}

pub async fn start(engine: &dyn ContainerBackend, a: &StartArgs) -> Result<u8> {
    if a.attach {
        let [c] = &a.containers[..] else { bail!("you cannot start and attach multiple containers at once") };
        let keys = super::containers::detach_keys(a.detach_keys.as_deref())?;
        let info = engine.inspect_container(c).await?;
        // Attach first (like docker) so no output is lost, then start.
        let s = engine.attach_session(c, window_size()).await;
        engine.start_container(c).await?;
        let s = match s {
            Ok(s) => s,
            Err(_) => engine.attach_session(c, window_size()).await?,
        };
        let stdin = a.interactive && info.config.open_stdin;
        if let Relayed::Detached = relay(s, info.config.tty, stdin, keys).await? {
            return Ok(0);
        }
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
    let keys = super::containers::detach_keys(a.detach_keys.as_deref())?;
    let s = engine.attach_session(&a.container, window_size()).await?;
    match relay(s, info.config.tty, !a.no_stdin, keys).await? {
        Relayed::Detached => Ok(0),
        Relayed::Ended(c) => Ok(code(c)),
    }
}

pub async fn exec(engine: &dyn ContainerBackend, a: &ExecArgs) -> Result<u8> {
    let keys = super::containers::detach_keys(a.detach_keys.as_deref())?;
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
    match relay(s, a.tty, a.interactive, keys).await? {
        Relayed::Detached => Ok(0),
        Relayed::Ended(c) => Ok(code(c)),
    }
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

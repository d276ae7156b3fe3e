//! The terminal side of `run`, `start -a`, `attach` and `exec`: raw mode, the window size
//! and its changes (SIGWINCH), and the one relay between this process's stdio and a
//! backend's [`Session`], detach keys included. Every backend's sessions go through
//! [`relay`], so the embedded engine and a Docker endpoint behave the same at the terminal.
use std::io::{IsTerminal, Read, Write};
use std::os::fd::AsFd;

use anyhow::Result;
use berth_engine::api::Session;
use berth_engine::detach_keys::{DetachKeys, Fed};
use bytes::Bytes;
use futures_util::StreamExt;
use nix::sys::termios::{self, LocalFlags, SetArg, Termios};

/// Terminal settings of stdin changed for as long as this lives, restored on drop (also
/// when the relay fails). Nothing happens when stdin is not a terminal.
pub struct TermMode(Option<Termios>);

impl TermMode {
    fn change(f: impl FnOnce(&mut Termios)) -> Self {
        let stdin = std::io::stdin();
        if !stdin.is_terminal() {
            return Self(None);
        }
        let Ok(saved) = termios::tcgetattr(stdin.as_fd()) else { return Self(None) };
        let mut t = saved.clone();
        f(&mut t);
        if termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &t).is_err() {
            return Self(None);
        }
        Self(Some(saved))
    }

    /// Raw mode: every key goes to the container as typed (ctrl-c included).
    pub fn raw() -> Self {
        Self::change(termios::cfmakeraw)
    }

    /// Echo off, for a password prompt.
    pub fn no_echo() -> Self {
        Self::change(|t| t.local_flags.remove(LocalFlags::ECHO))
    }
}

impl Drop for TermMode {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

nix::ioctl_read_bad!(get_window_size, libc::TIOCGWINSZ, libc::winsize);

/// The terminal's size as (rows, cols): stdin's, else stdout's or stderr's.
pub fn window_size() -> Option<(u16, u16)> {
    for fd in [0, 1, 2] {
        let mut ws = libc::winsize { ws_row: 0, ws_col: 0, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCGWINSZ fills a winsize; a descriptor that is not a terminal fails.
        if unsafe { get_window_size(fd, &mut ws) }.is_ok() && ws.ws_row > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// How a relayed session ended.
pub enum Relayed {
    /// The process ended (its code when the backend knows it).
    Ended(Option<i64>),
    /// The user typed the detach keys: the container (or exec'd process) keeps running.
    Detached,
}

/// Relay stdin (when `stdin`), stdout/stderr and window changes to a session until it ends
/// or, on a TTY, the user types the detach keys (docker only watches for them on a TTY).
/// With a TTY the terminal is in raw mode meanwhile.
pub async fn relay(s: Session, tty: bool, stdin: bool, keys: DetachKeys) -> Result<Relayed> {
    let Session { output, stderr, input, resize, exit } = s;
    let _raw = tty.then(TermMode::raw);
    let (detach_tx, mut detach_rx) = tokio::sync::oneshot::channel::<()>();
    // Without stdin the input stays open (closing it would close the container's stdin).
    let _held_input = if stdin {
        std::thread::spawn(move || read_input(input, tty, keys, detach_tx));
        None
    } else {
        Some(input)
    };
    // The resize sender lives as long as the relay: the session ends only when it drops.
    let winch = tty.then(|| {
        let resize = resize.clone();
        tokio::spawn(async move {
            let Ok(mut sig) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change()) else { return };
            while sig.recv().await.is_some() {
                if let Some(sz) = window_size()
                    && resize.send(sz).await.is_err()
                {
                    return;
                }
            }
        })
    });
    let _stop_winch = AbortOnDrop(winch);
    // stdout and stderr stay apart where the backend keeps them apart (no TTY).
    let tagged = output.map(|c| (false, c));
    let mut all = match stderr {
        Some(e) => futures_util::stream::select(tagged, e.map(|c| (true, c))).boxed(),
        None => tagged.boxed(),
    };
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    let mut watching = stdin && tty;
    loop {
        let next = if watching {
            tokio::select! {
                n = all.next() => n,
                r = &mut detach_rx => {
                    if r.is_ok() {
                        return Ok(Relayed::Detached);
                    }
                    // stdin ended without a detach: keep relaying the output.
                    watching = false;
                    continue;
                }
            }
        } else {
            all.next().await
        };
        let Some((to_err, chunk)) = next else { break };
        let chunk = chunk?;
        let w: &mut dyn Write = if to_err { &mut err } else { &mut out };
        w.write_all(&chunk)?;
        w.flush()?;
    }
    drop(resize);
    Ok(Relayed::Ended(exit.await?))
}

/// stdin → the session (a thread: reading a terminal blocks). On a TTY the detach keys are
/// caught here; at EOF a half-typed sequence is passed on and the input is closed.
fn read_input(input: tokio::sync::mpsc::Sender<Bytes>, tty: bool, keys: DetachKeys, detached: tokio::sync::oneshot::Sender<()>) {
    let mut buf = [0u8; 4096];
    let mut stdin = std::io::stdin();
    let mut keys = keys.matcher();
    loop {
        let n = match stdin.read(&mut buf) {
            Ok(0) | Err(_) => {
                let held = keys.flush();
                if tty && !held.is_empty() {
                    let _ = input.blocking_send(Bytes::from(held));
                }
                return;
            }
            Ok(n) => n,
        };
        let data = if !tty {
            buf[..n].to_vec()
        } else {
            match keys.feed(&buf[..n]) {
                Fed::Forward(d) => d,
                Fed::Detach { before } => {
                    if !before.is_empty() {
                        let _ = input.blocking_send(Bytes::from(before));
                    }
                    let _ = detached.send(());
                    return;
                }
            }
        };
        if !data.is_empty() && input.blocking_send(Bytes::from(data)).is_err() {
            return;
        }
    }
}

/// Stops a task when dropped (the window-change watcher ends with the relay).
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            t.abort();
        }
    }
}

//! Attach and exec sessions on the embedded engine: a client of the monitor's framed
//! attach socket (see `monitor::attach`), turned into a [`Session`] of async channels so
//! the dashboard and the CLI never block on the socket.
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::api::*;
use crate::local::{LocalEngine, containers};
use crate::monitor::attach;
use crate::runtime::bundle::Paths;
use crate::store::containers::State;

/// Exit-code frame an exec helper sends last (payload: i32 BE).
pub const EXIT: u8 = crate::monitor::exec::EXIT_FRAME;

/// Turn a connected frame socket into a Session. `exit_from_socket`: the peer reports the
/// exit code in an EXIT frame (exec); otherwise `on_end` is asked (attach).
pub(crate) fn session_over(
    sock: std::os::unix::net::UnixStream,
    size: Option<(u16, u16)>,
    on_end: Option<futures_util::future::BoxFuture<'static, Result<Option<i64>>>>,
) -> Result<Session> {
    sock.set_nonblocking(true).map_err(|e| EngineError::io_ctx("attach socket", e))?;
    let sock = tokio::net::UnixStream::from_std(sock).map_err(|e| EngineError::io_ctx("attach socket", e))?;
    let (mut rd, mut wr) = sock.into_split();
    let (in_tx, mut in_rx) = mpsc::channel::<Bytes>(64);
    let (rs_tx, mut rs_rx) = mpsc::channel::<(u16, u16)>(8);
    // One writer task owns the socket's write half: input and resizes in order.
    tokio::spawn(async move {
        if let Some((r, c)) = size
            && wr.write_all(&attach::resize_frame(r, c)).await.is_err()
        {
            return;
        }
        loop {
            let frame = tokio::select! {
                b = in_rx.recv() => match b {
                    Some(b) => attach::frame(attach::STDIN, &b),
                    None => attach::frame(attach::CLOSE_STDIN, &[]),
                },
                s = rs_rx.recv() => match s {
                    Some((r, c)) => attach::resize_frame(r, c),
                    None => continue,
                },
            };
            let closing = frame[0] == attach::CLOSE_STDIN;
            if wr.write_all(&frame).await.is_err() || closing {
                // Keep the write half open after stdin EOF so output keeps flowing.
                if closing {
                    while let Some((r, c)) = rs_rx.recv().await {
                        if wr.write_all(&attach::resize_frame(r, c)).await.is_err() {
                            break;
                        }
                    }
                }
                return;
            }
        }
    });
    let (exit_tx, exit_rx) = tokio::sync::oneshot::channel::<Option<i64>>();
    let (out_tx, out_rx) = mpsc::channel::<Result<Bytes>>(256);
    tokio::spawn(async move {
        let mut buf = Vec::with_capacity(64 * 1024);
        let mut chunk = vec![0u8; 64 * 1024];
        let mut code = None;
        'read: loop {
            let n = match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            buf.extend_from_slice(&chunk[..n]);
            let frames = match attach::parse(&mut buf) {
                Ok(f) => f,
                Err(e) => {
                    let _ = out_tx.send(Err(EngineError::io_ctx("attach socket", e))).await;
                    break;
                }
            };
            for (kind, payload) in frames {
                if kind == attach::STDOUT || kind == attach::STDERR {
                    if out_tx.send(Ok(Bytes::from(payload))).await.is_err() {
                        break 'read;
                    }
                } else if kind == EXIT && payload.len() == 4 {
                    code = Some(i32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]) as i64);
                }
            }
        }
        let _ = exit_tx.send(code);
    });
    let output = tokio_stream_from(out_rx);
    let exit: futures_util::future::BoxFuture<'static, Result<Option<i64>>> = Box::pin(async move {
        let code = exit_rx.await.unwrap_or(None);
        match (code, on_end) {
            (Some(c), _) => Ok(Some(c)),
            (None, Some(f)) => f.await,
            (None, None) => Ok(None),
        }
    });
    Ok(Session { output, stderr: None, input: in_tx, resize: rs_tx, exit })
}

fn tokio_stream_from<T: Send + 'static>(mut rx: mpsc::Receiver<T>) -> futures_util::stream::BoxStream<'static, T> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).boxed()
}

pub(crate) async fn attach(engine: &LocalEngine, id: &str, size: Option<(u16, u16)>) -> Result<Session> {
    let id = id.to_string();
    let (rec, dir) = engine
        .blocking(move |i| {
            let rec = containers::lookup(i, &id)?;
            Ok((rec.clone(), Paths::new(&i.root, &rec.id).dir))
        })
        .await?;
    if rec.state != State::Running {
        return Err(EngineError::Conflict(format!("container {} is not running", rec.name)));
    }
    let sock = attach::connect(&dir).map_err(|e| EngineError::io_ctx(format!("attaching to {}", rec.name), e))?;
    let eng = engine.clone();
    let cid = rec.id.clone();
    let on_end = Box::pin(async move {
        // The monitor records the exit a moment after the output ends.
        for _ in 0..100 {
            let c = cid.clone();
            let r = eng.blocking(move |i| containers::lookup(i, &c)).await?;
            if !matches!(r.state, State::Running | State::Paused) {
                return Ok(Some(r.exit_code as i64));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(None)
    });
    session_over(sock, size, Some(on_end))
}

/// The shell to exec: the container user's passwd entry, else the usual paths, read from
/// the container's mounted root (never following symlinks out of it).
pub(crate) async fn shell(engine: &LocalEngine, id: &str) -> Result<Vec<String>> {
    let id = id.to_string();
    engine
        .blocking(move |i| {
            let rec = containers::lookup(i, &id)?;
            let rootfs: PathBuf = Paths::new(&i.root, &rec.id).rootfs();
            if rec.state != State::Running {
                return Err(EngineError::Conflict(format!("container {} is not running", rec.name)));
            }
            let user = if rec.config.user.is_empty() { "root".to_string() } else { rec.config.user.clone() };
            let exists = |p: &str| std::fs::symlink_metadata(rootfs.join(p.trim_start_matches('/'))).is_ok();
            let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap_or_default();
            if let Some(sh) = crate::shell::from_passwd(&passwd, &user)
                && exists(&sh)
            {
                return Ok(vec![sh]);
            }
            if let Some(sh) = crate::shell::CANDIDATES.iter().find(|s| exists(s)) {
                return Ok(vec![sh.to_string()]);
            }
            if exists("/bin/busybox") {
                return Ok(vec!["/bin/busybox".into(), "sh".into()]);
            }
            Err(EngineError::Unsupported(format!(
                "no shell found in container {} (looked at /etc/passwd, {})",
                rec.name,
                crate::shell::CANDIDATES.join(", ")
            )))
        })
        .await
}

/// Run a process in a running container: with a TTY over a framed socket pair to an exec
/// helper (window sizes work), without one over the helper's pipes.
pub(crate) async fn exec(engine: &LocalEngine, id: &str, o: ExecOptions) -> Result<Session> {
    use std::os::fd::AsRawFd;
    let c = engine.inspect_container(id).await?;
    if !c.state.running || c.state.paused {
        return Err(EngineError::Conflict(format!("container {id} is not running")));
    }
    if o.cmd.is_empty() {
        return Err(EngineError::InvalidArgument("exec needs a command".into()));
    }
    let exe = engine.monitor_exe()?;
    let mut spec = crate::monitor::exec::ExecSpec {
        tty: o.tty,
        args: o.cmd.clone(),
        env: o.env.clone(),
        cwd: o.workdir.clone(),
        user: o.user.clone().or_else(|| (!c.config.user.is_empty()).then(|| c.config.user.clone())),
        frames_fd: None,
        detach_keys: None,
    };
    let mut cmd = tokio::process::Command::new(exe);
    cmd.kill_on_drop(false);
    if o.tty {
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| EngineError::io_ctx("exec socket", e))?;
        spec.frames_fd = Some(3);
        let fd = theirs.as_raw_fd();
        cmd.arg("exec-helper").arg("--root").arg(engine.root()).arg(&c.id).args(spec.to_args());
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        // SAFETY: dup2 is async-signal-safe; the child gets the socket as fd 3.
        unsafe {
            cmd.pre_exec(move || if libc::dup2(fd, 3) < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
        }
        let mut child = cmd.spawn().map_err(|e| EngineError::io_ctx("starting the exec helper", e))?;
        drop(theirs);
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        return session_over(ours, o.size, None);
    }
    cmd.arg("exec-helper").arg("--root").arg(engine.root()).arg(&c.id).args(spec.to_args());
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| EngineError::io_ctx("starting the exec helper", e))?;
    let mut stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let (in_tx, mut in_rx) = mpsc::channel::<Bytes>(64);
    tokio::spawn(async move {
        while let Some(b) = in_rx.recv().await {
            let Some(w) = stdin.as_mut() else { break };
            if w.write_all(&b).await.is_err() {
                break;
            }
        }
        drop(stdin);
    });
    let (out_tx, out_rx) = mpsc::channel::<Result<Bytes>>(256);
    for r in [stdout.map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Send + Unpin>), stderr.map(|s| Box::new(s) as _)]
        .into_iter()
        .flatten()
    {
        let tx = out_tx.clone();
        tokio::spawn(async move {
            let mut r = r;
            let mut buf = vec![0u8; 16384];
            while let Ok(n) = r.read(&mut buf).await {
                if n == 0 || tx.send(Ok(Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                    break;
                }
            }
        });
    }
    drop(out_tx);
    let (rs_tx, _rs_rx) = mpsc::channel::<(u16, u16)>(8);
    let exit: futures_util::future::BoxFuture<'static, Result<Option<i64>>> = Box::pin(async move {
        let st = child.wait().await.map_err(|e| EngineError::io_ctx("waiting for the exec helper", e))?;
        Ok(st.code().map(|c| c as i64))
    });
    Ok(Session { output: tokio_stream_from(out_rx), stderr: None, input: in_tx, resize: rs_tx, exit })
}

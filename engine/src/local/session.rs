//! Attach and exec sessions on the embedded engine, turned into [`Session`]s of async
//! channels so the dashboard and the CLI never block: a client of the monitor's framed
//! attach socket (see `monitor::attach`), the exec helper's pipes, and, for `run` without
//! a terminal or stdin, the container's log followed from its first line.
use std::io::{BufReader, Write};
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
        // The write half stays open until both senders are gone (the session was dropped):
        // a shutdown after stdin EOF would read as the client leaving, and its output lost.
        let (mut input_open, mut resize_open) = (true, true);
        while input_open || resize_open {
            let frame = tokio::select! {
                b = in_rx.recv(), if input_open => match b {
                    Some(b) => attach::frame(attach::STDIN, &b),
                    None => {
                        input_open = false;
                        attach::frame(attach::CLOSE_STDIN, &[])
                    }
                },
                s = rs_rx.recv(), if resize_open => match s {
                    Some((r, c)) => attach::resize_frame(r, c),
                    None => {
                        resize_open = false;
                        continue;
                    }
                },
            };
            if wr.write_all(&frame).await.is_err() {
                return;
            }
        }
    });
    let (exit_tx, exit_rx) = tokio::sync::oneshot::channel::<Option<i64>>();
    let (out_tx, out_rx) = mpsc::channel::<Result<Bytes>>(256);
    let (err_tx, err_rx) = mpsc::channel::<Result<Bytes>>(256);
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
                if kind == attach::STDOUT {
                    if out_tx.send(Ok(Bytes::from(payload))).await.is_err() {
                        break 'read;
                    }
                } else if kind == attach::STDERR {
                    // A caller that dropped stderr only loses stderr.
                    let _ = err_tx.send(Ok(Bytes::from(payload))).await;
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
    Ok(Session { output, stderr: Some(tokio_stream_from(err_rx)), input: in_tx, resize: rs_tx, exit })
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

/// The exec helper for `o` in container `c`, checked first: the container runs, the
/// command and working directory make sense. Its own session, so neither a signal typed at
/// the caller's terminal nor the caller's exit (a hang-up of its session) reaches it: after
/// a detach the exec'd process keeps running, as with docker.
async fn exec_helper(engine: &LocalEngine, id: &str, o: &ExecOptions, frames_fd: Option<i32>) -> Result<(tokio::process::Command, String)> {
    let c = engine.inspect_container(id).await?;
    if !c.state.running || c.state.paused {
        return Err(EngineError::Conflict(format!("container {id} is not running")));
    }
    if o.cmd.is_empty() {
        return Err(EngineError::InvalidArgument("exec needs a command".into()));
    }
    if let Some(w) = o.workdir.as_deref().filter(|w| !w.starts_with('/')) {
        return Err(EngineError::InvalidArgument(format!("the working directory '{w}' is invalid, it needs to be an absolute path")));
    }
    let spec = crate::monitor::exec::ExecSpec {
        tty: o.tty,
        args: o.cmd.clone(),
        env: o.env.clone(),
        cwd: o.workdir.clone(),
        // Like docker: the container's user unless -u says otherwise.
        user: o.user.clone().or_else(|| (!c.config.user.is_empty()).then(|| c.config.user.clone())),
        frames_fd,
        detach_keys: None,
    };
    let mut cmd = tokio::process::Command::new(engine.monitor_exe()?);
    cmd.kill_on_drop(false);
    cmd.arg("exec-helper").arg("--root").arg(engine.root()).arg(&c.id).args(spec.to_args());
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
    Ok((cmd, c.id))
}

/// Run a process in a running container: with a TTY over a framed socket pair to an exec
/// helper (window sizes work), without one over the helper's pipes. The helper's own
/// errors (a command not found: 127) arrive on `stderr`, its exit code on `exit`.
pub(crate) async fn exec(engine: &LocalEngine, id: &str, o: ExecOptions) -> Result<Session> {
    use std::os::fd::AsRawFd;
    if o.tty {
        let (mut cmd, _) = exec_helper(engine, id, &o, Some(3)).await?;
        let (ours, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| EngineError::io_ctx("exec socket", e))?;
        let fd = theirs.as_raw_fd();
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
        // SAFETY: dup2 is async-signal-safe; the child gets the socket as fd 3.
        unsafe {
            cmd.pre_exec(move || if libc::dup2(fd, 3) < 0 { Err(std::io::Error::last_os_error()) } else { Ok(()) });
        }
        let mut child = cmd.spawn().map_err(|e| EngineError::io_ctx("starting the exec helper", e))?;
        drop(theirs);
        let helper_err = child.stderr.take();
        // The helper sends the code in an EXIT frame; when it could not start the process
        // there is none, and its own exit code says why.
        let on_end = Box::pin(async move {
            let st = child.wait().await.map_err(|e| EngineError::io_ctx("waiting for the exec helper", e))?;
            Ok(st.code().map(i64::from))
        });
        let mut s = session_over(ours, o.size, Some(on_end))?;
        if let Some(e) = helper_err {
            let helper = read_stream(e);
            s.stderr = Some(match s.stderr.take() {
                Some(frames) => futures_util::stream::select(frames, helper).boxed(),
                None => helper,
            });
        }
        return Ok(s);
    }
    let (mut cmd, _) = exec_helper(engine, id, &o, None).await?;
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
    let (rs_tx, _rs_rx) = mpsc::channel::<(u16, u16)>(8);
    let exit: futures_util::future::BoxFuture<'static, Result<Option<i64>>> = Box::pin(async move {
        let st = child.wait().await.map_err(|e| EngineError::io_ctx("waiting for the exec helper", e))?;
        Ok(st.code().map(|c| c as i64))
    });
    let empty = || futures_util::stream::empty().boxed();
    Ok(Session {
        output: stdout.map(read_stream).unwrap_or_else(empty),
        stderr: Some(stderr.map(read_stream).unwrap_or_else(empty)),
        input: in_tx,
        resize: rs_tx,
        exit,
    })
}

/// A pipe's bytes as a stream that ends at EOF.
fn read_stream(r: impl tokio::io::AsyncRead + Send + Unpin + 'static) -> futures_util::stream::BoxStream<'static, Result<Bytes>> {
    tokio_util::io::ReaderStream::with_capacity(r, 16384).map(|c| c.map_err(|e| EngineError::io_ctx("exec output", e))).boxed()
}

/// `exec -d`: the helper runs on its own, its stdio on /dev/null.
pub(crate) async fn exec_detached(engine: &LocalEngine, id: &str, o: ExecOptions) -> Result<()> {
    let (mut cmd, _) = exec_helper(engine, id, &ExecOptions { tty: false, ..o }, None).await?;
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    cmd.spawn().map_err(|e| EngineError::io_ctx("starting the exec helper", e))?;
    Ok(())
}

/// What `attach_and_start` got from the monitor it spawned.
enum Begun {
    /// The monitor waits for us on the attach socket (connected), then starts the container.
    Attached(crate::monitor::Started, std::os::unix::net::UnixStream),
    /// The container starts at once; its output is read from the log (opened before the
    /// start: a `--rm` container's log goes with it). None: it was already running.
    Log(Option<crate::monitor::Started>, std::fs::File),
}

/// `run`/`start -a` on the embedded engine. With a TTY or stdin the monitor waits for our
/// client on the attach socket before it starts the container, so no output is lost and
/// input and window sizes flow; otherwise the container starts at once (nothing waits for
/// a client on the start path) and its output is followed in its log. Either way the exit
/// code comes from the monitor's status pipe, before a `--rm` container's record is gone.
pub(crate) async fn attach_and_start(engine: &LocalEngine, id: &str, o: AttachOptions) -> Result<Session> {
    let exe = engine.monitor_exe()?;
    let id = id.to_string();
    let begun = engine
        .blocking(move |i| {
            let rec = containers::lookup(i, &id)?;
            let short = rec.id[..12].to_string();
            if rec.config.tty || (o.stdin && rec.config.open_stdin) {
                let Some(mut started) = containers::start(i, &exe, &rec.id, true)? else {
                    return Err(EngineError::Conflict(format!("container {short} is already running")));
                };
                let dir = Paths::new(&i.root, &rec.id).dir;
                let mut sock = attach::connect(&dir).map_err(|e| EngineError::io_ctx(format!("attaching to container {short}"), e))?;
                // The size goes first, so the container's first output already fits.
                if let (true, Some((r, c))) = (rec.config.tty, o.size) {
                    let _ = sock.write_all(&attach::resize_frame(r, c));
                }
                started.wait_running().map_err(|e| EngineError::StartFailed {
                    code: e.code,
                    message: format!("failed to start container {short}: {}", e.message),
                })?;
                return Ok(Begun::Attached(started, sock));
            }
            let (rec, log) = containers::log_path(i, &rec.id)?;
            let file = std::fs::File::open(&log).map_err(|e| EngineError::io(&log, e))?;
            Ok(Begun::Log(containers::start(i, &exe, &rec.id, false)?, file))
        })
        .await?;
    match begun {
        Begun::Attached(mut started, sock) => {
            let on_end = Box::pin(async move {
                let code = tokio::task::spawn_blocking(move || started.wait_exit()).await.ok().flatten();
                Ok(code.map(i64::from))
            });
            session_over(sock, None, Some(on_end))
        }
        Begun::Log(started, file) => Ok(log_session(started, file)),
    }
}

/// Follow a container's log from the start as a session (stdout and stderr apart) until
/// the monitor reports the exit on its status pipe, then read what is left.
fn log_session(started: Option<crate::monitor::Started>, file: std::fs::File) -> Session {
    let (out_tx, out_rx) = mpsc::channel::<Result<Bytes>>(256);
    let (err_tx, err_rx) = mpsc::channel::<Result<Bytes>>(256);
    let (exit_tx, exit_rx) = tokio::sync::oneshot::channel::<Option<i64>>();
    tokio::spawn(async move {
        let mut reader = BufReader::new(file);
        let mut lines = Vec::new();
        let forward = async |lines: &mut Vec<LogLine>| {
            for l in lines.drain(..) {
                let tx = if l.stream == "stderr" { &err_tx } else { &out_tx };
                let _ = tx.send(Ok(Bytes::from(l.line))).await;
            }
        };
        let code = match started {
            None => None,
            Some(mut s) => {
                // The exit arrives on the status pipe; meanwhile the log is read every 10 ms.
                let mut waiter = tokio::task::spawn_blocking(move || s.wait_exit());
                loop {
                    containers::read_entries(&mut reader, &mut lines);
                    forward(&mut lines).await;
                    tokio::select! {
                        r = &mut waiter => break r.ok().flatten().map(i64::from),
                        _ = tokio::time::sleep(Duration::from_millis(10)) => {}
                    }
                }
            }
        };
        containers::read_entries(&mut reader, &mut lines);
        forward(&mut lines).await;
        let _ = exit_tx.send(code);
    });
    let (in_tx, _) = mpsc::channel::<Bytes>(1);
    let (rs_tx, _) = mpsc::channel::<(u16, u16)>(1);
    Session {
        output: tokio_stream_from(out_rx),
        stderr: Some(tokio_stream_from(err_rx)),
        input: in_tx,
        resize: rs_tx,
        exit: Box::pin(async move { Ok(exit_rx.await.unwrap_or(None)) }),
    }
}

//! Attach and exec sessions over the Docker Engine API: the hijacked streams bollard
//! returns become a [`Session`]; window sizes go through the resize endpoints.
use bollard::models::ExecConfig;
use bollard::query_parameters::{
    AttachContainerOptionsBuilder, DownloadFromContainerOptionsBuilder, ResizeContainerTTYOptionsBuilder, ResizeExecOptionsBuilder,
};
use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::{DockerBackend, NotFound, describe, map_err};
use crate::api::*;

fn output_bytes(o: bollard::container::LogOutput) -> Bytes {
    match o {
        bollard::container::LogOutput::StdOut { message }
        | bollard::container::LogOutput::StdErr { message }
        | bollard::container::LogOutput::Console { message }
        | bollard::container::LogOutput::StdIn { message } => message,
    }
}

type Outputs = (BoxStream<'static, Result<Bytes>>, Option<BoxStream<'static, Result<Bytes>>>, tokio::sync::oneshot::Receiver<()>);

/// The hijacked output as the session's streams: without a TTY (`split`) stderr frames go
/// to their own stream so the CLI can keep them apart; the receiver fires when the daemon
/// ends the stream. Dropping the output stream closes the connection.
fn demux(src: BoxStream<'static, std::result::Result<bollard::container::LogOutput, bollard::errors::Error>>, split: bool) -> Outputs {
    let (o_tx, o_rx) = mpsc::channel::<Result<Bytes>>(64);
    let (e_tx, e_rx) = mpsc::channel::<Result<Bytes>>(64);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let mut src = src;
        loop {
            let item = tokio::select! {
                item = src.next() => item,
                _ = o_tx.closed() => break,
            };
            let Some(item) = item else { break };
            let (is_err, item) = match item {
                Ok(bollard::container::LogOutput::StdErr { message }) if split => (true, Ok(message)),
                Ok(o) => (false, Ok(output_bytes(o))),
                Err(e) => (false, Err(EngineError::Other(describe(&e)))),
            };
            // A caller that dropped stderr only loses stderr.
            let sent = if is_err { e_tx.send(item).await } else { o_tx.send(item).await };
            if sent.is_err() && !is_err {
                break;
            }
        }
        let _ = done_tx.send(());
    });
    let stream = |rx: mpsc::Receiver<Result<Bytes>>| {
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|x| (x, rx)) }).fuse().boxed()
    };
    (stream(o_rx), split.then(|| stream(e_rx)), done_rx)
}

/// Pump `rx` into the hijacked connection until either side closes.
fn spawn_input(mut input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>, mut rx: mpsc::Receiver<Bytes>) {
    tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if input.write_all(&b).await.is_err() || input.flush().await.is_err() {
                break;
            }
        }
        let _ = input.shutdown().await;
    });
}

/// A hijacked attach of `id` (as `info` describes it) and the signal that its stream ended.
async fn hijack(
    d: &DockerBackend,
    id: &str,
    info: &bollard::models::ContainerInspectResponse,
) -> Result<(Session, tokio::sync::oneshot::Receiver<()>)> {
    let mut opts = AttachContainerOptionsBuilder::default().stream(true).stdin(true).stdout(true).stderr(true);
    if let Some(k) = &d.detach_keys {
        opts = opts.detach_keys(k);
    }
    let opts = opts.build();
    let r = d.client.attach_container(id, Some(opts)).await.map_err(map_err(id, NotFound::Container))?;
    let (in_tx, in_rx) = mpsc::channel(64);
    spawn_input(r.input, in_rx);
    let (rs_tx, mut rs_rx) = mpsc::channel::<(u16, u16)>(8);
    let client = d.client.clone();
    let cid = id.to_string();
    tokio::spawn(async move {
        while let Some((rows, cols)) = rs_rx.recv().await {
            let o = ResizeContainerTTYOptionsBuilder::default().h(rows as i32).w(cols as i32).build();
            let _ = client.resize_container_tty(&cid, o).await;
        }
    });
    let tty = info.config.as_ref().and_then(|c| c.tty).unwrap_or(false);
    let (output, stderr, done_rx) = demux(r.output, !tty);
    let exit = Box::pin(async { Ok(None) });
    Ok((Session { output, stderr, input: in_tx, resize: rs_tx, exit }, done_rx))
}

/// Set a container's TTY size, retrying while its process is still starting (as the docker
/// CLI does: the first resize after a start can come too early).
async fn resize_tty(d: &DockerBackend, id: &str, (rows, cols): (u16, u16), tries: u32) {
    for _ in 0..tries {
        let o = ResizeContainerTTYOptionsBuilder::default().h(rows as i32).w(cols as i32).build();
        if d.client.resize_container_tty(id, o).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub(super) async fn attach(d: &DockerBackend, id: &str, size: Option<(u16, u16)>) -> Result<Session> {
    let info = d.client.inspect_container(id, None).await.map_err(map_err(id, NotFound::Container))?;
    // A created container may be attached before it starts (that is how `run` gets all
    // of its output); an exited one has nothing to attach to.
    let st = info.state.as_ref();
    let created = st.and_then(|s| s.status).map(|s| s.to_string() == "created").unwrap_or(false);
    if !created && !st.and_then(|s| s.running).unwrap_or(false) {
        return Err(EngineError::Conflict(format!("container {id} is not running")));
    }
    let (mut s, done_rx) = hijack(d, id, &info).await?;
    // The first size is set before the session is handed out, so the first command typed
    // already sees it.
    if let Some(sz) = size {
        resize_tty(d, id, sz, 1).await;
    }
    let client = d.client.clone();
    let cid = id.to_string();
    s.exit = Box::pin(async move {
        let _ = done_rx.await;
        let i = client.inspect_container(&cid, None).await.map_err(map_err(&cid, NotFound::Container))?;
        let st = i.state.unwrap_or_default();
        Ok(if st.running.unwrap_or(false) { None } else { st.exit_code })
    });
    Ok(s)
}

/// `run`/`start -a` over the API, as the docker CLI does it: attach to the created
/// container, start it, then set the TTY size. The exit code comes from `wait` once the
/// stream ends; a `--rm` container may be gone by then (the daemon removes it), so its code
/// is read from its `die` event, which the daemon replays from the container's creation.
pub(super) async fn attach_and_start(d: &DockerBackend, id: &str, o: AttachOptions) -> Result<Session> {
    let info = d.client.inspect_container(id, None).await.map_err(map_err(id, NotFound::Container))?;
    if info.state.as_ref().and_then(|s| s.running).unwrap_or(false) {
        return Err(EngineError::Conflict(format!("container {id} is already running")));
    }
    let cid = info.id.clone().unwrap_or_else(|| id.to_string());
    let (mut s, done_rx) = hijack(d, &cid, &info).await?;
    super::start(d, &cid).await?;
    let tty = info.config.as_ref().and_then(|c| c.tty).unwrap_or(false);
    if let (true, Some(sz)) = (tty, o.size) {
        resize_tty(d, &cid, sz, 10).await;
    }
    let auto_remove = info.host_config.as_ref().and_then(|h| h.auto_remove).unwrap_or(false);
    let created = info.created.as_deref().and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok()).and_then(|t| t.timestamp_nanos_opt());
    let d = d.clone();
    s.exit = Box::pin(async move {
        let _ = done_rx.await;
        if !auto_remove {
            return super::containers::wait(&d, &cid).await.map(Some);
        }
        let filters = [("container", vec![cid.clone()]), ("event", vec!["die".into(), "destroy".into()])]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let mut events = super::events(&d, EventOptions { since: created.map(|t| t - 1_000_000_000), until: None, filters });
        let mut code = None;
        // The code is on `die`; `destroy` follows once the container is gone (`docker run
        // --rm` returns only then), unless the removal fails.
        loop {
            let next = match code {
                None => events.next().await,
                Some(_) => tokio::time::timeout(std::time::Duration::from_secs(10), events.next()).await.unwrap_or(None),
            };
            let Some(e) = next else { break };
            let e = e?;
            if e.action == "die" {
                code = e.attributes.get("exitCode").and_then(|c| c.parse().ok()).or(Some(0));
            } else if e.action == "destroy" {
                break;
            }
        }
        Ok(code)
    });
    Ok(s)
}

fn exec_config(d: &DockerBackend, o: &ExecOptions, attach: bool) -> ExecConfig {
    ExecConfig {
        attach_stdin: Some(attach),
        attach_stdout: Some(attach),
        attach_stderr: Some(attach),
        tty: Some(o.tty),
        env: (!o.env.is_empty()).then(|| o.env.clone()),
        cmd: Some(o.cmd.clone()),
        user: o.user.clone(),
        working_dir: o.workdir.clone(),
        console_size: o.size.map(|(r, c)| vec![r as usize, c as usize]),
        detach_keys: d.detach_keys.clone(),
        ..Default::default()
    }
}

/// `exec -d`: the daemon starts the process and nobody attaches.
pub(super) async fn exec_detached(d: &DockerBackend, id: &str, o: ExecOptions) -> Result<()> {
    let created = d.client.create_exec(id, exec_config(d, &o, false)).await.map_err(map_err(id, NotFound::Container))?;
    let start = bollard::exec::StartExecOptions { detach: true, tty: o.tty, output_capacity: None };
    d.client.start_exec(&created.id, Some(start)).await.map_err(|e| EngineError::Other(describe(&e)))?;
    Ok(())
}

pub(super) async fn exec(d: &DockerBackend, id: &str, o: ExecOptions) -> Result<Session> {
    let created = d.client.create_exec(id, exec_config(d, &o, true)).await.map_err(map_err(id, NotFound::Container))?;
    let start = bollard::exec::StartExecOptions { detach: false, tty: o.tty, output_capacity: None };
    let (out, input) = match d.client.start_exec(&created.id, Some(start)).await.map_err(|e| EngineError::Other(describe(&e)))? {
        bollard::exec::StartExecResults::Attached { output, input } => (output, input),
        bollard::exec::StartExecResults::Detached => return Err(EngineError::Other("the daemon detached the exec session".into())),
    };
    // dockerd before API 1.42 ignores `ConsoleSize`: set the first size before the session is
    // handed out (as the docker CLI does, retrying while the process is still starting).
    if let (true, Some((rows, cols))) = (o.tty, o.size) {
        for _ in 0..10 {
            let r = ResizeExecOptionsBuilder::default().h(rows as i32).w(cols as i32).build();
            if d.client.resize_exec(&created.id, r).await.is_ok() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
    let (in_tx, in_rx) = mpsc::channel(64);
    spawn_input(input, in_rx);
    let (rs_tx, mut rs_rx) = mpsc::channel::<(u16, u16)>(8);
    let client = d.client.clone();
    let exec_id = created.id.clone();
    tokio::spawn(async move {
        while let Some((rows, cols)) = rs_rx.recv().await {
            let _ = client.resize_exec(&exec_id, ResizeExecOptionsBuilder::default().h(rows as i32).w(cols as i32).build()).await;
        }
    });
    let (output, stderr, done_rx) = demux(out, !o.tty);
    let client = d.client.clone();
    let exec_id = created.id;
    let exit = Box::pin(async move {
        let _ = done_rx.await;
        // The exit code is set a moment after the stream closes.
        for _ in 0..50 {
            let i = client.inspect_exec(&exec_id).await.map_err(|e| EngineError::Other(describe(&e)))?;
            if !i.running.unwrap_or(false) {
                return Ok(i.exit_code);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        Ok(None)
    });
    Ok(Session { output, stderr, input: in_tx, resize: rs_tx, exit })
}

/// Read a small file out of a container through the archive endpoint (no tools needed in
/// the image). None when it does not exist.
async fn read_file(d: &DockerBackend, id: &str, path: &str, limit: usize) -> Option<Vec<u8>> {
    let mut s = d.client.download_from_container(id, Some(DownloadFromContainerOptionsBuilder::default().path(path).build()));
    let mut tarball = Vec::new();
    while let Some(chunk) = s.next().await {
        tarball.extend_from_slice(&chunk.ok()?);
        if tarball.len() > limit + 4096 {
            break;
        }
    }
    let mut ar = tar::Archive::new(std::io::Cursor::new(tarball));
    let mut entries = ar.entries().ok()?;
    let mut e = entries.next()?.ok()?;
    if e.header().entry_type().is_symlink() {
        return Some(Vec::new());
    }
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(&mut e, limit as u64), &mut out).ok()?;
    Some(out)
}

pub(super) async fn shell(d: &DockerBackend, id: &str) -> Result<Vec<String>> {
    let info = d.client.inspect_container(id, None).await.map_err(map_err(id, NotFound::Container))?;
    let user = info.config.and_then(|c| c.user).filter(|u| !u.is_empty()).unwrap_or_else(|| "root".into());
    let passwd = read_file(d, id, "/etc/passwd", 1 << 20).await.unwrap_or_default();
    if let Some(sh) = crate::shell::from_passwd(&String::from_utf8_lossy(&passwd), &user)
        && read_file(d, id, &sh, 0).await.is_some()
    {
        return Ok(vec![sh]);
    }
    for sh in crate::shell::CANDIDATES {
        if read_file(d, id, sh, 0).await.is_some() {
            return Ok(vec![sh.to_string()]);
        }
    }
    if read_file(d, id, "/bin/busybox", 0).await.is_some() {
        return Ok(vec!["/bin/busybox".into(), "sh".into()]);
    }
    Err(EngineError::Unsupported(format!(
        "no shell found in container {id} (looked at /etc/passwd, {})",
        crate::shell::CANDIDATES.join(", ")
    )))
}

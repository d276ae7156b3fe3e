//! One session's I/O, as a task: open the exec shell or the attach stream, then relay
//! output to the dashboard as events, keys and window sizes to the container, until the
//! session ends (its exit code) or the pane is closed (the task detaches).
use std::sync::Arc;

use berth_engine::api::{ContainerBackend, ExecOptions};
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::message::SessionKind;

/// What a session task reports.
#[derive(Debug)]
pub enum SessionEvent {
    Output { id: u64, bytes: Bytes },
    Ended { id: u64, code: Option<i64>, error: Option<String> },
}

/// Where a session's keys and sizes go, and whom it reports to.
pub struct Wiring {
    pub id: u64,
    pub input: mpsc::Receiver<Bytes>,
    pub resize: mpsc::Receiver<(u16, u16)>,
    pub events: mpsc::Sender<SessionEvent>,
}

pub async fn run(backend: Arc<dyn ContainerBackend>, kind: SessionKind, container: String, size: (u16, u16), w: Wiring) {
    let Wiring { id, mut input, mut resize, events } = w;
    let session = match kind {
        SessionKind::Attach => backend.attach_session(&container, Some(size)).await,
        SessionKind::Shell => match backend.shell(&container).await {
            Ok(cmd) => {
                backend
                    .exec_session(
                        &container,
                        ExecOptions { cmd, tty: true, size: Some(size), env: vec!["TERM=xterm-256color".into()], ..Default::default() },
                    )
                    .await
            }
            Err(e) => Err(e),
        },
    };
    let mut s = match session {
        Ok(s) => s,
        Err(e) => {
            let _ = events.send(SessionEvent::Ended { id, code: None, error: Some(e.to_string()) }).await;
            return;
        }
    };
    // One pane shows both streams.
    let mut output = match s.stderr.take() {
        Some(err) => futures_util::stream::select(s.output, err).boxed(),
        None => s.output,
    };
    loop {
        tokio::select! {
            out = output.next() => match out {
                Some(Ok(bytes)) => {
                    if events.send(SessionEvent::Output { id, bytes }).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = events.send(SessionEvent::Ended { id, code: None, error: Some(e.to_string()) }).await;
                    return;
                }
                None => break,
            },
            k = input.recv() => match k {
                Some(b) => { let _ = s.input.send(b).await; }
                // The pane was closed: detach.
                None => return,
            },
            Some(sz) = resize.recv() => { let _ = s.resize.send(sz).await; }
        }
    }
    let code = s.exit.await.ok().flatten();
    let _ = events.send(SessionEvent::Ended { id, code, error: None }).await;
}

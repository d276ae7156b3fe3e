//! Attach and exec sessions: byte streams, input, resize, exit.
use super::*;
use futures_util::stream::BoxStream;

/// A live attach or exec session: the bytes the process writes, senders for its input and
/// window size, and its end. Dropping the session detaches (the container keeps running).
pub struct Session {
    /// Output (on a TTY, stdout and stderr are one stream). Ends when the session does.
    pub output: BoxStream<'static, Result<bytes::Bytes>>,
    /// Without a TTY a backend may deliver stderr here instead of in `output` (None: it is
    /// in `output`). A caller showing one stream merges the two.
    pub stderr: Option<BoxStream<'static, Result<bytes::Bytes>>>,
    pub input: tokio::sync::mpsc::Sender<bytes::Bytes>,
    /// Window size as (rows, cols).
    pub resize: tokio::sync::mpsc::Sender<(u16, u16)>,
    /// Resolves when the session ended: the exec'd command's exit code, or for an attach
    /// the container's (None if only the connection ended).
    pub exit: futures_util::future::BoxFuture<'static, Result<Option<i64>>>,
}

/// How `run` and `start -a` attach to the container they start.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttachOptions {
    /// Send the caller's input (`-i`); a container that did not open stdin ignores it.
    pub stdin: bool,
    /// The caller's window size (rows, cols), for a container with a TTY.
    pub size: Option<(u16, u16)>,
}

/// What `exec` runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOptions {
    pub cmd: Vec<String>,
    pub tty: bool,
    pub env: Vec<String>,
    pub workdir: Option<String>,
    pub user: Option<String>,
    /// Initial window size (rows, cols).
    pub size: Option<(u16, u16)>,
}

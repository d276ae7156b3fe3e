//! `cp`, `diff`, `export`, `commit`: the CLI side of container filesystems. `cp` decides,
//! as docker's client does, what the copy means (into a directory, as a new name, a dir's
//! contents with `/.`, a tar stream with `-`), then moves a tar stream between the backend
//! and the host. The host side is extracted inside the destination's parent with the same
//! in-root resolution the engine uses, so a hostile archive cannot write outside it either.
use std::io::IsTerminal;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use berth_engine::api::host_fs::{Owner, extract};
use berth_engine::api::host_fs::{TarOptions, write_tree};
use berth_engine::api::{ByteReader, ByteWriter, CommitOptions, ContainerBackend, EngineError, PathStat};
use clap::{ArgAction, Args};

#[derive(Args, Debug)]
pub struct CpArgs {
    /// Archive mode (copy all uid/gid information)
    #[arg(short, long)]
    pub archive: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long)]
    pub follow_link: bool,
    /// Suppress progress output during copy (only shown on a terminal)
    #[arg(short, long)]
    pub quiet: bool,
    /// CONTAINER:SRC_PATH, a host path, or - (a tar stream on stdin)
    #[arg(value_name = "SRC")]
    pub src: String,
    /// CONTAINER:DEST_PATH, a host path, or - (a tar stream on stdout)
    #[arg(value_name = "DEST")]
    pub dest: String,
}

#[derive(Args, Debug)]
pub struct DiffArgs {
    pub container: String,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Write to a file, instead of STDOUT
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct CommitArgs {
    /// Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")
    #[arg(short, long)]
    pub author: Option<String>,
    /// Apply Dockerfile instruction to the created image
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Commit message
    #[arg(short, long)]
    pub message: Option<String>,
    /// Pause container during commit
    #[arg(short, long, action = ArgAction::Set, num_args = 0..=1, default_value_t = true, default_missing_value = "true")]
    pub pause: bool,
    pub container: String,
    #[arg(value_name = "REPOSITORY[:TAG]")]
    pub reference: Option<String>,
}

/// `CONTAINER:PATH` or a local path (docker's rule: a path starting with `/` or `.`, or
/// without a colon, is local).
fn split(arg: &str) -> (Option<&str>, &str) {
    if arg.starts_with('/') || arg.starts_with('.') {
        return (None, arg);
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.is_empty() => (Some(c), p),
        _ => (None, arg),
    }
}

pub async fn cp(engine: &dyn ContainerBackend, a: &CpArgs) -> Result<u8> {
    match (split(&a.src), split(&a.dest)) {
        ((Some(_), _), (Some(_), _)) => bail!("copying between containers is not supported"),
        ((None, _), (None, _)) => bail!("must specify at least one container source"),
        ((Some(c), p), (None, d)) => copy_out(engine, a, c, if p.is_empty() { "/" } else { p }, d).await,
        ((None, s), (Some(c), p)) => copy_in(engine, a, s, c, if p.is_empty() { "/" } else { p }).await,
    }
}

/// Stat a container path, following symlinks (for destinations, and sources with `-L`).
async fn stat_follow(engine: &dyn ContainerBackend, ctr: &str, path: &str) -> Result<(String, PathStat), EngineError> {
    let mut path = path.to_string();
    let mut st = engine.stat_container_path(ctr, &path).await?;
    for _ in 0..40 {
        if !st.is_symlink() || st.link_target.is_empty() {
            break;
        }
        path = st.link_target.clone();
        st = engine.stat_container_path(ctr, &path).await?;
    }
    Ok((path, st))
}

fn base_name(p: &str) -> String {
    berth_engine::api::host_fs::clean(p).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// Replace the archive's top component with `name` (None: drop the top, keep what is below).
fn retop(rel: &Path, name: Option<&str>) -> Option<PathBuf> {
    let mut c = rel.components();
    c.next()?;
    let rest = c.as_path();
    match name {
        Some(n) => Some(Path::new(n).join(rest)),
        None if rest.as_os_str().is_empty() => None,
        None => Some(rest.to_path_buf()),
    }
}

async fn copy_out(engine: &dyn ContainerBackend, a: &CpArgs, ctr: &str, src: &str, dest: &str) -> Result<u8> {
    let (src_path, st) =
        if a.follow_link { stat_follow(engine, ctr, src).await? } else { (src.to_string(), engine.stat_container_path(ctr, src).await?) };
    if dest == "-" {
        engine.copy_from_container(ctr, &src_path, Box::pin(tokio::io::stdout())).await?;
        return Ok(0);
    }
    let contents = st.is_dir() && (src.ends_with("/.") || src == ".");
    let dest_p = Path::new(dest);
    // (directory to extract into, new name of the archive's top; None = its contents)
    let (into, top): (PathBuf, Option<String>) = match std::fs::metadata(dest_p) {
        Ok(m) if m.is_dir() => (dest_p.to_path_buf(), if contents { None } else { Some(base_name(src)) }),
        Ok(_) if st.is_dir() => bail!("cannot copy a directory to a file: {dest}"),
        Ok(_) => (parent_of(dest_p), Some(file_name_of(dest_p)?)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if dest.ends_with('/') && !st.is_dir() {
                bail!("destination directory {dest} does not exist (no such directory)");
            }
            let parent = parent_of(dest_p);
            if !parent.is_dir() {
                bail!("lstat {}: no such file or directory", parent.display());
            }
            (parent, Some(file_name_of(dest_p)?))
        }
        Err(e) => return Err(anyhow!("stat {dest}: {e}")),
    };
    let (w, r) = tokio::io::duplex(256 * 1024);
    let owner = if a.archive { Owner::Preserve } else { Owner::Caller };
    let count = Arc::new(AtomicU64::new(0));
    let reader = Counted { inner: tokio_util::io::SyncIoBridge::new(r), n: count.clone() };
    let unpack = tokio::task::spawn_blocking(move || -> Result<()> {
        let root = pathrs::Root::open(&into).map_err(|e| anyhow!("{}: {e}", into.display()))?;
        extract(&root, Path::new("/"), reader, owner, &|rel| retop(rel, top.as_deref()))
            .with_context(|| format!("copying into {}", into.display()))
    });
    let sent = engine.copy_from_container(ctr, &src_path, Box::pin(w) as ByteWriter).await;
    let unpacked = unpack.await.map_err(|e| anyhow!("copy task failed: {e}"))?;
    unpacked?;
    sent?;
    report(a, &count, dest);
    Ok(0)
}

/// Counts the bytes of the tar stream for docker's "Successfully copied 2.05kB to DEST".
struct Counted<T> {
    inner: T,
    n: Arc<AtomicU64>,
}

impl<T: std::io::Read> std::io::Read for Counted<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
}

impl<T: std::io::Write> std::io::Write for Counted<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let k = self.inner.write(buf)?;
        self.n.fetch_add(k as u64, Ordering::Relaxed);
        Ok(k)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Like docker: only when stderr is a terminal and not `-q`.
fn report(a: &CpArgs, n: &AtomicU64, dest: &str) {
    if !a.quiet && std::io::stderr().is_terminal() {
        eprintln!("Successfully copied {} to {dest}", berth_engine::human::human_size(n.load(Ordering::Relaxed)));
    }
}

fn parent_of(p: &Path) -> PathBuf {
    match p.parent() {
        Some(x) if !x.as_os_str().is_empty() => x.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn file_name_of(p: &Path) -> Result<String> {
    p.file_name().map(|n| n.to_string_lossy().into_owned()).with_context(|| format!("invalid destination {}", p.display()))
}

async fn copy_in(engine: &dyn ContainerBackend, a: &CpArgs, src: &str, ctr: &str, dest: &str) -> Result<u8> {
    if src == "-" {
        let (_, st) = stat_follow(engine, ctr, dest).await?;
        if !st.is_dir() {
            bail!("destination \"{ctr}:{dest}\" must be a directory");
        }
        if std::io::stdin().is_terminal() {
            bail!("cannot read a tar stream from a terminal: pipe one in");
        }
        engine.copy_to_container(ctr, dest, Box::pin(tokio::io::stdin()), a.archive).await?;
        return Ok(0);
    }
    let meta = if a.follow_link { std::fs::metadata(src) } else { std::fs::symlink_metadata(src) };
    let meta = meta.map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("lstat {src}: no such file or directory"),
        _ => anyhow!("lstat {src}: {e}"),
    })?;
    let contents = meta.is_dir() && (src.ends_with("/.") || src == ".");
    let (into, top): (String, Option<String>) = match stat_follow(engine, ctr, dest).await {
        Ok((p, st)) if st.is_dir() => (p, if contents { None } else { Some(file_name_of(&std::path::absolute(src)?)?) }),
        Ok(_) if meta.is_dir() => bail!("cannot overwrite non-directory \"{dest}\" with directory \"{src}\""),
        Ok((p, _)) => (parent_str(&p), Some(base_name(&p))),
        Err(EngineError::PathNotFound { .. }) => {
            if dest.ends_with('/') && !meta.is_dir() {
                bail!("destination \"{ctr}:{dest}\" does not exist (no such directory)");
            }
            let parent = parent_str(dest);
            let (pp, pst) = stat_follow(engine, ctr, &parent).await?;
            if !pst.is_dir() {
                bail!("destination \"{ctr}:{parent}\" is not a directory");
            }
            (pp, Some(base_name(dest)))
        }
        Err(e) => return Err(e.into()),
    };
    let flags = nix_flags(a.follow_link);
    let fd: OwnedFd = nix::fcntl::open(Path::new(src), flags, nix::sys::stat::Mode::empty()).map_err(|e| anyhow!("open {src}: {e}"))?;
    let (w, r) = tokio::io::duplex(256 * 1024);
    let count = Arc::new(AtomicU64::new(0));
    let writer = Counted { inner: tokio_util::io::SyncIoBridge::new(w), n: count.clone() };
    let pack = tokio::task::spawn_blocking(move || -> Result<()> {
        let opts = TarOptions { root_name: top.as_deref(), ..Default::default() };
        let mut w = write_tree(fd, &opts, writer).context("reading the source")?;
        w.inner.shutdown().context("reading the source")
    });
    let sent = engine.copy_to_container(ctr, &into, Box::pin(r) as ByteReader, a.archive).await;
    let packed = pack.await.map_err(|e| anyhow!("copy task failed: {e}"))?;
    sent?;
    packed?;
    report(a, &count, &format!("{ctr}:{dest}"));
    Ok(0)
}

fn nix_flags(follow: bool) -> nix::fcntl::OFlag {
    use nix::fcntl::OFlag;
    let f = OFlag::O_PATH | OFlag::O_CLOEXEC;
    if follow { f } else { f | OFlag::O_NOFOLLOW }
}

fn parent_str(p: &str) -> String {
    berth_engine::api::host_fs::clean(p).parent().map(|x| x.display().to_string()).unwrap_or_else(|| "/".into())
}

pub async fn diff(engine: &dyn ContainerBackend, a: &DiffArgs) -> Result<u8> {
    let mut out = String::new();
    for c in engine.container_changes(&a.container).await? {
        out.push_str(&format!("{} {}\n", c.kind.letter(), c.path));
    }
    print!("{out}");
    Ok(0)
}

pub async fn export(engine: &dyn ContainerBackend, a: &ExportArgs) -> Result<u8> {
    let Some(path) = &a.output else {
        if std::io::stdout().is_terminal() {
            bail!("cowardly refusing to save to a terminal. Use the -o flag or redirect");
        }
        engine.export_container(&a.container, Box::pin(tokio::io::stdout())).await?;
        return Ok(0);
    };
    // Written beside the target and renamed at the end: an error never leaves half a file.
    let file_name = path.file_name().with_context(|| format!("invalid output file {}", path.display()))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.berth-export-{}", file_name.to_string_lossy(), std::process::id()));
    let file = tokio::fs::File::create(&tmp).await.with_context(|| format!("failed to export container: open {}", path.display()))?;
    let result = match engine.export_container(&a.container, Box::pin(file)).await {
        Ok(()) => std::fs::rename(&tmp, path).with_context(|| format!("failed to export container: rename to {}", path.display())),
        Err(e) => Err(e.into()),
    };
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map(|()| 0)
}

pub async fn commit(engine: &dyn ContainerBackend, a: &CommitArgs) -> Result<u8> {
    let opts = CommitOptions {
        reference: a.reference.clone(),
        author: a.author.clone(),
        message: a.message.clone(),
        changes: a.change.clone(),
        pause: a.pause,
    };
    // The embedded engine has no daemon to thaw a container this process froze: if the
    // commit is interrupted (ctrl-c, SIGTERM), thaw it before leaving, and no image is made.
    let local = engine.describe().starts_with("local ");
    let we_pause = a.pause && local && engine.inspect_container(&a.container).await.is_ok_and(|i| i.state.running && !i.state.paused);
    let mut int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let id = tokio::select! {
        r = engine.commit_container(&a.container, &opts) => r?,
        _ = int.recv() => return interrupted(engine, &a.container, we_pause).await,
        _ = term.recv() => return interrupted(engine, &a.container, we_pause).await,
    };
    println!("{id}");
    Ok(0)
}

async fn interrupted(engine: &dyn ContainerBackend, ctr: &str, paused: bool) -> Result<u8> {
    if paused {
        let _ = engine.unpause_container(ctr).await;
    }
    // Exit now: returning would wait for the engine's blocking task to finish the image.
    // Like a crash, this leaves nothing visible (the image row is written last, in one
    // transaction; staged files are swept by the next berth).
    eprintln!("Error: commit interrupted: no image was created");
    std::process::exit(1)
}

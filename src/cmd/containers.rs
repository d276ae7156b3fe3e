//! Container verbs with docker's flags, output and exit codes: `run`, `create`, `start`,
//! `stop`, `kill`, `rm`, `ps`, `logs`, `wait`, `inspect`. `run` without `-d` streams the
//! container's output from its log and exits with the container's code; berth's own errors
//! before the start exit 125, a command that cannot be executed 126/127, as docker does.
use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result, bail};
use berth_engine::api::{ContainerBackend, ContainerCreate, ContainerListOptions, EngineError, LogLine, LogOptions};
use berth_engine::detach_keys::{DetachKeys, Fed};
use berth_engine::local::LocalEngine;
use clap::Args;
use futures_util::StreamExt;

use crate::format::{Table, ago};

#[derive(Args, Debug, Default, Clone)]
pub struct CreateFlags {
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Read in a file of environment variables
    #[arg(long = "env-file")]
    pub env_file: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Overwrite the default ENTRYPOINT of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Container host name
    #[arg(short = 'h', long)]
    pub hostname: Option<String>,
    /// Set meta data on a container
    #[arg(short, long = "label")]
    pub label: Vec<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Memory limit
    #[arg(short, long)]
    pub memory: Option<String>,
    /// Swap limit equal to memory plus swap: -1 to enable unlimited swap
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// Number of CPUs
    #[arg(long)]
    pub cpus: Option<String>,
    /// CPU shares (relative weight)
    #[arg(short = 'c', long = "cpu-shares")]
    pub cpu_shares: Option<u64>,
    /// Tune container pids limit (set -1 for unlimited)
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// Connect a container to a network (default, none, host)
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    /// Restart policy to apply when a container exits
    #[arg(long)]
    pub restart: Option<String>,
    /// Give extended privileges to this container
    #[arg(long)]
    pub privileged: bool,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Mount the container's root filesystem as read only
    #[arg(long)]
    pub read_only: bool,
    /// Security options (no-new-privileges)
    #[arg(long = "security-opt")]
    pub security_opt: Vec<String>,
    /// Mount a tmpfs directory (PATH[:OPTIONS])
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Bind mount a host path or a volume (HOST:CONTAINER[:ro], NAME:CONTAINER[:ro], CONTAINER)
    #[arg(short, long = "volume")]
    pub volume: Vec<String>,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// OCI runtime: a runc-compatible binary (path or name in $PATH); a runtime name on Docker
    #[arg(long)]
    pub runtime: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    pub image: String,
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct RunArgs {
    /// Print help (`-h` is --hostname, as in docker)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    /// Run container in background and print container ID
    #[arg(short, long)]
    pub detach: bool,
    /// Override the key sequence for detaching a container (e.g. ctrl-x,x; default ctrl-p,ctrl-q)
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    #[command(flatten)]
    pub flags: CreateFlags,
}

#[derive(Args, Debug)]
#[command(disable_help_flag = true)]
pub struct CreateArgs {
    /// Print help (`-h` is --hostname, as in docker)
    #[arg(long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,
    #[command(flatten)]
    pub flags: CreateFlags,
}

#[derive(Args, Debug)]
pub struct StartArgs {
    /// Attach STDOUT/STDERR and forward signals
    #[arg(short, long)]
    pub attach: bool,
    /// Attach the container's STDIN
    #[arg(short, long)]
    pub interactive: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct StopArgs {
    /// Seconds to wait before killing the container
    #[arg(short, long, alias = "time")]
    pub timeout: Option<u32>,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct KillArgs {
    /// Signal to send to the container
    #[arg(short, long, default_value = "KILL")]
    pub signal: String,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Force the removal of a running container (uses SIGKILL)
    #[arg(short, long)]
    pub force: bool,
    /// Remove the anonymous volumes associated with the container
    #[arg(short, long)]
    pub volumes: bool,
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug, Default)]
pub struct PsArgs {
    /// Show all containers (default shows just running)
    #[arg(short, long)]
    pub all: bool,
    /// Only display container IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Show the latest created container (includes all states)
    #[arg(short, long)]
    pub latest: bool,
    /// Show n last created containers (includes all states)
    #[arg(short = 'n', long = "last")]
    pub last: Option<usize>,
    /// Don't truncate output
    #[arg(long)]
    pub no_trunc: bool,
    /// Filter output based on conditions provided (status=, name=, label=, ancestor=, exited=, id=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go-style template ({{.ID}} {{.Names}} {{.Status}}); "table ..." adds headers
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// Number of lines to show from the end of the logs ("all")
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Show logs since a timestamp (2013-01-02T13:23:37Z) or relative (42m)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp (2013-01-02T13:23:37Z) or relative (42m)
    #[arg(long)]
    pub until: Option<String>,
    pub container: String,
}

/// docker's `--since`/`--until` values: RFC 3339, unix seconds (with fraction), or a
/// duration before now (`90s`, `42m`, `2h`). Unix nanoseconds.
fn parse_time_arg(s: &str) -> Result<i64> {
    let now = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_nanos_opt().unwrap_or(0));
    }
    if let Ok(f) = s.parse::<f64>() {
        return Ok((f * 1e9) as i64);
    }
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len()));
    let n: f64 = num.parse().map_err(|_| anyhow::anyhow!("invalid time {s:?}: use RFC 3339, unix seconds or a duration like 10m"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "ms" => n / 1000.0,
        _ => bail!("invalid time {s:?}: use RFC 3339, unix seconds or a duration like 10m"),
    };
    Ok(now - (secs * 1e9) as i64)
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

/// docker's `RAMInBytes`: `16m`, `1.5g`, `512k`, `100` (bytes), `1GiB`...
pub fn parse_bytes(s: &str) -> Result<i64> {
    let t = s.trim().to_ascii_lowercase();
    let num_end = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(num_end);
    let v: f64 = num.parse().map_err(|_| anyhow::anyhow!("invalid size: '{s}'"))?;
    let mult: f64 = match unit.trim_end_matches("ib").trim_end_matches('b') {
        "" => 1.0,
        "k" => 1024.0,
        "m" => 1024.0 * 1024.0,
        "g" => 1024.0 * 1024.0 * 1024.0,
        "t" => 1024f64.powi(4),
        "p" => 1024f64.powi(5),
        _ => bail!("invalid size: '{s}'"),
    };
    if !v.is_finite() || v < 0.0 {
        bail!("invalid size: '{s}'");
    }
    Ok((v * mult) as i64)
}

fn no_new_privileges(opts: &[String]) -> Result<bool> {
    let mut on = false;
    for o in opts {
        match o.as_str() {
            "no-new-privileges" | "no-new-privileges=true" | "no-new-privileges:true" => on = true,
            "no-new-privileges=false" | "no-new-privileges:false" => on = false,
            _ => bail!("invalid --security-opt: {o:?} (supported: no-new-privileges)"),
        }
    }
    Ok(on)
}

fn parse_env_file(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("open {path}"))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
}

impl CreateFlags {
    /// Flags to the backend's request; bad values fail here, before anything changes.
    pub fn to_create(&self) -> Result<ContainerCreate> {
        let mut env = Vec::new();
        for f in &self.env_file {
            env.extend(parse_env_file(f)?);
        }
        env.extend(self.env.iter().cloned());
        let mut labels = BTreeMap::new();
        for l in &self.label {
            let (k, v) = l.split_once('=').unwrap_or((l, ""));
            labels.insert(k.to_string(), v.to_string());
        }
        let memory = self.memory.as_deref().map(parse_bytes).transpose().context("invalid argument for --memory")?;
        let memory_swap = match self.memory_swap.as_deref() {
            Some("-1") => Some(-1),
            Some(s) => Some(parse_bytes(s).context("invalid argument for --memory-swap")?),
            None => None,
        };
        let nano_cpus = match &self.cpus {
            Some(c) => {
                let v: f64 = c.parse().map_err(|_| {
                    anyhow::anyhow!("invalid argument {c:?} for \"--cpus\" flag: failed to parse {c:?} as a rational number")
                })?;
                if !(v > 0.0 && v.is_finite()) {
                    bail!("invalid argument {c:?} for \"--cpus\" flag: range of CPUs is from 0.01 to the number of CPUs");
                }
                Some((v * 1e9) as i64)
            }
            None => None,
        };
        Ok(ContainerCreate {
            image: self.image.clone(),
            name: self.name.clone(),
            cmd: self.command.clone(),
            entrypoint: self.entrypoint.clone(),
            env,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            tty: self.tty,
            open_stdin: self.interactive,
            labels,
            restart: self.restart.clone(),
            auto_remove: self.rm,
            network: self.network.clone(),
            privileged: self.privileged,
            memory,
            memory_swap,
            nano_cpus,
            cpu_shares: self.cpu_shares,
            pids_limit: self.pids_limit.filter(|p| *p > 0),
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            read_only: self.read_only,
            no_new_privileges: no_new_privileges(&self.security_opt)?,
            tmpfs: self.tmpfs.clone(),
            binds: self.volume.clone(),
            runtime: self.runtime.clone(),
        })
    }
}

/// `--detach-keys`, else `detachKeys` from config.json, else ctrl-p,ctrl-q; invalid → one error line.
pub fn detach_keys(flag: Option<&str>) -> Result<DetachKeys> {
    Ok(berth_engine::detach_keys::resolve(flag)?)
}

fn error_line(e: &anyhow::Error) -> String {
    let mut out = e.to_string();
    for c in e.chain().skip(1) {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
    }
    out.replace('\n', " ")
}

fn start_code(e: &EngineError) -> u8 {
    match e {
        EngineError::StartFailed { code, .. } => (*code).clamp(1, 255) as u8,
        _ => 125,
    }
}

pub async fn create(engine: &LocalEngine, a: &CreateArgs) -> Result<u8> {
    let req = match a.flags.to_create() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {}", error_line(&e));
            return Ok(125);
        }
    };
    match engine.create_container(&req).await {
        Ok(id) => {
            println!("{id}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("Error: {e}");
            Ok(125)
        }
    }
}

pub async fn run(engine: &LocalEngine, a: &RunArgs) -> Result<u8> {
    if a.detach && a.flags.rm && a.flags.restart.is_some() {
        eprintln!("Error: conflicting options: cannot specify both --restart and --rm");
        return Ok(125);
    }
    let keys = match detach_keys(a.detach_keys.as_deref()) {
        Ok(k) => k,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(125);
        }
    };
    let req = match a.flags.to_create() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {}", error_line(&e));
            return Ok(125);
        }
    };
    let id = match engine.create_container(&req).await {
        Ok(id) => id,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(125);
        }
    };
    if a.detach {
        return match engine.start_container(&id).await {
            Ok(()) => {
                println!("{id}");
                Ok(0)
            }
            Err(e) => {
                eprintln!("Error: {e}");
                Ok(start_code(&e))
            }
        };
    }
    if req.tty || req.open_stdin {
        return attach_interactive(engine, &id, req.tty, req.open_stdin, keys).await;
    }
    attach_run(engine, &id).await
}

/// `run -i`/`-t`: the monitor waits for us on the attach socket before it starts the
/// container, so no output is lost; stdin and window sizes go the other way.
async fn attach_interactive(engine: &LocalEngine, id: &str, tty: bool, stdin_open: bool, keys: DetachKeys) -> Result<u8> {
    let (_, log) = engine.container_log_path(id).await?;
    let dir = log.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let started = match engine.start_interactive(id).await {
        Ok(Some(s)) => s,
        Ok(None) => bail!("container {id} is already running"),
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(start_code(&e));
        }
    };
    let sock = berth_engine::monitor::attach::connect(&dir).with_context(|| format!("attaching to container {}", &id[..12]))?;
    let short = id[..12].to_string();
    let r = tokio::task::spawn_blocking(move || interactive_session(Some(started), sock, tty, stdin_open, &short, keys))
        .await
        .map_err(|e| anyhow::anyhow!("attach session failed: {e}"))?;
    session_code(engine, id, r).await
}

/// The terminal in raw mode for as long as this lives (only when stdin is a terminal).
struct RawMode(Option<libc::termios>);

impl RawMode {
    fn enter(tty: bool) -> Self {
        if !tty || unsafe { libc::isatty(0) } != 1 {
            return Self(None);
        }
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return Self(None);
        }
        let saved = t;
        unsafe {
            libc::cfmakeraw(&mut t);
            libc::tcsetattr(0, libc::TCSANOW, &t);
        }
        Self(Some(saved))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            unsafe { libc::tcsetattr(0, libc::TCSANOW, t) };
        }
    }
}

fn window_size() -> Option<(u16, u16)> {
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    for fd in [0, 1, 2] {
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// How an attach session ended.
enum SessionEnd {
    /// The container ended; its code when the monitor said so.
    Exited(Option<i32>),
    /// The detach keys: the container keeps running.
    Detached,
}

/// Relay a terminal (or pipes) to the attach socket until the container ends or the user
/// detaches. With `started` (run), the container is started once we are attached.
fn interactive_session(
    started: Option<berth_engine::monitor::Started>,
    sock: std::os::unix::net::UnixStream,
    tty: bool,
    stdin_open: bool,
    short: &str,
    keys: DetachKeys,
) -> Result<SessionEnd> {
    use berth_engine::monitor::attach;
    use std::io::Read;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let detached = Arc::new(AtomicBool::new(false));
    let writer = Arc::new(Mutex::new(sock.try_clone()?));
    let send = {
        let w = writer.clone();
        move |f: Vec<u8>| -> bool { w.lock().map(|mut s| s.write_all(&f).is_ok()).unwrap_or(false) }
    };
    if tty && let Some((r, c)) = window_size() {
        send(attach::resize_frame(r, c));
    }
    let mut started = started;
    if let Some(s) = &mut started
        && let Err(e) = s.wait_running()
    {
        bail!(StartFailure { code: e.code, message: format!("failed to start container {short}: {}", e.message) });
    }
    let raw = RawMode::enter(tty);
    if stdin_open {
        let send = send.clone();
        let detached = detached.clone();
        let sock = sock.try_clone()?;
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut stdin = std::io::stdin().lock();
            let mut keys = keys.matcher();
            loop {
                match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        let held = keys.flush();
                        if tty && !held.is_empty() {
                            send(attach::frame(attach::STDIN, &held));
                        }
                        send(attach::frame(attach::CLOSE_STDIN, b""));
                        return;
                    }
                    Ok(n) => {
                        // Detach keys apply to terminals only, as docker's.
                        let data = if !tty {
                            buf[..n].to_vec()
                        } else {
                            match keys.feed(&buf[..n]) {
                                Fed::Forward(d) => d,
                                Fed::Detach { before } => {
                                    if !before.is_empty() {
                                        send(attach::frame(attach::STDIN, &before));
                                    }
                                    detached.store(true, Ordering::SeqCst);
                                    let _ = sock.shutdown(std::net::Shutdown::Both);
                                    return;
                                }
                            }
                        };
                        if !data.is_empty() && !send(attach::frame(attach::STDIN, &data)) {
                            return;
                        }
                    }
                }
            }
        });
    }
    if tty {
        // Follow the window size (polling keeps this free of process-wide signal masks).
        let send = send.clone();
        std::thread::spawn(move || {
            let mut last = window_size();
            loop {
                std::thread::sleep(std::time::Duration::from_millis(200));
                let now = window_size();
                if now != last
                    && let Some((r, c)) = now
                    && !send(attach::resize_frame(r, c))
                {
                    return;
                }
                last = now;
            }
        });
    }
    let mut reader = sock;
    while let Ok(Some((kind, data))) = attach::read_frame(&mut reader) {
        let res = if kind == attach::STDERR {
            std::io::stderr().write_all(&data).and_then(|_| std::io::stderr().flush())
        } else {
            std::io::stdout().write_all(&data).and_then(|_| std::io::stdout().flush())
        };
        if res.is_err() {
            break;
        }
    }
    drop(raw);
    if detached.load(Ordering::SeqCst) {
        return Ok(SessionEnd::Detached);
    }
    Ok(SessionEnd::Exited(started.and_then(|mut s| s.wait_exit())))
}

/// A start failure with docker's exit code, carried through anyhow.
#[derive(Debug)]
struct StartFailure {
    code: i32,
    message: String,
}

impl std::fmt::Display for StartFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StartFailure {}

/// Turn a session's end into berth's exit code (the container's, as docker does).
async fn session_code(engine: &LocalEngine, id: &str, r: Result<SessionEnd>) -> Result<u8> {
    match r {
        Ok(SessionEnd::Detached) => Ok(0),
        Ok(SessionEnd::Exited(Some(c))) => Ok(c.clamp(0, 255) as u8),
        Ok(SessionEnd::Exited(None)) => Ok(engine.wait_container(id).await.unwrap_or(255).clamp(0, 255) as u8),
        Err(e) => match e.downcast_ref::<StartFailure>() {
            Some(f) => {
                eprintln!("Error: {}", f.message);
                Ok(f.code.clamp(1, 255) as u8)
            }
            None => Err(e),
        },
    }
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    #[arg(required = true, value_name = "CONTAINER")]
    pub containers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RenameArgs {
    pub container: String,
    pub new_name: String,
}

pub async fn pause(engine: &LocalEngine, a: &PauseArgs, on: bool) -> Result<u8> {
    each(&a.containers, async |c| engine.pause_container(c, on).await).await
}

pub async fn rename(engine: &LocalEngine, a: &RenameArgs) -> Result<u8> {
    engine.rename_container(&a.container, &a.new_name).await?;
    Ok(0)
}

pub async fn restart(engine: &LocalEngine, a: &StopArgs) -> Result<u8> {
    each(&a.containers, async |c| {
        engine.stop_container(c, a.timeout).await?;
        engine.start_container(c).await
    })
    .await
}

#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Detached mode: run command in the background
    #[arg(short, long)]
    pub detach: bool,
    /// Keep STDIN open even if not attached
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short, long)]
    pub tty: bool,
    /// Set environment variables
    #[arg(short, long = "env")]
    pub env: Vec<String>,
    /// Working directory inside the container
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Username or UID (format: <name|uid>[:<group|gid>])
    #[arg(short, long)]
    pub user: Option<String>,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    pub container: String,
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// `exec`: a helper process (single-threaded, for libcontainer) runs the command inside the
/// container with our stdio and exits with its code.
pub async fn exec(engine: &LocalEngine, root: &std::path::Path, a: &ExecArgs) -> Result<u8> {
    let keys = detach_keys(a.detach_keys.as_deref())?;
    let c = engine.inspect_container(&a.container).await?;
    if !c.state.running || c.state.paused {
        bail!("container {} is not running", c.id);
    }
    if let Some(w) = &a.workdir
        && !w.starts_with('/')
    {
        bail!("the working directory '{w}' is invalid, it needs to be an absolute path");
    }
    let spec = berth_engine::monitor::exec::ExecSpec {
        tty: a.tty && !a.detach,
        args: a.command.clone(),
        env: a.env.clone(),
        cwd: a.workdir.clone(),
        // Like docker: the container's user unless -u says otherwise.
        user: a.user.clone().or_else(|| (!c.config.user.is_empty()).then(|| c.config.user.clone())),
        frames_fd: None,
        detach_keys: (a.tty && a.interactive).then(|| keys.to_string()),
    };
    let exe = std::env::current_exe().context("locating the berth executable")?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("exec-helper").arg("--root").arg(root).arg(&c.id).args(spec.to_args());
    if !a.interactive || a.detach {
        cmd.stdin(std::process::Stdio::null());
    }
    if a.detach {
        cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
        cmd.spawn().context("starting the exec helper")?;
        return Ok(0);
    }
    let status = cmd.status().await.context("running the exec helper")?;
    Ok(status.code().unwrap_or(255).clamp(0, 255) as u8)
}

#[derive(Args, Debug)]
pub struct EventsArgs {
    /// Show all events created since timestamp (RFC 3339, unix seconds or a duration like 10m)
    #[arg(long)]
    pub since: Option<String>,
    /// Stream events until this timestamp
    #[arg(long)]
    pub until: Option<String>,
    /// Filter output based on conditions provided (event=, container=, type=, label is not kept)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go-style template ({{json .}})
    #[arg(long)]
    pub format: Option<String>,
}

/// docker's event object, for --format.
fn event_json(e: &berth_engine::api::EngineEvent) -> serde_json::Value {
    serde_json::json!({
        "status": e.action,
        "id": e.actor,
        "from": e.attributes.get("image").cloned().unwrap_or_default(),
        "Type": e.kind,
        "Action": e.action,
        "Actor": { "ID": e.actor, "Attributes": e.attributes },
        "scope": "local",
        "time": e.time / 1_000_000_000,
        "timeNano": e.time,
    })
}

/// `events` on either backend: past events with --since, live ones until --until; one
/// line per event as docker prints it, or --format (`json` = one JSON object a line).
pub async fn events(engine: &dyn ContainerBackend, a: &EventsArgs) -> Result<u8> {
    let since = a.since.as_deref().map(parse_time_arg).transpose()?;
    let until = a.until.as_deref().map(parse_time_arg).transpose()?;
    let mut filters: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in &a.filter {
        let Some((k, v)) = f.split_once('=') else { bail!("bad format of filter (expected name=value): {f:?}") };
        filters.entry(k.to_string()).or_default().push(v.to_string());
    }
    let format = a.format.as_deref().map(|f| if f == "json" { "{{json .}}" } else { f });
    let mut stream = engine.events(berth_engine::api::EventOptions { since, until, filters });
    while let Some(e) = stream.next().await {
        let e = e?;
        match format {
            Some(f) => println!("{}", crate::cmd::template::render(f, &event_json(&e))?),
            None => {
                let t = chrono::DateTime::from_timestamp(e.time.div_euclid(1_000_000_000), e.time.rem_euclid(1_000_000_000) as u32)
                    .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true))
                    .unwrap_or_default();
                let attrs: Vec<String> = e.attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("{t} {} {} {} ({})", e.kind, e.action, e.actor, attrs.join(", "));
            }
        }
        std::io::stdout().flush()?;
    }
    Ok(0)
}

#[derive(Args, Debug)]
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    pub container: String,
}

/// `attach`: the running container's terminal or output (and stdin if it was opened).
pub async fn attach(engine: &LocalEngine, a: &AttachArgs) -> Result<u8> {
    let keys = detach_keys(a.detach_keys.as_deref())?;
    let c = engine.inspect_container(&a.container).await?;
    if !c.state.running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let (_, log) = engine.container_log_path(&c.id).await?;
    let dir = log.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
    let sock = berth_engine::monitor::attach::connect(&dir).with_context(|| format!("attaching to container {}", &c.id[..12]))?;
    let (tty, stdin_open) = (c.config.tty, c.config.open_stdin && !a.no_stdin);
    let short = c.id[..12].to_string();
    let r = tokio::task::spawn_blocking(move || interactive_session(None, sock, tty, stdin_open, &short, keys))
        .await
        .map_err(|e| anyhow::anyhow!("attach session failed: {e}"))?;
    session_code(engine, &c.id, r).await
}

/// Start `id` and relay its output until it exits; the container's exit code.
async fn attach_run(engine: &LocalEngine, id: &str) -> Result<u8> {
    // Open the log before the start: with --rm it is removed as soon as the container ends.
    let (_, log) = engine.container_log_path(id).await?;
    let file = std::fs::File::open(&log).with_context(|| format!("open {}", log.display()))?;
    let mut reader = std::io::BufReader::new(file);
    let started = match engine.start_attached(id).await {
        Ok(Some(s)) => Some(s),
        Ok(None) => None,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(start_code(&e));
        }
    };
    let mut lines = Vec::new();
    let code = match started {
        None => None,
        Some(mut s) => {
            // The exit arrives on the status pipe; meanwhile the log is relayed every 10 ms.
            let mut waiter = tokio::task::spawn_blocking(move || s.wait_exit());
            loop {
                berth_engine::local::read_log_entries(&mut reader, &mut lines);
                print_lines(&mut lines, false)?;
                tokio::select! {
                    r = &mut waiter => break r.ok().flatten().map(i64::from),
                    _ = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
                }
            }
        }
    };
    berth_engine::local::read_log_entries(&mut reader, &mut lines);
    print_lines(&mut lines, false)?;
    let code = match code {
        Some(c) => c,
        // The monitor went away without telling us, or the container was already running.
        None => engine.wait_container(id).await.unwrap_or(255),
    };
    Ok(code.clamp(0, 255) as u8)
}

fn print_lines(lines: &mut Vec<LogLine>, timestamps: bool) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let (mut out, mut err) = (std::io::stdout().lock(), std::io::stderr().lock());
    for l in lines.drain(..) {
        let w: &mut dyn Write = if l.stream == "stderr" { &mut err } else { &mut out };
        if timestamps {
            write!(w, "{} ", l.time)?;
        }
        w.write_all(l.line.as_bytes())?;
    }
    out.flush()?;
    err.flush()?;
    Ok(())
}

pub async fn start(engine: &LocalEngine, a: &StartArgs) -> Result<u8> {
    if a.attach {
        if a.containers.len() > 1 {
            bail!("you cannot start and attach multiple containers at once");
        }
        let keys = detach_keys(a.detach_keys.as_deref())?;
        let c = match engine.inspect_container(&a.containers[0]).await {
            Ok(i) => i,
            Err(e) => bail!(e),
        };
        if a.interactive && (c.config.tty || c.config.open_stdin) {
            if c.state.running {
                let again = AttachArgs { no_stdin: false, detach_keys: a.detach_keys.clone(), container: c.id.clone() };
                return Box::pin(attach(engine, &again)).await;
            }
            return attach_interactive(engine, &c.id, c.config.tty, c.config.open_stdin, keys).await;
        }
        return attach_run(engine, &c.id).await;
    }
    let mut code = 0;
    for c in &a.containers {
        match engine.start_container(c).await {
            Ok(()) => println!("{c}"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

async fn each(names: &[String], f: impl AsyncFn(&str) -> berth_engine::Result<()>) -> Result<u8> {
    let mut code = 0;
    for n in names {
        match f(n).await {
            Ok(()) => println!("{n}"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

pub async fn stop(engine: &dyn ContainerBackend, a: &StopArgs) -> Result<u8> {
    each(&a.containers, async |c| engine.stop_container(c, a.timeout).await).await
}

pub async fn kill(engine: &dyn ContainerBackend, a: &KillArgs) -> Result<u8> {
    each(&a.containers, async |c| engine.kill_container(c, &a.signal).await).await
}

pub async fn rm(engine: &dyn ContainerBackend, a: &RmArgs) -> Result<u8> {
    each(&a.containers, async |c| {
        if a.volumes { engine.remove_container_and_volumes(c, a.force).await } else { engine.remove_container(c, a.force).await }
    })
    .await
}

pub async fn wait(engine: &dyn ContainerBackend, a: &WaitArgs) -> Result<u8> {
    let mut code = 0;
    for c in &a.containers {
        match engine.wait_container(c).await {
            Ok(x) => println!("{x}"),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

/// docker's COMMAND cell: quoted, truncated to 20 characters with an ellipsis.
fn command_cell(cmd: &str, no_trunc: bool) -> String {
    let c: String = if !no_trunc && cmd.chars().count() > 20 { cmd.chars().take(19).chain(['…']).collect() } else { cmd.to_string() };
    format!("\"{c}\"")
}

/// `ps --filter`: the same key ORs, different keys AND (docker's rule).
struct PsFilter(BTreeMap<String, Vec<String>>);

impl PsFilter {
    fn parse(filters: &[String]) -> Result<Self> {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for f in filters {
            let Some((k, v)) = f.split_once('=') else { bail!("bad format of filter (expected name=value): {f:?}") };
            match k {
                "status" => {
                    if !["created", "restarting", "running", "removing", "paused", "exited", "dead"].contains(&v) {
                        bail!("invalid filter 'status={v}'");
                    }
                }
                "exited" => {
                    v.parse::<i64>().map_err(|_| anyhow::anyhow!("invalid filter 'exited={v}'"))?;
                }
                "name" | "label" | "ancestor" | "id" => {}
                _ => bail!("invalid filter {k:?}"),
            }
            m.entry(k.to_string()).or_default().push(v.to_string());
        }
        Ok(Self(m))
    }

    /// Filters on status or exit code look at stopped containers too.
    fn needs_all(&self) -> bool {
        self.0.contains_key("status") || self.0.contains_key("exited")
    }

    fn matches(&self, c: &berth_engine::api::ContainerSummary) -> bool {
        self.0.iter().all(|(k, vs)| {
            vs.iter().any(|v| match k.as_str() {
                "status" => c.state == *v,
                "exited" => c.state == "exited" && v.parse::<i64>().ok() == Some(c.exit_code),
                "name" => c.name.contains(v.trim_start_matches('/')),
                "id" => c.id.starts_with(v.as_str()),
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => c.labels.get(lk).is_some_and(|x| x == lv),
                    None => c.labels.contains_key(v.as_str()),
                },
                "ancestor" => {
                    let short = c.image_id.trim_start_matches("sha256:");
                    c.image == *v
                        || c.image.split(':').next() == Some(v.as_str()) && !v.contains(':')
                        || (v.len() >= 4 && short.starts_with(v.trim_start_matches("sha256:")))
                }
                _ => false,
            })
        })
    }
}

/// A container as `ps --format` sees it (docker's field names).
fn ps_fields(c: &berth_engine::api::ContainerSummary, no_trunc: bool) -> serde_json::Value {
    let labels: Vec<String> = c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    serde_json::json!({
        "ID": if no_trunc { c.id.clone() } else { c.id[..12].to_string() },
        "Names": c.name,
        "Image": c.image,
        "Command": command_cell(&c.command, no_trunc),
        "CreatedAt": chrono::DateTime::from_timestamp(c.created, 0).map(|t| t.format("%Y-%m-%d %H:%M:%S +0000 UTC").to_string()).unwrap_or_default(),
        "RunningFor": ago(c.created),
        "Status": c.status,
        "State": c.state,
        "Ports": "",
        "Labels": labels.join(","),
    })
}

fn header_of(field: &str) -> String {
    match field {
        "ID" => "CONTAINER ID".into(),
        "RunningFor" => "CREATED".into(),
        "CreatedAt" => "CREATED AT".into(),
        f => f.to_ascii_uppercase(),
    }
}

pub async fn ps(engine: &dyn ContainerBackend, a: &PsArgs) -> Result<u8> {
    let filter = PsFilter::parse(&a.filter)?;
    let all = a.all || a.latest || a.last.is_some() || filter.needs_all();
    let mut v = engine.list_containers(&ContainerListOptions { all }).await?;
    v.retain(|c| filter.matches(c));
    let limit = if a.latest { Some(1) } else { a.last };
    if let Some(n) = limit {
        v.truncate(n);
    }
    if a.quiet {
        for c in &v {
            println!("{}", if a.no_trunc { &c.id[..] } else { &c.id[..12] });
        }
        return Ok(0);
    }
    if let Some(f) = &a.format {
        let (table, tpl) = match f.strip_prefix("table") {
            Some(rest) => (true, rest.trim_start().to_string()),
            None => (false, f.clone()),
        };
        let tpl = if table && tpl.is_empty() {
            "{{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}".to_string()
        } else {
            tpl
        };
        if !table {
            for c in &v {
                println!("{}", crate::cmd::template::render(&tpl, &ps_fields(c, a.no_trunc))?);
            }
            return Ok(0);
        }
        // Header: each {{.Field}} replaced by docker's column name.
        let mut head = String::new();
        let mut rest = tpl.as_str();
        while let Some(i) = rest.find("{{") {
            head.push_str(&rest[..i]);
            let Some(j) = rest[i..].find("}}") else { bail!("template: unclosed action in {tpl:?}") };
            let field = rest[i + 2..i + j].trim().trim_start_matches('.').to_string();
            head.push_str(&header_of(&field));
            rest = &rest[i + j + 2..];
        }
        head.push_str(rest);
        let head = head.replace("\\t", "\t");
        let mut t = Table::new(&head.split('\t').collect::<Vec<_>>());
        for c in &v {
            let line = crate::cmd::template::render(&tpl, &ps_fields(c, a.no_trunc))?;
            t.row(line.split('\t').map(String::from).collect());
        }
        print!("{}", t.render());
        return Ok(0);
    }
    let mut t = Table::new(&["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"]);
    for c in &v {
        t.row(vec![
            if a.no_trunc { c.id.clone() } else { c.id[..12].to_string() },
            c.image.clone(),
            command_cell(&c.command, a.no_trunc),
            ago(c.created),
            c.status.clone(),
            String::new(),
            c.name.clone(),
        ]);
    }
    print!("{}", t.render());
    Ok(0)
}

pub async fn logs(engine: &dyn ContainerBackend, a: &LogsArgs) -> Result<u8> {
    let tail = match a.tail.as_str() {
        "all" | "-1" => None,
        n => Some(n.parse::<usize>().map_err(|_| anyhow::anyhow!("invalid value for --tail: {n:?}"))?),
    };
    let since = a.since.as_deref().map(parse_time_arg).transpose()?;
    let until = a.until.as_deref().map(parse_time_arg).transpose()?;
    let mut s = engine.container_logs(&a.container, &LogOptions { follow: a.follow, tail }).await?;
    while let Some(l) = s.next().await {
        let l = l?;
        if since.is_some() || until.is_some() {
            let t = chrono::DateTime::parse_from_rfc3339(&l.time).ok().and_then(|t| t.timestamp_nanos_opt()).unwrap_or(0);
            if since.is_some_and(|s| t < s) {
                continue;
            }
            if until.is_some_and(|u| t > u) {
                break;
            }
        }
        print_lines(&mut vec![l], a.timestamps)?;
    }
    Ok(0)
}

/// `inspect`: containers first, then images (as docker resolves an untyped name).
pub async fn inspect(engine: &dyn ContainerBackend, a: &crate::cmd::images::InspectArgs) -> Result<u8> {
    let kind = a.kind.as_deref();
    if let Some(k) = kind
        && k != "container"
        && k != "image"
        && k != "volume"
    {
        bail!("unsupported --type {k:?} (container, image or volume)");
    }
    let mut out = Vec::new();
    let mut code = 0;
    for n in &a.names {
        let mut found = None;
        if kind.is_none() || kind == Some("container") {
            match engine.inspect_container(n).await {
                Ok(c) => found = Some(serde_json::to_value(c)?),
                Err(EngineError::ContainerNotFound(_)) => {}
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            }
        }
        if found.is_none() && (kind.is_none() || kind == Some("image")) {
            match engine.inspect_image(n).await {
                Ok(i) => found = Some(serde_json::to_value(i)?),
                Err(EngineError::ImageNotFound(_)) => {}
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            }
        }
        // Volumes last, as docker resolves an untyped name.
        if found.is_none() && (kind.is_none() || kind == Some("volume")) {
            match engine.inspect_volume(n).await {
                Ok(v) => found = Some(serde_json::to_value(v)?),
                Err(EngineError::VolumeNotFound(_) | EngineError::Unsupported(_) | EngineError::InvalidArgument(_)) => {}
                Err(e) => {
                    eprintln!("Error: {e}");
                    code = 1;
                    continue;
                }
            }
        }
        match found {
            Some(v) => out.push(v),
            None => {
                eprintln!("Error: No such object: {n}");
                code = 1;
            }
        }
    }
    crate::cmd::template::print_inspected(&out, a.format.as_deref())?;
    Ok(code)
}

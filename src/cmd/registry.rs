//! `pull`, `push`, `login`, `logout`: the CLI side of registry transfers. Progress is
//! drawn like docker's: a live per-layer display redrawn in place on a terminal, one line
//! per status change otherwise.
use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use berth_engine::api::credentials as auth;
use berth_engine::api::{ContainerBackend, Credentials, LayerStatus, ProgressEvent, PullOptions};
use clap::Args;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;

use crate::format::human_size;

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Set platform if server is multi-platform capable (os/arch[/variant])
    #[arg(long)]
    pub platform: Option<String>,
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    /// Download all tagged images in the repository
    #[arg(short, long)]
    pub all_tags: bool,
    pub image: String,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// Suppress verbose output
    #[arg(short, long)]
    pub quiet: bool,
    pub image: String,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    #[arg(short, long)]
    pub username: Option<String>,
    #[arg(short, long)]
    pub password: Option<String>,
    /// Take the password from stdin
    #[arg(long)]
    pub password_stdin: bool,
    pub server: Option<String>,
}

#[derive(Args, Debug)]
pub struct LogoutArgs {
    pub server: Option<String>,
}

/// docker's progress bar: `[=====>     ]  1.2MB/5MB`.
fn bar(current: u64, total: Option<u64>) -> String {
    match total.filter(|t| *t > 0) {
        Some(t) => {
            let width = 50usize;
            let done = ((current.min(t) as f64 / t as f64) * width as f64) as usize;
            let mut s = String::with_capacity(width + 2);
            s.push('[');
            for i in 0..width {
                s.push(if i < done {
                    '='
                } else if i == done {
                    '>'
                } else {
                    ' '
                });
            }
            s.push(']');
            format!("{s} {:>8}/{}", human_size(current), human_size(t))
        }
        None if current > 0 => human_size(current),
        None => String::new(),
    }
}

/// Renders a progress stream: in place on a terminal, plain lines otherwise; on stdout
/// (`pull`, `push`) or stderr (the pull before `run`, whose stdout is the container's).
struct Display {
    to_stderr: bool,
    tty: bool,
    quiet: bool,
    order: Vec<String>,
    lines: HashMap<String, String>,
    last_status: HashMap<String, LayerStatus>,
    drawn: usize,
}

impl Display {
    fn new(quiet: bool, to_stderr: bool) -> Self {
        Self {
            to_stderr,
            tty: if to_stderr { std::io::stderr().is_terminal() } else { std::io::stdout().is_terminal() },
            quiet,
            order: Vec::new(),
            lines: HashMap::new(),
            last_status: HashMap::new(),
            drawn: 0,
        }
    }

    fn out(&self) -> Box<dyn Write> {
        if self.to_stderr { Box::new(std::io::stderr().lock()) } else { Box::new(std::io::stdout().lock()) }
    }

    fn message(&mut self, m: &str) {
        if self.quiet {
            return;
        }
        let mut out = self.out();
        let _ = writeln!(out, "{m}");
        if self.tty {
            // Messages end the layer block (docker prints them after it).
            self.order.clear();
            self.lines.clear();
            self.drawn = 0;
        }
    }

    fn layer(&mut self, id: &str, status: LayerStatus, current: u64, total: Option<u64>) {
        if self.quiet {
            return;
        }
        let text = match status {
            LayerStatus::Waiting if !self.last_status.contains_key(id) && !self.tty => "Pulling fs layer".to_string(),
            LayerStatus::Downloading | LayerStatus::Pushing | LayerStatus::Extracting if self.tty && current > 0 => {
                format!("{} {}", status.docker_text(), bar(current, total))
            }
            _ => status.docker_text().to_string(),
        };
        let changed = self.last_status.insert(id.to_string(), status) != Some(status);
        let mut out = self.out();
        if !self.tty {
            if changed {
                let _ = writeln!(out, "{id}: {text}");
            }
            return;
        }
        if !self.lines.contains_key(id) {
            self.order.push(id.to_string());
        }
        self.lines.insert(id.to_string(), format!("{id}: {text}"));
        // Move up over what we drew, redraw every layer line.
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A", self.drawn);
        }
        for k in &self.order {
            let _ = writeln!(out, "\r\x1b[2K{}", self.lines[k]);
        }
        self.drawn = self.order.len();
        let _ = out.flush();
    }
}

async fn drive(mut s: BoxStream<'static, berth_engine::api::Result<ProgressEvent>>, d: &mut Display) -> Result<Option<ProgressEvent>> {
    let mut last = None;
    while let Some(ev) = s.next().await {
        match ev? {
            ProgressEvent::Message(m) => d.message(&m),
            ProgressEvent::Layer { id, status, current, total } => d.layer(&id, status, current, total),
            end @ (ProgressEvent::Pulled { .. } | ProgressEvent::Pushed { .. }) => last = Some(end),
        }
    }
    Ok(last)
}

pub async fn pull(engine: &dyn ContainerBackend, a: &PullArgs) -> Result<u8> {
    if a.all_tags {
        bail!("--all-tags is not supported yet");
    }
    let stream = engine.pull_image(&a.image, PullOptions { platform: a.platform.clone() });
    match drive(stream, &mut Display::new(a.quiet, false)).await? {
        Some(ProgressEvent::Pulled { reference, .. }) => {
            println!("{reference}");
            Ok(0)
        }
        _ => bail!("pull of {} ended without a result", a.image),
    }
}

pub async fn push(engine: &dyn ContainerBackend, a: &PushArgs) -> Result<u8> {
    let stream = engine.push_image(&a.image);
    match drive(stream, &mut Display::new(a.quiet, false)).await? {
        Some(ProgressEvent::Pushed { reference, digest, size }) => {
            if a.quiet {
                println!("{reference}");
            } else {
                let tag = reference.rsplit_once(':').map(|(_, t)| t).filter(|t| !t.contains('/')).unwrap_or("latest");
                println!("{tag}: digest: {digest} size: {size}");
            }
            Ok(0)
        }
        _ => bail!("push of {} ended without a result", a.image),
    }
}

/// The pull `run` and `create` do for an image not in the store (or with `--pull always`):
/// docker's progress on stderr.
pub async fn pull_for_run(engine: &dyn ContainerBackend, image: &str) -> Result<()> {
    match drive(engine.pull_image(image, PullOptions::default()), &mut Display::new(false, true)).await? {
        Some(ProgressEvent::Pulled { .. }) => Ok(()),
        _ => bail!("pull of {image} ended without a result"),
    }
}

/// Read a line from the terminal with echo off (for passwords).
fn read_secret(prompt: &str) -> Result<String> {
    let echo_off = crate::tty::TermMode::no_echo();
    // The prompt only once echo is off, so nothing typed after it is shown.
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let r = std::io::stdin().lock().read_line(&mut line);
    drop(echo_off);
    eprintln!();
    r.context("reading the password")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub async fn login(engine: &dyn ContainerBackend, a: &LoginArgs) -> Result<u8> {
    let server = auth::normalize_server(a.server.as_deref().unwrap_or("docker.io"));
    let shown = auth::file_key(&server);
    if a.password.is_some() && a.password_stdin {
        bail!("--password and --password-stdin are mutually exclusive");
    }
    if a.password_stdin && a.username.is_none() {
        bail!("Must provide --username with --password-stdin");
    }
    let tty = std::io::stdin().is_terminal();
    let creds = match (&a.username, &a.password) {
        (None, _) if !tty => match auth::lookup(&server) {
            Some(c) => c,
            None => bail!("Cannot perform an interactive login from a non TTY device"),
        },
        _ => {
            let username = match &a.username {
                Some(u) => u.clone(),
                None => {
                    let stored = auth::lookup(&server).map(|c| c.username);
                    match &stored {
                        Some(u) => eprint!("Username ({u}): "),
                        None => eprint!("Username: "),
                    }
                    let _ = std::io::stderr().flush();
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line).context("reading the username")?;
                    let u = line.trim().to_string();
                    if u.is_empty() { stored.unwrap_or_default() } else { u }
                }
            };
            if username.is_empty() {
                bail!("Error: Non-null Username Required");
            }
            let password = if let Some(p) = &a.password {
                eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
                p.clone()
            } else if a.password_stdin {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin().lock(), &mut s).context("reading the password from stdin")?;
                s.trim_end_matches(['\n', '\r']).to_string()
            } else if tty {
                read_secret("Password: ")?
            } else {
                bail!("Cannot perform an interactive login from a non TTY device");
            };
            if password.is_empty() {
                bail!("Error: Password Required");
            }
            Credentials { username, password }
        }
    };
    let msg = engine.login(&server, &creds).await?;
    let path = auth::store(&server, &creds).with_context(|| format!("saving credentials for {shown}"))?;
    eprintln!("WARNING! Your password will be stored unencrypted in {}.", path.display());
    println!("{msg}");
    Ok(0)
}

pub async fn logout(a: &LogoutArgs) -> Result<u8> {
    let server = auth::normalize_server(a.server.as_deref().unwrap_or("docker.io"));
    let shown = auth::file_key(&server);
    if auth::remove(&server)? {
        println!("Removing login credentials for {shown}");
    } else {
        println!("Not logged in to {shown}");
    }
    Ok(0)
}

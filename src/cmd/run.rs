//! The verbs that start or join a container's process, with docker's flags, output and
//! exit codes: `create`, `run`, `start`, `attach`, `exec`. All of them go through
//! [`ContainerBackend`] only and hand sessions to the one terminal relay in `crate::tty`.
//! berth's own errors before the start exit 125, a command that cannot be executed 126/127,
//! otherwise the container's (or exec'd process's) exit code, as docker does.
use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use berth_engine::api::{
    AttachOptions, ContainerBackend, ContainerCreate, EngineError, ExecOptions, ExposedPort, ExtraHost, MacAddress, PortSpec,
};
use berth_engine::detach_keys::DetachKeys;
use clap::{Args, ValueEnum};

use crate::tty::{Relayed, relay, window_size};

/// `--pull`: when `run`/`create` pull the image first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum PullPolicy {
    /// Always pull, even when the image is in the store.
    Always,
    /// Pull only when the image is not in the store.
    #[default]
    Missing,
    /// Never pull: a missing image is an error.
    Never,
}

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
    /// Connect a container to a network (bridge, host, none, container:NAME, or a network's name)
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    /// Publish a container's port(s) to the host ([IP:][HOST[-HOST]:]CTR[-CTR][/tcp|udp])
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish all exposed ports to random ports
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Expose a port or a range of ports
    #[arg(long)]
    pub expose: Vec<String>,
    /// Add network-scoped alias for the container
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    /// Container MAC address (e.g., 92:d0:c6:0a:29:33)
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Set custom DNS servers
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set DNS options
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
    /// Add a custom host-to-IP mapping (host:ip, or host:host-gateway)
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
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
    /// Pull image before running ("always", "missing", "never")
    #[arg(long, value_enum, default_value_t = PullPolicy::Missing)]
    pub pull: PullPolicy,
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
pub struct AttachArgs {
    /// Do not attach STDIN
    #[arg(long)]
    pub no_stdin: bool,
    /// Override the key sequence for detaching a container
    #[arg(long, value_name = "KEYS")]
    pub detach_keys: Option<String>,
    pub container: String,
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
        let ports = self.publish.iter().map(|p| PortSpec::parse(p)).collect::<Result<Vec<_>, _>>()?;
        let expose = self
            .expose
            .iter()
            .map(|e| ExposedPort::parse(e).map_err(|_| anyhow::anyhow!("invalid range format for --expose: {e}")))
            .collect::<Result<Vec<_>>>()?;
        let ipv4 = self
            .ip
            .as_deref()
            .map(|ip| {
                ip.parse::<std::net::Ipv4Addr>()
                    .map_err(|_| anyhow::anyhow!("invalid argument {ip:?} for \"--ip\" flag: invalid IPv4 address"))
            })
            .transpose()?;
        let dns = self
            .dns
            .iter()
            .map(|d| {
                d.parse::<std::net::IpAddr>()
                    .map_err(|_| anyhow::anyhow!("invalid argument {d:?} for \"--dns\" flag: {d} is not an ip address"))
            })
            .collect::<Result<Vec<_>>>()?;
        let extra_hosts = self.add_host.iter().map(|h| ExtraHost::parse(h)).collect::<Result<Vec<_>, _>>()?;
        let mac_address = self.mac_address.as_deref().map(MacAddress::parse).transpose()?;
        Ok(ContainerCreate {
            ports,
            publish_all: self.publish_all,
            expose,
            network_aliases: self.network_alias.clone(),
            ipv4,
            mac_address,
            dns,
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
            extra_hosts,
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
            stdin_once: false,
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

/// The exit code of a failed start: docker's 126/127 when the process could not be run.
fn start_code(e: &EngineError) -> u8 {
    match e {
        EngineError::StartFailed { code, .. } => (*code).clamp(1, 255) as u8,
        _ => 125,
    }
}

/// An image name as docker shows it in "Unable to find image": familiar, with a tag.
fn tagged(image: &str) -> String {
    let familiar = ["docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"]
        .iter()
        .find_map(|p| image.strip_prefix(p))
        .unwrap_or(image);
    let last = familiar.rsplit('/').next().unwrap_or(familiar);
    if familiar.contains('@') || last.contains(':') { familiar.to_string() } else { format!("{familiar}:latest") }
}

/// Create the container, pulling its image first as `--pull` says (docker's order: the
/// note and the progress on stderr, stdout keeps only what the verb prints).
async fn create_pulling(engine: &dyn ContainerBackend, req: &ContainerCreate, pull: PullPolicy) -> Result<String> {
    // The reference with its tag, so the pull does not announce "Using default tag".
    let image = tagged(&req.image);
    if pull == PullPolicy::Always {
        super::registry::pull_for_run(engine, &image).await?;
    }
    match engine.create_container(req).await {
        Err(EngineError::ImageNotFound(_)) if pull == PullPolicy::Missing => {
            eprintln!("Unable to find image '{image}' locally");
            super::registry::pull_for_run(engine, &image).await?;
            Ok(engine.create_container(req).await?)
        }
        r => Ok(r?),
    }
}

/// What berth exits with once a session is over: 0 after a detach, else the process's
/// code (asked for when the session could not say).
async fn session_code(engine: &dyn ContainerBackend, id: &str, r: Relayed) -> u8 {
    let code = match r {
        Relayed::Detached => 0,
        Relayed::Ended(Some(c)) => c,
        Relayed::Ended(None) => engine.wait_container(id).await.unwrap_or(255),
    };
    code.clamp(0, 255) as u8
}

pub async fn create(engine: &dyn ContainerBackend, a: &CreateArgs) -> Result<u8> {
    let mut req = match a.flags.to_create() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {}", error_line(&e));
            return Ok(125);
        }
    };
    // Piped input ends at EOF (a terminal's detach must not close it).
    req.stdin_once = req.open_stdin && !req.tty;
    match create_pulling(engine, &req, a.flags.pull).await {
        Ok(id) => {
            println!("{id}");
            Ok(0)
        }
        Err(e) => {
            eprintln!("Error: {}", error_line(&e));
            Ok(125)
        }
    }
}

/// `run`: create, then start detached (`-d`) or attached from the first byte, relaying
/// the session until the container exits (its code) or the user detaches (0).
pub async fn run(engine: &dyn ContainerBackend, a: &RunArgs) -> Result<u8> {
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
    let mut req = match a.flags.to_create() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: {}", error_line(&e));
            return Ok(125);
        }
    };
    req.stdin_once = req.open_stdin && !req.tty && !a.detach;
    let id = match create_pulling(engine, &req, a.flags.pull).await {
        Ok(id) => id,
        Err(e) => {
            eprintln!("Error: {}", error_line(&e));
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
    let opts = AttachOptions { stdin: req.open_stdin, size: if req.tty { window_size() } else { None } };
    let s = match engine.attach_and_start(&id, opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("Error: {e}");
            return Ok(start_code(&e));
        }
    };
    let r = relay(s, req.tty, req.open_stdin, keys).await?;
    Ok(session_code(engine, &id, r).await)
}

/// `start`: one line per container started; with `-a` the one container's output (and
/// input with `-i`) until it exits, as `run` without `-d`.
pub async fn start(engine: &dyn ContainerBackend, a: &StartArgs) -> Result<u8> {
    if !a.attach {
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
        return Ok(code);
    }
    let [c] = &a.containers[..] else { bail!("you cannot start and attach multiple containers at once") };
    let keys = detach_keys(a.detach_keys.as_deref())?;
    let info = engine.inspect_container(c).await?;
    let (tty, stdin) = (info.config.tty, a.interactive && info.config.open_stdin);
    let size = if tty { window_size() } else { None };
    let s = if info.state.running {
        // Already running: docker attaches to it.
        engine.attach_session(&info.id, size).await?
    } else {
        match engine.attach_and_start(&info.id, AttachOptions { stdin, size }).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("Error: {e}");
                return Ok(start_code(&e));
            }
        }
    };
    let r = relay(s, tty, stdin, keys).await?;
    Ok(session_code(engine, &info.id, r).await)
}

/// `attach`: the running container's terminal or output, and its stdin if it opened one.
pub async fn attach(engine: &dyn ContainerBackend, a: &AttachArgs) -> Result<u8> {
    let keys = detach_keys(a.detach_keys.as_deref())?;
    let c = engine.inspect_container(&a.container).await?;
    if !c.state.running {
        bail!("You cannot attach to a stopped container, start it first");
    }
    let tty = c.config.tty;
    let s = engine.attach_session(&c.id, if tty { window_size() } else { None }).await?;
    let r = relay(s, tty, c.config.open_stdin && !a.no_stdin, keys).await?;
    Ok(session_code(engine, &c.id, r).await)
}

/// `exec`: a process in the running container with our stdio (a terminal with `-t`), its
/// exit code; `-d` leaves it running on its own.
pub async fn exec(engine: &dyn ContainerBackend, a: &ExecArgs) -> Result<u8> {
    let keys = detach_keys(a.detach_keys.as_deref())?;
    // `-e NAME` takes NAME's value from here, as the docker CLI does (unset: left out).
    let env = a
        .env
        .iter()
        .filter_map(|e| if e.contains('=') { Some(e.clone()) } else { std::env::var(e).ok().map(|v| format!("{e}={v}")) })
        .collect();
    let tty = a.tty && !a.detach;
    let opts = ExecOptions {
        cmd: a.command.clone(),
        tty,
        env,
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        size: if tty { window_size() } else { None },
    };
    if a.detach {
        engine.exec_detached(&a.container, opts).await?;
        return Ok(0);
    }
    let s = engine.exec_session(&a.container, opts).await?;
    Ok(match relay(s, tty, a.interactive, keys).await? {
        Relayed::Detached => 0,
        Relayed::Ended(c) => c.unwrap_or(0).clamp(0, 255) as u8,
    })
}

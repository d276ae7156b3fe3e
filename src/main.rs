//! The `berth` binary: docker's verbs on the command line, the dashboard with no
//! arguments. Parses flags, opens the backend, and turns errors into one line + exit code.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod cmd;
mod format;
mod template;
mod tty;

#[derive(Parser, Debug)]
#[command(name = "berth", version, about = "A container engine and terminal dashboard in one binary", disable_help_subcommand = true)]
pub struct Cli {
    /// State root of the embedded engine.
    #[arg(long, global = true, env = "BERTH_ROOT", default_value = berth_engine::local::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// Drive a Docker Engine API at this address instead of the embedded engine
    /// (unix:///var/run/docker.sock, tcp://HOST:2375, https://HOST:2376, ssh://USER@HOST);
    /// repeat it to show several endpoints in the dashboard.
    #[arg(short = 'H', long, value_name = "HOST")]
    pub host: Vec<String>,
    /// A named Docker endpoint for the dashboard (repeatable); with -H, --endpoint or
    /// --docker the config file's endpoints are not used.
    #[arg(long, value_name = "NAME=HOST")]
    pub endpoint: Vec<String>,
    /// Show the embedded engine next to the -H/--endpoint/--docker endpoints.
    #[arg(long)]
    pub embedded: bool,
    /// Drive Docker at DOCKER_HOST, the current docker context, or the default socket.
    #[arg(long, global = true)]
    pub docker: bool,
    /// Log debug output to stderr.
    #[arg(long, global = true)]
    pub debug: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download an image from a registry
    Pull(cmd::registry::PullArgs),
    /// Upload an image to a registry
    Push(cmd::registry::PushArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(cmd::images::TagArgs),
    /// Log in to a registry
    Login(cmd::registry::LoginArgs),
    /// Log out from a registry
    Logout(cmd::registry::LogoutArgs),
    /// List images
    Images(cmd::images::ImagesArgs),
    /// Remove one or more images
    Rmi(cmd::images::RmiArgs),
    /// Show the history of an image
    History(cmd::images::HistoryArgs),
    /// Load images from a tar archive (docker-archive or OCI layout)
    Load(cmd::archive::LoadArgs),
    /// Save images to a tar archive (docker-archive)
    Save(cmd::archive::SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(cmd::archive::ImportArgs),
    /// Return low-level information on objects
    Inspect(cmd::images::InspectArgs),
    /// Manage images
    #[command(subcommand)]
    Image(ImageCommand),
    /// Create and run a new container from an image
    Run(cmd::run::RunArgs),
    /// Create a new container
    Create(cmd::run::CreateArgs),
    /// Start one or more stopped containers
    Start(cmd::run::StartArgs),
    /// Stop one or more running containers
    Stop(cmd::containers::StopArgs),
    /// Kill one or more running containers
    Kill(cmd::containers::KillArgs),
    /// Remove one or more containers
    Rm(cmd::containers::RmArgs),
    /// List containers
    Ps(cmd::containers::PsArgs),
    /// Fetch the logs of a container
    Logs(cmd::containers::LogsArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(cmd::containers::WaitArgs),
    /// Attach to a running container's input and output
    Attach(cmd::run::AttachArgs),
    /// Pause all processes within one or more containers
    Pause(cmd::containers::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(cmd::containers::PauseArgs),
    /// Restart one or more containers
    Restart(cmd::containers::StopArgs),
    /// Rename a container
    Rename(cmd::containers::RenameArgs),
    /// Execute a command in a running container
    Exec(cmd::run::ExecArgs),
    /// Get real time events from the engine
    Events(cmd::containers::EventsArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cmd::ctrfs::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(cmd::ctrfs::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(cmd::ctrfs::ExportArgs),
    /// Create a new image from a container's changes
    Commit(cmd::ctrfs::CommitArgs),
    /// Manage containers
    #[command(subcommand)]
    Container(ContainerCommand),
    /// Display a live stream of container(s) resource usage statistics
    Stats(cmd::watch::StatsArgs),
    /// Display the running processes of a container
    Top(cmd::watch::TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(cmd::watch::PortArgs),
    /// Manage volumes
    #[command(subcommand)]
    Volume(cmd::volumes::VolumeCommand),
    /// Manage networks
    #[command(subcommand)]
    Network(cmd::networks::NetworkCommand),
    /// Manage berth
    #[command(subcommand)]
    System(SystemCommand),
    /// Display system-wide information
    Info(cmd::watch::InfoArgs),
    /// Show the berth version information
    Version,
}

#[derive(Subcommand, Debug)]
pub enum SystemCommand {
    /// Show berth disk usage
    Df(cmd::watch::DfArgs),
    /// Display system-wide information
    Info(cmd::watch::InfoArgs),
    /// Start containers after a host reboot (restart policy always/unless-stopped)
    Boot,
    /// Install the systemd unit that runs `berth system boot` at boot
    InstallBootUnit(cmd::boot::InstallBootUnitArgs),
}

#[derive(Subcommand, Debug)]
pub enum ContainerCommand {
    /// Create and run a new container from an image
    Run(cmd::run::RunArgs),
    /// Create a new container
    Create(cmd::run::CreateArgs),
    /// Start one or more stopped containers
    Start(cmd::run::StartArgs),
    /// Stop one or more running containers
    Stop(cmd::containers::StopArgs),
    /// Kill one or more running containers
    Kill(cmd::containers::KillArgs),
    /// Remove one or more containers
    Rm(cmd::containers::RmArgs),
    /// List containers
    #[command(visible_alias = "list")]
    Ls(cmd::containers::PsArgs),
    /// Fetch the logs of a container
    Logs(cmd::containers::LogsArgs),
    /// Block until one or more containers stop, then print their exit codes
    Wait(cmd::containers::WaitArgs),
    /// Display detailed information on one or more containers
    Inspect(cmd::images::InspectArgs),
    /// Attach to a running container's input and output
    Attach(cmd::run::AttachArgs),
    /// Pause all processes within one or more containers
    Pause(cmd::containers::PauseArgs),
    /// Unpause all processes within one or more containers
    Unpause(cmd::containers::PauseArgs),
    /// Restart one or more containers
    Restart(cmd::containers::StopArgs),
    /// Rename a container
    Rename(cmd::containers::RenameArgs),
    /// Execute a command in a running container
    Exec(cmd::run::ExecArgs),
    /// Display a live stream of container(s) resource usage statistics
    Stats(cmd::watch::StatsArgs),
    /// Display the running processes of a container
    Top(cmd::watch::TopArgs),
    /// List port mappings or a specific mapping for the container
    Port(cmd::watch::PortArgs),
    /// Copy files/folders between a container and the local filesystem
    Cp(cmd::ctrfs::CpArgs),
    /// Inspect changes to files or directories on a container's filesystem
    Diff(cmd::ctrfs::DiffArgs),
    /// Export a container's filesystem as a tar archive
    Export(cmd::ctrfs::ExportArgs),
    /// Create a new image from a container's changes
    Commit(cmd::ctrfs::CommitArgs),
}

#[derive(Subcommand, Debug)]
pub enum ImageCommand {
    /// List images
    #[command(visible_alias = "list")]
    Ls(cmd::images::ImagesArgs),
    /// Remove one or more images
    Rm(cmd::images::RmiArgs),
    /// Display detailed information on one or more images
    Inspect(cmd::images::InspectArgs),
    /// Show the history of an image
    History(cmd::images::HistoryArgs),
    /// Remove unused images
    Prune(cmd::images::PruneArgs),
    /// Download an image from a registry
    Pull(cmd::registry::PullArgs),
    /// Upload an image to a registry
    Push(cmd::registry::PushArgs),
    /// Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE
    Tag(cmd::images::TagArgs),
    /// Load images from a tar archive
    Load(cmd::archive::LoadArgs),
    /// Save images to a tar archive
    Save(cmd::archive::SaveArgs),
    /// Import the contents from a tarball to create a filesystem image
    Import(cmd::archive::ImportArgs),
}

fn main() -> ExitCode {
    // The container monitor must stay single-threaded (libcontainer forks with clone3 and
    // runs Rust in the child): dispatch it before clap or tokio start anything. It keeps
    // SIGPIPE ignored (a vanished attach client must not kill it).
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == "monitor") {
        return monitor_main(&args[2..]);
    }
    if args.get(1).is_some_and(|a| a == "exec-helper") {
        return exec_helper_main(&args[2..]);
    }
    // Die quietly on a closed pipe (`berth images | head`) like any Unix tool, instead of
    // panicking in println!.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 125 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    if cli.debug {
        tracing_subscriber::fmt().with_writer(std::io::stderr).with_env_filter("debug").init();
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(cmd::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("Error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// `berth monitor --root DIR --status-fd N ID` (hidden; spawned by `start`).
fn monitor_main(args: &[std::ffi::OsString]) -> ExitCode {
    let (mut root, mut fd, mut id, mut wait_attach) = (None, None, None, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--root") => root = it.next().map(PathBuf::from),
            Some("--status-fd") => fd = it.next().and_then(|s| s.to_str()).and_then(|s| s.parse().ok()),
            Some("--wait-attach") => wait_attach = true,
            Some(s) => id = Some(s.to_string()),
            None => {}
        }
    }
    // Debugging aid: BERTH_MONITOR_LOG=FILE records the monitor's (and libcontainer's) tracing.
    if let Some(p) = std::env::var_os("BERTH_MONITOR_LOG")
        && let Ok(f) = std::fs::OpenOptions::new().create(true).append(true).open(p)
    {
        tracing_subscriber::fmt().with_writer(std::sync::Mutex::new(f)).with_env_filter("debug").with_ansi(false).init();
    }
    match (root, fd, id) {
        (Some(r), Some(f), Some(i)) => berth_engine::monitor::main(&r, &i, f, wait_attach),
        _ => {
            eprintln!("Error: usage: berth monitor --root DIR --status-fd N ID (internal)");
            ExitCode::from(125)
        }
    }
}

/// `berth exec-helper --root DIR [--env K=V] [--cwd D] [--user U] ID -- CMD...` (hidden;
/// spawned by `exec`, single-threaded like the monitor).
fn exec_helper_main(args: &[std::ffi::OsString]) -> ExitCode {
    let mut spec = berth_engine::monitor::exec::ExecSpec::default();
    let (mut root, mut id) = (None, None);
    let mut it = args.iter().map(|a| a.to_string_lossy().into_owned());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--root" => root = it.next().map(PathBuf::from),
            "--env" => spec.env.extend(it.next()),
            "--cwd" => spec.cwd = it.next(),
            "--user" => spec.user = it.next(),
            "--tty" => spec.tty = true,
            "--frames-fd" => spec.frames_fd = it.next().and_then(|f| f.parse().ok()),
            "--detach-keys" => spec.detach_keys = it.next(),
            "--" => {
                spec.args = it.by_ref().collect();
            }
            _ => id = Some(a),
        }
    }
    match (root, id) {
        (Some(r), Some(i)) if !spec.args.is_empty() => ExitCode::from(berth_engine::monitor::exec::run(&r, &i, &spec).clamp(0, 255) as u8),
        _ => {
            eprintln!("Error: usage: berth exec-helper --root DIR ID -- CMD (internal)");
            ExitCode::from(125)
        }
    }
}

/// The error and its causes on one line, without repeating a cause the message already has.
fn one_line(e: &anyhow::Error) -> String {
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

#[cfg(test)]
mod tests {
    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}

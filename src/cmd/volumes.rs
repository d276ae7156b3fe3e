//! `volume create / ls / inspect / rm / prune` and their docker columns and JSON, on any
//! backend (the embedded engine, a Docker endpoint).
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Result, bail};
use berth_engine::api::{ContainerBackend, EngineError, Volume, VolumeListOptions};
use clap::{Args, Subcommand};

use crate::format::human_size;
use crate::template::{Row, VOLUMES, format_list};

#[derive(Subcommand, Debug)]
pub enum VolumeCommand {
    /// Create a volume
    Create(CreateArgs),
    /// List volumes
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more volumes
    Inspect(InspectArgs),
    /// Remove one or more volumes
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove unused local volumes
    Prune(PruneArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Volume driver name
    #[arg(short, long, default_value = "local")]
    pub driver: String,
    /// A name ([a-zA-Z0-9][a-zA-Z0-9_.-]+); a random one when absent
    pub name: Option<String>,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Only display volume names
    #[arg(short, long)]
    pub quiet: bool,
    /// Provide filter values (dangling=true|false, name=, driver=)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go-style template ({{.Name}} {{.Driver}} {{.Mountpoint}}); "json" for one object a line
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a Go-style template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Do not fail when a volume does not exist (a volume in use is never removed)
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true, value_name = "VOLUME")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Remove all unused volumes, not just anonymous ones
    #[arg(short, long)]
    pub all: bool,
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

pub async fn run(engine: &dyn ContainerBackend, c: &VolumeCommand) -> Result<u8> {
    match c {
        VolumeCommand::Create(a) => create(engine, a).await,
        VolumeCommand::Ls(a) => ls(engine, a).await,
        VolumeCommand::Inspect(a) => inspect(engine, a).await,
        VolumeCommand::Rm(a) => rm(engine, a).await,
        VolumeCommand::Prune(a) => prune(engine, a).await,
    }
}

async fn create(engine: &dyn ContainerBackend, a: &CreateArgs) -> Result<u8> {
    if a.driver != "local" {
        bail!("volume driver {:?} is not available (berth has the \"local\" driver)", a.driver);
    }
    if let Some(n) = &a.name
        && !berth_engine::api::valid_volume_name(berth_engine::multi::split(n).1)
    {
        bail!(
            "create {n}: {n:?} includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        );
    }
    let v = engine.create_volume(a.name.as_deref()).await?;
    println!("{}", v.name);
    Ok(0)
}

/// `--filter` of `volume ls`, checked before anything is listed.
struct Filter {
    dangling: Option<bool>,
    names: Vec<String>,
    drivers: Vec<String>,
}

impl Filter {
    fn parse(filters: &[String]) -> Result<Self> {
        let mut f = Filter { dangling: None, names: vec![], drivers: vec![] };
        for s in filters {
            let Some((k, v)) = s.split_once('=') else { bail!("bad format of filter (expected name=value): {s:?}") };
            match k {
                "dangling" => {
                    f.dangling = Some(match v.to_ascii_lowercase().as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => bail!("invalid filter 'dangling={v}'"),
                    })
                }
                "name" => f.names.push(v.to_string()),
                "driver" => f.drivers.push(v.to_string()),
                _ => bail!("invalid filter {k:?}"),
            }
        }
        Ok(f)
    }

    fn matches(&self, v: &Volume) -> bool {
        (self.names.is_empty() || self.names.iter().any(|n| v.name.contains(n.as_str())))
            && (self.drivers.is_empty() || self.drivers.contains(&v.driver))
    }
}

/// docker's volume list context: its methods without arguments, as `{{json .}}` shows them.
fn fields(v: &Volume) -> serde_json::Map<String, serde_json::Value> {
    let labels: Vec<String> = v.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let json = serde_json::json!({
        "Availability": "N/A",
        "Driver": v.driver,
        "Group": "N/A",
        "Labels": labels.join(","),
        "Links": "N/A",
        "Mountpoint": v.mountpoint,
        "Name": v.name,
        "Scope": v.scope,
        "Size": "N/A",
        "Status": "N/A",
    });
    json.as_object().cloned().unwrap_or_default()
}

async fn ls(engine: &dyn ContainerBackend, a: &LsArgs) -> Result<u8> {
    let filter = Filter::parse(&a.filter)?;
    let mut v = engine.list_volumes(&VolumeListOptions { dangling: filter.dangling }).await?;
    v.retain(|x| filter.matches(x));
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for x in &v {
            writeln!(out, "{}", x.name)?;
        }
        return Ok(0);
    }
    let fields: Vec<_> = v.iter().map(fields).collect();
    let rows: Vec<Row> = fields.iter().zip(&v).map(|(f, x)| Row { fields: f, labels: Some(&x.labels) }).collect();
    write!(out, "{}", format_list(a.format.as_deref(), &VOLUMES, &rows)?)?;
    Ok(0)
}

async fn inspect(engine: &dyn ContainerBackend, a: &InspectArgs) -> Result<u8> {
    let mut found = Vec::new();
    let mut code = 0;
    for n in &a.names {
        match engine.inspect_volume(n).await {
            Ok(v) => found.push(serde_json::to_value(v)?),
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    crate::format::print_inspected(&found, a.format.as_deref())?;
    Ok(code)
}

async fn rm(engine: &dyn ContainerBackend, a: &RmArgs) -> Result<u8> {
    let mut code = 0;
    for n in &a.names {
        match engine.remove_volume(n, a.force).await {
            Ok(()) => println!("{n}"),
            Err(EngineError::VolumeNotFound(_)) if a.force => {}
            Err(e) => {
                eprintln!("Error: {e}");
                code = 1;
            }
        }
    }
    Ok(code)
}

async fn prune(engine: &dyn ContainerBackend, a: &PruneArgs) -> Result<u8> {
    if !a.force {
        let what = if a.all { "all local volumes" } else { "anonymous local volumes" };
        print!("WARNING! This will remove {what} not used by at least one container.\nAre you sure you want to continue? [y/N] ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            if !std::io::stdin().is_terminal() {
                println!();
            }
            return Ok(0);
        }
    }
    let r = engine.prune_volumes(a.all).await?;
    if !r.removed.is_empty() {
        println!("Deleted Volumes:");
        for n in &r.removed {
            println!("{n}");
        }
        println!();
    }
    println!("Total reclaimed space: {}", human_size(r.space_reclaimed));
    Ok(0)
}

//! `network create / ls / inspect / rm / prune / connect / disconnect` with docker's flags,
//! columns and JSON, on any backend (the embedded engine, a Docker endpoint). Flags are
//! parsed here into the engine's typed [`NetworkCreate`] / [`NetworkConnect`].
use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{Context, Result, bail};
use berth_engine::api::{ContainerBackend, EngineError, Network, NetworkConnect, NetworkCreate};
use clap::{Args, Subcommand};

use crate::template::{NETWORKS, Row, format_list};

#[derive(Subcommand, Debug)]
pub enum NetworkCommand {
    /// Create a network
    Create(CreateArgs),
    /// List networks
    #[command(visible_alias = "list")]
    Ls(LsArgs),
    /// Display detailed information on one or more networks
    Inspect(InspectArgs),
    /// Remove one or more networks
    #[command(visible_alias = "remove")]
    Rm(RmArgs),
    /// Remove all unused networks
    Prune(PruneArgs),
    /// Connect a container to a network
    Connect(ConnectArgs),
    /// Disconnect a container from a network
    Disconnect(DisconnectArgs),
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Driver to manage the Network
    #[arg(short, long, default_value = "bridge")]
    pub driver: String,
    /// Subnet in CIDR format that represents a network segment
    #[arg(long)]
    pub subnet: Option<String>,
    /// IPv4 Gateway for the master subnet
    #[arg(long)]
    pub gateway: Option<String>,
    /// Allocate container ip from a sub-range
    #[arg(long = "ip-range")]
    pub ip_range: Option<String>,
    /// Restrict external access to the network
    #[arg(long)]
    pub internal: bool,
    /// Set metadata on a network
    #[arg(long)]
    pub label: Vec<String>,
    /// Set driver specific options (com.docker.network.bridge.name=NAME, com.docker.network.driver.mtu=N)
    #[arg(short = 'o', long = "opt")]
    pub opt: Vec<String>,
    pub name: String,
}

#[derive(Args, Debug)]
pub struct LsArgs {
    /// Only display network IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Do not truncate the output
    #[arg(long)]
    pub no_trunc: bool,
    /// Provide filter values (driver=, id=, label=, name=, scope=, type=custom|builtin, dangling=true|false)
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Format output using a Go-style template ({{.ID}} {{.Name}} {{.Driver}}); "json" for one object a line
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args, Debug)]
pub struct InspectArgs {
    /// Format output using a Go-style template
    #[arg(short, long)]
    pub format: Option<String>,
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RmArgs {
    /// Do not error if the network does not exist
    #[arg(short, long)]
    pub force: bool,
    #[arg(required = true, value_name = "NETWORK")]
    pub names: Vec<String>,
}

#[derive(Args, Debug)]
pub struct PruneArgs {
    /// Do not prompt for confirmation
    #[arg(short, long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct ConnectArgs {
    /// Add network-scoped alias for the container
    #[arg(long)]
    pub alias: Vec<String>,
    /// IPv4 address (e.g., 172.30.100.104)
    #[arg(long)]
    pub ip: Option<String>,
    pub network: String,
    pub container: String,
}

#[derive(Args, Debug)]
pub struct DisconnectArgs {
    /// Force the container to disconnect from a network
    #[arg(short, long)]
    pub force: bool,
    pub network: String,
    pub container: String,
}

pub async fn run(engine: &dyn ContainerBackend, c: &NetworkCommand) -> Result<u8> {
    match c {
        NetworkCommand::Create(a) => create(engine, a).await,
        NetworkCommand::Ls(a) => ls(engine, a).await,
        NetworkCommand::Inspect(a) => inspect(engine, a).await,
        NetworkCommand::Rm(a) => rm(engine, a).await,
        NetworkCommand::Prune(a) => prune(engine, a).await,
        NetworkCommand::Connect(a) => connect(engine, a).await,
        NetworkCommand::Disconnect(a) => disconnect(engine, a).await,
    }
}

fn key_values(items: &[String], what: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for i in items {
        let (k, v) = i.split_once('=').unwrap_or((i, ""));
        if k.is_empty() {
            bail!("invalid {what}: {i:?}");
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

fn net(s: &str, flag: &str) -> Result<ipnet::Ipv4Net> {
    s.parse().with_context(|| format!("invalid {flag} {s:?}: expected an IPv4 CIDR such as 10.90.0.0/24 (berth makes IPv4 networks)"))
}

/// The flags as the engine's request; bad values fail here, before anything is created.
fn create_request(a: &CreateArgs) -> Result<NetworkCreate> {
    Ok(NetworkCreate {
        name: a.name.clone(),
        driver: Some(a.driver.clone()),
        subnet: a.subnet.as_deref().map(|s| net(s, "--subnet")).transpose()?,
        gateway: a
            .gateway
            .as_deref()
            .map(|g| g.parse().with_context(|| format!("invalid --gateway {g:?}: expected an IPv4 address")))
            .transpose()?,
        ip_range: a.ip_range.as_deref().map(|s| net(s, "--ip-range")).transpose()?,
        internal: a.internal,
        labels: key_values(&a.label, "label")?,
        options: key_values(&a.opt, "option")?,
    })
}

async fn create(engine: &dyn ContainerBackend, a: &CreateArgs) -> Result<u8> {
    let req = create_request(a)?;
    let n = engine.create_network(&req).await?;
    println!("{}", n.id);
    Ok(0)
}

/// `--filter` of `network ls`, checked before anything is listed.
#[derive(Default)]
struct Filter(Vec<(String, String)>);

impl Filter {
    fn parse(filters: &[String]) -> Result<Self> {
        let mut f = Filter::default();
        for s in filters {
            let Some((k, v)) = s.split_once('=') else { bail!("bad format of filter (expected name=value): {s:?}") };
            match k {
                "driver" | "id" | "label" | "name" | "scope" => {}
                "type" if matches!(v, "custom" | "builtin") => {}
                "type" => bail!("invalid filter: 'type'='{v}'"),
                "dangling" if matches!(v, "true" | "false" | "1" | "0") => {}
                "dangling" => bail!("invalid filter 'dangling={v}'"),
                _ => bail!("invalid filter {k:?}"),
            }
            f.0.push((k.to_string(), v.to_string()));
        }
        Ok(f)
    }

    fn matches(&self, n: &Network) -> bool {
        let builtin = matches!(n.name.as_str(), "bridge" | "host" | "none") || n.name.ends_with("#bridge");
        let mut by_key: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (k, v) in &self.0 {
            by_key.entry(k).or_default().push(v);
        }
        by_key.iter().all(|(k, vs)| {
            vs.iter().any(|v| match *k {
                "driver" => n.driver == *v,
                "id" => n.id.starts_with(v),
                "name" => n.name.contains(v),
                "scope" => n.scope == *v,
                "type" => (*v == "builtin") == builtin,
                "dangling" => {
                    let dangling = !builtin && n.users.as_ref().is_some_and(|u| u.is_empty()) && n.containers.is_empty();
                    matches!(*v, "true" | "1") == dangling
                }
                "label" => match v.split_once('=') {
                    Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
                    None => n.labels.contains_key(*v),
                },
                _ => false,
            })
        })
    }
}

/// docker's network list context, as `{{json .}}` shows it.
fn fields(n: &Network, no_trunc: bool) -> serde_json::Value {
    let labels: Vec<String> = n.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let created = chrono::DateTime::parse_from_rfc3339(&n.created)
        .map(|t| t.with_timezone(&chrono::Utc).format("%Y-%m-%d %H:%M:%S%.f +0000 UTC").to_string())
        .unwrap_or_default();
    serde_json::json!({
        "CreatedAt": created,
        "Driver": n.driver,
        "ID": short_id(&n.id, no_trunc),
        "IPv6": n.enable_ipv6.to_string(),
        "Internal": n.internal.to_string(),
        "Labels": labels.join(","),
        "Name": n.name,
        "Scope": n.scope,
    })
}

/// A (possibly endpoint-qualified) ID cut to 12 hex digits.
fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc {
        return id.to_string();
    }
    let (ep, raw) = berth_engine::multi::split(id);
    let short = &raw[..raw.len().min(12)];
    match ep {
        Some(e) => berth_engine::multi::qualify(e, short),
        None => short.to_string(),
    }
}

async fn ls(engine: &dyn ContainerBackend, a: &LsArgs) -> Result<u8> {
    let filter = Filter::parse(&a.filter)?;
    let mut v = engine.list_networks().await?;
    v.retain(|n| filter.matches(n));
    let mut out = std::io::stdout().lock();
    if a.quiet {
        for n in &v {
            writeln!(out, "{}", short_id(&n.id, a.no_trunc))?;
        }
        return Ok(0);
    }
    let fields: Vec<serde_json::Value> = v.iter().map(|n| fields(n, a.no_trunc)).collect();
    let rows: Vec<Row> = fields.iter().zip(&v).map(|(f, n)| Row::new(f, Some(&n.labels))).collect();
    write!(out, "{}", format_list(a.format.as_deref(), &NETWORKS, &rows)?)?;
    Ok(0)
}

async fn inspect(engine: &dyn ContainerBackend, a: &InspectArgs) -> Result<u8> {
    let mut found = Vec::new();
    let mut code = 0;
    for n in &a.names {
        match engine.inspect_network(n).await {
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
        match engine.remove_network(n).await {
            Ok(()) => println!("{n}"),
            Err(EngineError::NetworkNotFound(_)) if a.force => {}
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
        print!(
            "WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] "
        );
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
    let r = engine.prune_networks().await?;
    if !r.removed.is_empty() {
        println!("Deleted Networks:");
        for n in &r.removed {
            println!("{n}");
        }
    }
    Ok(0)
}

async fn connect(engine: &dyn ContainerBackend, a: &ConnectArgs) -> Result<u8> {
    let ipv4 =
        a.ip.as_deref()
            .map(|ip| ip.parse().with_context(|| format!("invalid argument {ip:?} for \"--ip\" flag: invalid IPv4 address")))
            .transpose()?;
    engine.connect_network(&a.network, &NetworkConnect { container: a.container.clone(), aliases: a.alias.clone(), ipv4 }).await?;
    Ok(0)
}

async fn disconnect(engine: &dyn ContainerBackend, a: &DisconnectArgs) -> Result<u8> {
    engine.disconnect_network(&a.network, &a.container, a.force).await?;
    Ok(0)
}
